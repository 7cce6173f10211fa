"""The offline plan runs the preflight checks a saved eni-config allows, and lists the ones it cannot run."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from terway_stack.plan.mocks import SAMPLE_ENI_CONFIG

from .plan_cli import plan


def saved_eni_config(tmp_path: Path, **data: str) -> Path:
    configmap = yaml.safe_load(SAMPLE_ENI_CONFIG.read_text())
    configmap["data"].update(data)
    configmap["metadata"]["managedFields"] = [
        {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:data": {"f:felix_relay_service": {}}}}
    ]
    path = tmp_path / "eni-config.yaml"
    path.write_text(yaml.safe_dump(configmap))
    return path


def test_plan_lists_the_live_checks_it_could_not_run():
    result = plan("--stack", "prod", "--format", "json")
    assert result.returncode == 0, result.stderr
    not_run = json.loads(result.stdout)["checksNotRun"]
    assert any(line.startswith("Terway DaemonSets terway-eniip: exist, RollingUpdate") for line in not_run)
    assert any(line.startswith("per-node configs") for line in not_run)
    table = plan("--stack", "prod").stdout
    assert "Live checks not run offline" in table


def test_plan_refuses_another_relay_naming_value_manager_and_setting(tmp_path):
    result = plan("--stack", "prod", "--eni-config", str(saved_eni_config(tmp_path, felix_relay_service="my-typha")))
    assert result.returncode == 2
    assert (
        "kube-system/eni-config:felix_relay_service: is 'my-typha' (field manager(s) kubectl-edit (Update)), another "
        "relay than calico-typha" in result.stderr
    )
    assert "terway:typha.replaceExistingRelay" in result.stderr and "Traceback" not in result.stderr


def test_plan_refuses_switching_policy_on_and_says_the_count_needs_the_cluster(tmp_path):
    result = plan("--stack", "prod", "--eni-config", str(saved_eni_config(tmp_path, disable_network_policy="true")))
    assert result.returncode == 2
    assert "kube-system/eni-config:disable_network_policy: is 'true': NetworkPolicy is off" in result.stderr
    assert "not counted: the cluster was not read" in result.stderr
