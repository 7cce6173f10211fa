"""Terway as ACK runs it today (issue 18), under the real engine against kwok nodes.

The control plane is seeded as a mixed-mode cluster (e2e/terway_modes_seed.py): shared, exclusive
(label) and prefix (per-node config) nodes with the instance-type-info annotation, Terway's own CRDs,
a Node CR per node (one shared node at its ENI limit), centralized IPAM, and a PodNetworking made
from eni-config. The stack adopts a pod vSwitch in the first zone with `terway:cloudLookups: false`,
so the node half of the capacity figures is real and checked against figures computed by hand.
Run with `make e2e`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.controlplane import ADMIN_USER, ZONES  # noqa: E402
from e2e.pulumi_project import adopted_stack_config  # noqa: E402
from e2e.terway_modes_seed import (  # noqa: E402
    GROUP,
    NODES,
    POD_NETWORKING,
    VERSION,
    expected_capacity,
    seed_modes,
)
from terway_stack.act.pod_networking_writer import add_vswitch_ids  # noqa: E402

STACK = "modes"
ADOPTED = {ZONES[0]: "vsw-e2emodesf"}
STACK_CONFIG = adopted_stack_config("e2e-modes", NODES, "direct", ADOPTED)
FIGURES = ("nodes", "nodesByMode", "maxPodsPerNode", "nodesCanAttachEni", "nodesAtEniLimit", "nodesEniStateUnknown",
           "newEniIps", "worstCaseIps", "warmIps", "trunkMemberEnis")


@pytest.fixture(scope="module")
def seeded(cp):
    seed_modes(cp)
    return cp


def pod_networking(cp) -> dict:
    from kubernetes.client import CustomObjectsApi

    return CustomObjectsApi(cp.api_client()).get_cluster_custom_object(GROUP, VERSION, "podnetworkings", POD_NETWORKING)


def test_preview_shows_each_nodes_mode_the_full_node_and_the_stale_pod_networking(seeded, pulumi):
    since = seeded.audit_offset()
    result = pulumi("preview")
    output = result.stdout + result.stderr
    assert f"pod IPs in {ZONES[0]}: 3 ecs.g7.4xlarge; modes 1 shared, 1 exclusive, 1 prefix;" in output, output[-3000:]
    assert f"pod IPs in {ZONES[0]}: 1 of 3 nodes are at their ENI limit" in output
    assert "trunk member ENIs 30 (PodNetworking pods, one IP each from its vSwitchOptions" in output  # zone 1's trunk node
    assert (f"PodNetworking {POD_NETWORKING} covers {ZONES[0]} but its spec.vSwitchOptions lacks {ADOPTED[ZONES[0]]}"
            in output)
    assert seeded.write_summary(since, user=ADMIN_USER) == {}


def test_up_exports_the_hand_computed_figures_and_leaves_the_pod_networking_alone(seeded, pulumi):
    before = pod_networking(seeded)["spec"]["vSwitchOptions"]
    pulumi("up", "--yes", "--skip-preview")
    figures = json.loads(pulumi("stack", "output", "podIpCapacity", "--json").stdout)
    for zone, expected in expected_capacity(ZONES).items():
        assert {k: figures[zone][k] for k in FIGURES} == {k: expected[k] for k in FIGURES}, zone
    # No cloud here: the free IPs are unknown, so is the usable headroom; never invented.
    assert figures[ZONES[0]]["usableHeadroomIps"] is None and figures[ZONES[0]]["addedUsableIps"] is None
    assert pod_networking(seeded)["spec"]["vSwitchOptions"] == before


def test_opt_in_adds_the_id_to_the_pod_networking_and_destroy_keeps_it(seeded, pulumi):
    path = pulumi.workdir / f"Pulumi.{STACK}.yaml"
    stack = yaml.safe_load(path.read_text())
    stack["config"]["terway:podVSwitches"]["updatePodNetworkings"] = True
    path.write_text(yaml.safe_dump(stack))
    before = pod_networking(seeded)["spec"]["vSwitchOptions"]
    pulumi("up", "--yes", "--skip-preview")
    after = pod_networking(seeded)["spec"]["vSwitchOptions"]
    assert after == [*before, ADOPTED[ZONES[0]]]  # existing ids first, nothing removed
    pulumi("up", "--yes", "--skip-preview")
    assert pod_networking(seeded)["spec"]["vSwitchOptions"] == after  # idempotent
    pulumi("destroy", "--yes", "--skip-preview")
    assert pod_networking(seeded)["spec"]["vSwitchOptions"] == after  # retained: pods hold IPs there


def test_the_writer_keeps_an_edit_made_between_its_read_and_its_write(seeded, kubeconfig):
    """The resourceVersion test makes the API server refuse our first write; the retry keeps the edit."""
    from kubernetes.client import CustomObjectsApi

    custom = CustomObjectsApi(seeded.api_client())
    edits = []

    def console_edit(_live):
        if not edits:
            current = pod_networking(seeded)
            current["spec"]["vSwitchOptions"].append("vsw-console-edit")
            custom.replace_cluster_custom_object(GROUP, VERSION, "podnetworkings", POD_NETWORKING, current)
            edits.append(1)

    zone_of_id = {"vsw-existing-g": ZONES[1]}
    added = add_vswitch_ids(kubeconfig, {ZONES[1]: ["vsw-new-g"]}, zone_of_id, after_read=console_edit, sleep=lambda _s: None)
    options = pod_networking(seeded)["spec"]["vSwitchOptions"]
    assert added == {POD_NETWORKING: ["vsw-new-g"]}
    assert "vsw-console-edit" in options and options[-1] == "vsw-new-g" and options.count("vsw-new-g") == 1
