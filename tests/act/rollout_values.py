"""Values the rollout provider's unit tests share: its props and outputs as the engine hands them over,
a DaemonSet with a given status, and a clock the tests move by hand."""
from __future__ import annotations

from terway_stack.act.rollout_restart import TRIGGER_ANNOTATION
from terway_stack.decide import facts

from .kubeconfigs import UNREACHABLE_KUBECONFIG


def props(**over):
    base = {
        "kind": facts.ROLLOUT_KIND,
        "restartMethod": facts.ROLLOUT_METHOD,
        "daemonSet": "terway-eniip",
        "namespace": "kube-system",
        "trigger": "t1",
        "restartOn": "change",
        "timeoutSeconds": 600.0,  # the engine hands numbers over as floats
        "kubeconfig": UNREACHABLE_KUBECONFIG,
    }
    base.update(over)
    return base


def outputs(**over):
    return {**props(), "restartedAt": "2026-01-01T00:00:00Z", "restarts": 1.0, "observedGeneration": 3.0, **over}


def ds(generation=2, observed=2, desired=20, updated=20, available=20, unavailable=0, ready=20, max_unavailable="10%"):
    return {
        "metadata": {"generation": generation},
        "spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable}}},
        "status": {
            "observedGeneration": observed,
            "desiredNumberScheduled": desired,
            "updatedNumberScheduled": updated,
            "numberAvailable": available,
            "numberUnavailable": unavailable,
            "numberReady": ready,
        },
    }


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


DS_PATH = "/apis/apps/v1/namespaces/kube-system/daemonsets/terway-eniip"


def live_ds(mark=None, max_unavailable="10%", desired=20):
    """The live terway-eniip DaemonSet, rolled out, with the restart mark `mark` on its pod template."""
    obj = ds(desired=desired, updated=desired, available=desired, ready=desired, max_unavailable=max_unavailable)
    obj["metadata"].update(name="terway-eniip", namespace="kube-system", uid="u1")
    obj["spec"]["template"] = {"metadata": {"annotations": {TRIGGER_ANNOTATION: mark} if mark else {}}}
    return obj


CM_PATH = "/api/v1/namespaces/kube-system/configmaps/eni-config"
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def preflight_props(**over):
    """The preflight resource's props for one mode-direct run on terway-eniip."""
    from terway_stack.decide.permissions import run_accesses
    from terway_stack.decide.preflight import PreflightSettings

    settings = PreflightSettings(mode="direct", daemon_sets=("terway-eniip",),
                                 accesses=tuple(run_accesses([], ["terway-eniip"], "kube-system")), **over)
    return {"kind": facts.PREFLIGHT_KIND, "settings": settings.as_props()}
