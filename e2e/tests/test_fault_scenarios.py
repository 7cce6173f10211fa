"""Issue 19's real-engine scenarios: the real CLI, the real Kubernetes provider and this program, on a
local control plane with an audit log. One stack per scenario, in file order:

1. converged: a cluster already in the wanted state for mode direct (ACK's seed: no relay, policy
   on). The first `up` restarts nothing, and `destroy` releases nothing and restarts nothing.
2. read-only: an identity that may manage the Typha objects and read eni-config, but not patch it.
   `preview` stops naming the verb and the object (the preflight's SelfSubjectAccessReview), and
   `up` writes nothing, Typha included.
3. vanish: eni-config is deleted at the moment of the stack's first write to it (a validating
   webhook deletes it while the API server admits that write). The run stops; no Typha object was
   written, and Terway was not restarted.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.admission_hook import EniConfigWriteHook  # noqa: E402
from e2e.controlplane import ADMIN_USER  # noqa: E402
from e2e.identities import restricted_kubeconfig  # noqa: E402
from e2e.pulumi_project import PulumiCli, adopted_stack_config, copy_project, init_stack  # noqa: E402

NODES = 4
NS, DS, CM = "kube-system", "terway-eniip", "eni-config"
ROLLOUT_AGENT = "terway-stack-rollout"
TYPHA_RESOURCES = ("customresourcedefinitions", "services", "deployments", "poddisruptionbudgets")


def new_stack(cp, tmp_path_factory, name: str, config: dict, kubeconfig: str) -> PulumiCli:
    project = copy_project(tmp_path_factory.mktemp(f"project-{name}"))
    cli = PulumiCli(project, tmp_path_factory.mktemp(f"pulumi-{name}"), on_error=pytest.fail)
    return init_stack(cli, name, config, kubeconfig)


def restart_patches(cp, since: int) -> list[dict]:
    return cp.write_events(since, user_agent=ROLLOUT_AGENT, resource="daemonsets", name=DS, verbs=["patch"], ok_only=False)


def typha_writes(cp, since: int, user: str = ADMIN_USER) -> list[tuple[str, str]]:
    """Writes of Typha objects (server-side dry runs of a preview are not writes)."""
    return [(e["verb"], e["objectRef"]["resource"]) for e in cp.write_events(since, user=user, ok_only=False)
            if e["objectRef"].get("resource") in TYPHA_RESOURCES]


def output(result) -> str:
    return result.stdout + result.stderr


# --------------------------------------------------------------------------- 1. converged


def test_1_first_up_on_a_converged_cluster_and_destroy_in_mode_direct_restart_nothing(cp, kubeconfig, tmp_path_factory):
    config = {**adopted_stack_config("converged", NODES, "direct", {}), "terway:podVSwitches": {}}
    stack = new_stack(cp, tmp_path_factory, "converged", config, kubeconfig)
    before = dict(cp.core().read_namespaced_config_map(CM, NS).data)
    since = cp.audit_offset()
    up = stack("up", "--yes", "--skip-preview")
    assert restart_patches(cp, since) == [], output(up)
    assert "eni-config already held the wanted values" in output(up)
    assert dict(cp.core().read_namespaced_config_map(CM, NS).data) == before
    since = cp.audit_offset()
    destroy = stack("destroy", "--yes", "--skip-preview")
    assert restart_patches(cp, since) == [], output(destroy)
    assert "no restart on delete: the release left every value Terway reads as it was" in output(destroy)


# --------------------------------------------------------------------------- 2. read-only eni-config


@pytest.fixture(scope="module")
def no_configmap_patch(cp, kubeconfig):
    """A ServiceAccount with every right the run needs except patching ConfigMaps, and its token."""
    rules = [
        {"apiGroups": ["", "apps", "policy", "apiextensions.k8s.io", "networking.k8s.io"],
         "resources": ["services", "deployments", "poddisruptionbudgets", "customresourcedefinitions", "daemonsets",
                       "pods", "nodes", "controllerrevisions", "networkpolicies", "replicasets", "endpoints", "events"],
         "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
    ]
    return restricted_kubeconfig(cp, kubeconfig, NS, "terway-e2e-no-cm-patch", rules, seconds=7200)


def test_2_an_identity_that_may_not_patch_eni_config_stops_preview_and_writes_nothing(cp, tmp_path_factory, no_configmap_patch):
    text, user, token = no_configmap_patch
    config = adopted_stack_config("readonly", NODES, "typha", {"cn-shanghai-f": "vsw-e2ereadonlyf"})
    stack = new_stack(cp, tmp_path_factory, "readonly", config, text)
    since = cp.audit_offset()
    for args in (("preview",), ("up", "--yes", "--skip-preview")):
        result = stack(*args, check=False)
        text_out = output(result)
        assert result.returncode != 0, text_out
        assert "kubernetes:kubeconfig: this identity may not patch configmaps kube-system/eni-config" in text_out
        assert "Traceback" not in text_out and token not in text_out
    assert cp.write_events(since, user=user, ok_only=False) == []  # nothing written, Typha included
    assert restart_patches(cp, since) == []


# --------------------------------------------------------------------------- 3. eni-config vanishes


def test_3_eni_config_deleted_at_the_first_write_leaves_no_typha_and_no_restart(cp, kubeconfig, tmp_path_factory, tmp_path):
    config = adopted_stack_config("vanish", NODES, "typha", {"cn-shanghai-f": "vsw-e2evanishf"})
    stack = new_stack(cp, tmp_path_factory, "vanish", config, kubeconfig)
    deleted: list[str] = []

    def delete_eni_config(_request: dict) -> None:
        if not deleted:
            deleted.append("eni-config")
            cp.core().delete_namespaced_config_map(CM, NS)

    since = cp.audit_offset()
    with EniConfigWriteHook(cp, tmp_path, delete_eni_config) as hook:
        result = stack("up", "--yes", "--skip-preview", check=False)
    text = output(result)
    assert hook.calls and deleted, text  # the webhook really ran at the stack's write
    assert result.returncode != 0 and "Traceback" not in text, text
    assert typha_writes(cp, since) == [], text  # Typha waits for the eni_conf write, which failed
    assert restart_patches(cp, since) == []
    assert CM not in {c.metadata.name for c in cp.core().list_namespaced_config_map(NS).items}
