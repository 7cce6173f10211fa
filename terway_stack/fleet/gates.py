"""The health gate after each stack's up, as pure functions of what was read.

Inputs are the Kubernetes objects as JSON (dicts), the stack's outputs and the follow-up preview's
changes; `cluster_reads` and `automation` fetch them. Each gate names itself and says why it failed.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from pydantic import ValidationError

from ..act.rollout_wait import RolloutStatus
from ..decide.facts import TERWAY_NAMESPACE, TYPHA_NAMESPACE, TYPHA_SERVICE_NAME
from ..decide.live_objects import update_strategy
from ..decide.capacity import ZoneFigures, capacity_warnings
from ..outputs_contract import ZoneCapacityOutput
from .model import GATE_CAPACITY, GATE_NO_CHANGES, GATE_ROLLOUT, GATE_TYPHA, Gate, StepChange

TYPHA_MODE = "typha"


def typha_gate(mode: Optional[str], deployment: Optional[Mapping[str, Any]], name: str = TYPHA_SERVICE_NAME) -> Gate:
    """Mode typha: the Deployment exists and all its replicas of the current generation are ready."""
    if mode != TYPHA_MODE:
        return Gate(GATE_TYPHA, True, f"not checked: mode {mode}")
    if deployment is None:
        return Gate(GATE_TYPHA, False, f"Deployment {TYPHA_NAMESPACE}/{name} not found")
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    wanted = int(spec.get("replicas", 1) or 0)
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    updated, ready = int(status.get("updatedReplicas") or 0), int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if observed < generation or updated < wanted or ready < wanted or available < wanted:
        return Gate(
            GATE_TYPHA, False,
            f"Deployment {TYPHA_NAMESPACE}/{name}: {ready}/{wanted} ready, {updated}/{wanted} updated, "
            f"{available}/{wanted} available (generation {generation}, observed {observed})",
        )
    return Gate(GATE_TYPHA, True, f"{ready}/{wanted} ready")


def rollout_gate(daemon_sets: Mapping[str, Optional[Mapping[str, Any]]]) -> Gate:
    """Every Terway DaemonSet the stack restarts has finished rolling (kubectl rollout status)."""
    problems, done = [], []
    for name, ds in sorted(daemon_sets.items()):
        if ds is None:
            problems.append(f"DaemonSet {TERWAY_NAMESPACE}/{name} not found")
            continue
        status = RolloutStatus.of(ds)
        if update_strategy(ds) != "RollingUpdate":
            problems.append(f"DaemonSet {TERWAY_NAMESPACE}/{name} uses updateStrategy {update_strategy(ds)}; {status.describe()}")
        elif not status.complete():
            problems.append(f"DaemonSet {TERWAY_NAMESPACE}/{name} rollout not complete: {status.describe()}")
        else:
            done.append(f"{name} {status.updated}/{status.desired}")
    if not daemon_sets:
        return Gate(GATE_ROLLOUT, False, "the stack names no Terway DaemonSet (output terwayDaemonSets)")
    return Gate(GATE_ROLLOUT, not problems, "; ".join(problems) or "complete: " + ", ".join(done))


def zone_capacity(zone: str, figures: Mapping[str, Any]) -> ZoneFigures:
    """A zone's capacity back from the `podIpCapacity` output, read by its contract (outputs_contract.py)."""
    read = ZoneCapacityOutput.read(figures)
    return ZoneFigures(
        zone=zone,
        nodes=read.nodes,
        min_pool_size=read.min_pool_size,
        listed_vswitches=list(read.vswitches),
        new_cidrs=list(read.new_vswitch_cidrs),
        added_ips=read.added_ips,
        nodes_at_eni_limit=read.nodes_at_eni_limit,
        usable_headroom_ips=read.usable_headroom_ips,
    )


def capacity_gate(pod_ip_capacity: Optional[Mapping[str, Mapping[str, Any]]]) -> Gate:
    """No capacity warning, by the stack's own rule (decide.capacity.capacity_warnings) on its output."""
    if pod_ip_capacity is None:
        return Gate(GATE_CAPACITY, False, "the stack has no podIpCapacity output")
    try:
        capacities = {zone: zone_capacity(zone, figures or {}) for zone, figures in pod_ip_capacity.items()}
    except ValidationError as err:
        return Gate(GATE_CAPACITY, False, f"podIpCapacity does not match the outputs contract ({err.error_count()} problems)")
    warnings = capacity_warnings(capacities)
    return Gate(GATE_CAPACITY, not warnings, "; ".join(warnings) or f"no warning ({len(capacities)} zones)")


def no_changes_gate(changes: Sequence[StepChange]) -> Gate:
    """The follow-up preview proposes nothing: the stack is converged."""
    if changes:
        shown = "; ".join(c.describe() for c in changes[:5])
        more = f" and {len(changes) - 5} more" if len(changes) > 5 else ""
        return Gate(GATE_NO_CHANGES, False, f"{len(changes)} pending change(s): {shown}{more}")
    return Gate(GATE_NO_CHANGES, True, "no changes")


def health_gates(
    outputs: Mapping[str, Any],
    typha_deployment: Optional[Mapping[str, Any]],
    daemon_sets: Mapping[str, Optional[Mapping[str, Any]]],
    follow_up: Sequence[StepChange],
) -> list[Gate]:
    """All four gates, in order."""
    return [
        typha_gate(outputs.get("networkPolicyMode"), typha_deployment, outputs.get("typhaServiceName") or TYPHA_SERVICE_NAME),
        rollout_gate(daemon_sets),
        capacity_gate(outputs.get("podIpCapacity")),
        no_changes_gate(follow_up),
    ]
