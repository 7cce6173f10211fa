"""What the live cluster says about the Typha objects, and what the stack does about it (pure).

Read at every preview and up (act/typha_live.py), before the Typha objects are declared:
- the BGPPeer CRD: ACK lists *.crd.projectcalico.org as system resources, so one the stack did not
  create is left exactly as it is (never declared, never taken over by force); a missing one is
  created, as runbook 002 does; one the stack created before stays the stack's;
- Typha deleted by hand while felix_relay_service still points Felix at it: Pulumi's state still
  lists the objects, so without this a preview says "unchanged" and Felix keeps looking for a Typha
  that is gone. The preview warns, naming the objects, and says how to recreate them: `pulumi up
  --refresh` drops them from the state and creates them again (pulumi-kubernetes cannot update an
  object that is gone: it reads the live object first, measured with the real provider).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

# The stack's CRD field manager (decide/typha_manifests.CRD_FIELD_MANAGER); earlier versions of the
# stack applied it as pulumi-kubernetes' own pulumi-kubernetes-<suffix>.
OUR_FIELD_MANAGERS = ("terway-stack-typha", "pulumi-kubernetes")


@dataclass(frozen=True)
class TyphaLive:
    """None for a field means it was not read (offline plan, unit tests)."""

    missing: Optional[Sequence[str]] = None  # kinds of the calico-typha objects that do not exist
    relay: Optional[str] = None  # the live felix_relay_service
    bgppeer_crd_managers: Optional[Sequence[str]] = None  # field managers; () when absent
    bgppeer_crd_exists: Optional[bool] = None
    kinds: Sequence[str] = field(default=("Service", "Deployment", "PodDisruptionBudget"))


def bgppeer_crd_plan(live: TyphaLive) -> str:
    """"create" (missing or unknown), "keep" (the stack's own), or "leave" (someone else's)."""
    if not live.bgppeer_crd_exists:
        return "create"
    if any(m.startswith(OUR_FIELD_MANAGERS) for m in live.bgppeer_crd_managers or ()):
        return "keep"
    return "leave"


def bgppeer_crd_note(plan: str, crd: str) -> Optional[str]:
    if plan == "leave":
        return (
            f"CustomResourceDefinition {crd} exists and is not the stack's (ACK lists *.crd.projectcalico.org as "
            "system resources): left as it is, neither adopted nor changed"
        )
    return None


def relayed_but_missing(live: TyphaLive, service: str) -> list[str]:
    """Typha objects that are gone while Felix is pointed at them."""
    if live.relay != service or not live.missing:
        return []
    return [kind for kind in live.kinds if kind in live.missing]


def recreate_warning(missing: Sequence[str], service: str, namespace: str) -> str:
    objects = ", ".join(f"{kind} {namespace}/{service}" for kind in missing)
    return (
        f"{objects} not found while felix_relay_service points Felix at {service}: Felix has no Typha to talk to. "
        "Run `pulumi up --refresh`: the refresh drops them from Pulumi's state and the up creates them again, "
        "waiting for Typha to be ready before anything that depends on it"
    )
