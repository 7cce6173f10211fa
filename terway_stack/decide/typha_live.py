"""What the live cluster says about the Typha objects, and what the stack does about it (pure).

Read at every preview and up (act/typha_live.py), before the Typha objects are declared:
- the BGPPeer CRD: ACK lists *.crd.projectcalico.org as system resources, so one the stack did not
  create is left exactly as it is (never declared, never taken over by force); a missing one is
  created, as runbook 002 does; one the stack created before stays the stack's;
- a Typha object deleted by hand: Pulumi's state still lists it, so without this a preview says
  "unchanged" while felix_relay_service points Felix at a Typha that is gone, and even an input
  change cannot bring it back (pulumi-kubernetes' update reads the live object first and fails:
  "unable to get cluster state", measured with the real provider). So a missing object is declared
  with a fresh RECREATED_ANNOTATION and replaced delete-before-replace: the delete of an object that is
  gone succeeds (the provider treats NotFound as deleted) and the create brings it back, first,
  since everything that points Felix at Typha depends on it. A present object keeps the annotation
  value it holds, so nothing changes on the next run. The preview warns, naming the objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

# The stack's CRD field manager (decide/typha_manifests.CRD_FIELD_MANAGER); earlier versions of the
# stack applied it as pulumi-kubernetes' own pulumi-kubernetes-<suffix>.
OUR_FIELD_MANAGERS = ("terway-stack-typha", "pulumi-kubernetes")
# Set on a Typha object the stack (re)creates because it was missing; its value, the time of that run,
# is what changes so the engine replaces an object its state still lists (see the module docstring).
RECREATED_ANNOTATION = "terway-stack/recreated-at"


@dataclass(frozen=True)
class TyphaLive:
    """None for a field means it was not read (offline plan, unit tests)."""

    missing: Optional[Sequence[str]] = None  # kinds of the calico-typha objects that do not exist
    recreated_at: Mapping[str, str] = field(default_factory=dict)  # kind -> live RECREATED_ANNOTATION
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


@dataclass(frozen=True)
class Recreation:
    """How one Typha object is declared: `annotation` is RECREATED_ANNOTATION's value (None: not set);
    `replace`: replaced delete-before-replace when that value changes (only for a missing object, so a
    present Typha is never deleted by this)."""

    annotation: Optional[str]
    replace: bool


def recreation(live: TyphaLive, kind: str, now: str) -> Recreation:
    """A missing object gets a fresh value (`now`) and is replaced; a present one keeps what it holds.
    Nothing read (offline, unit tests): declared as before, no annotation."""
    if live.missing is not None and kind in live.missing:
        return Recreation(annotation=now, replace=True)
    return Recreation(annotation=live.recreated_at.get(kind), replace=False)


def recreate_warning(missing: Sequence[str], service: str, namespace: str) -> str:
    objects = ", ".join(f"{kind} {namespace}/{service}" for kind in missing)
    return (
        f"{objects} not found while felix_relay_service points Felix at {service}: Felix has no Typha to talk to. "
        "`pulumi up` creates them again (a replace of what Pulumi's state still lists) before anything that "
        "depends on them, and waits for Typha to be ready"
    )
