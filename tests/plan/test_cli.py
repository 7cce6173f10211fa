"""`python -m terway_stack plan`, run as users run it: a subprocess of the real entry point."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from terway_stack.plan.sections import CapacitySection

from .plan_cli import ROOT, plan


@pytest.fixture(scope="module")
def prod_json() -> dict:
    result = plan("--stack", "prod", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def by_type(document: dict, type_: str) -> list[dict]:
    return [r for r in document["resources"] if r["type"] == type_]


def test_prod_plan_declares_a_vswitch_and_snat_entry_per_zone(prod_json):
    switches = {r["inputs"]["zoneId"]: r["inputs"] for r in by_type(prod_json, "alicloud:vpc/switch:Switch")}
    assert switches == {
        "cn-shanghai-f": {
            "cidrBlock": "10.0.32.0/19",
            "description": "Terway pod vSwitch for ACK cluster prod-shanghai, managed by terway-stack",
            "tags": {"team": "platform-network", "cost-center": "k8s-prod", "managed-by": "terway-stack", "terway-stack/cluster": "prod-shanghai"},
            "vpcId": "vpc-uf6prodshanghai0000001",
            "vswitchName": "prod-shanghai-terway-pods-cn-shanghai-f",
            "zoneId": "cn-shanghai-f",
        },
        "cn-shanghai-g": {
            "cidrBlock": "10.0.64.0/19",
            "description": "Terway pod vSwitch for ACK cluster prod-shanghai, managed by terway-stack",
            "tags": {"team": "platform-network", "cost-center": "k8s-prod", "managed-by": "terway-stack", "terway-stack/cluster": "prod-shanghai"},
            "vpcId": "vpc-uf6prodshanghai0000001",
            "vswitchName": "prod-shanghai-terway-pods-cn-shanghai-g",
            "zoneId": "cn-shanghai-g",
        },
    }
    ids = prod_json["outputs"]["podVSwitchIds"]
    snat = sorted((r["inputs"]["sourceVswitchId"], r["inputs"]["snatIp"], r["inputs"]["snatTableId"]) for r in by_type(prod_json, "alicloud:vpc/snatEntry:SnatEntry"))
    table = snat[0][2]
    assert table.startswith("stb-plan")  # looked up from the NAT gateway, deterministic placeholder
    assert snat == sorted((ids[z], "47.100.1.2,47.100.1.3", table) for z in ("cn-shanghai-f", "cn-shanghai-g"))


def test_prod_plan_outputs_are_the_documented_contract(prod_json):
    outputs = prod_json["outputs"]
    from terway_stack import outputs_contract

    assert list(outputs) == list(outputs_contract.NAMES)
    assert outputs_contract.problems(outputs) == []
    assert outputs["networkPolicyMode"] == "typha"
    assert outputs["typhaServiceName"] == "calico-typha"
    assert outputs["typhaReplicas"] == 6
    assert outputs["podVSwitchCidrs"] == {"cn-shanghai-f": "10.0.32.0/19", "cn-shanghai-g": "10.0.64.0/19"}
    assert outputs["podVSwitchUsableIps"] == {"cn-shanghai-f": 8188, "cn-shanghai-g": 8188}
    assert all(v.startswith("vsw-plan") for v in outputs["podVSwitchIds"].values())
    assert len(outputs["eniConfigTrigger"]) == 64


def test_prod_plan_json_has_the_stable_top_level_shape(prod_json):
    assert list(prod_json)[:4] == ["stack", "resources", "outputs", "violations"]
    assert prod_json["stack"] == "prod"
    for resource in prod_json["resources"]:
        assert set(resource) == {"type", "name", "inputs"}
    assert prod_json["violations"] == []


def test_plan_is_deterministic():
    # Two fresh interpreters, so set and dict orders that depend on the hash seed would show.
    first = plan("--stack", "prod", "--format", "json", fresh=True)
    second = plan("--stack", "prod", "--format", "json", fresh=True)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


def test_secrets_never_reach_the_plan(prod_json, tmp_path):
    text = json.dumps(prod_json)
    assert "offline plan: no cluster access" not in text  # the placeholder kubeconfig itself
    for resource in prod_json["resources"]:
        if "kubeconfig" in resource["inputs"]:
            assert resource["inputs"]["kubeconfig"] == "[secret]"


def test_table_shows_sizing_capacity_and_the_eni_config_change():
    result = plan("--stack", "prod")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Typha: 6 replicas (computed" in out
    assert "New pod vSwitch cn-shanghai-f: 10.0.32.0/19, 8188 usable pod IPs" in out
    assert "Total new pod IPs: 16376" in out
    assert 'felix_relay_service: (absent) -> "calico-typha" (changes)' in out
    assert "--- eni_conf (live)" in out
    # Only the vswitches line changes: every other byte of the live eni_conf is kept (issue 12 §3).
    diff = out.split("+++ eni_conf (planned)")[1].split("Then: rolling restart")[0].splitlines()
    removed = [line for line in diff if line.startswith("  -")]
    added = [line for line in diff if line.startswith("  +")]
    assert len(removed) == len(added) == 1 and '"vswitches"' in removed[0] and '"vsw-plan' in added[0]
    assert "rolling restart of terway-eniip" in out


def test_eni_config_from_a_saved_configmap_in_json(tmp_path):
    saved = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "eni-config", "namespace": "kube-system", "resourceVersion": "123"},
        "data": {
            "eni_conf": json.dumps({"vswitches": {"cn-shanghai-f": ["vsw-a"]}, "max_pool_size": 80, "min_pool_size": 20}),
            # "true" would now need terway:confirmNetworkPolicyEnforcement (tests/plan/test_offline_preflight.py)
            "disable_network_policy": "false",
        },
    }
    path = tmp_path / "eni-config.json"
    path.write_text(json.dumps(saved))
    result = plan("--stack", "prod", "--eni-config", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    [patch] = by_type(json.loads(result.stdout), "pulumi-python:dynamic/terway_stack:EniConfWriter")
    merged = json.loads(patch["inputs"]["data"]["eni_conf"])
    assert merged["max_pool_size"] == 80 and merged["min_pool_size"] == 20
    assert merged["vswitches"]["cn-shanghai-f"][0] == "vsw-a"
    assert len(merged["vswitches"]["cn-shanghai-f"]) == 2 and "cn-shanghai-g" in merged["vswitches"]


def test_eni_config_section_shows_the_policy_keys_as_they_will_really_be(tmp_path):
    """A runbook cluster (relay set by hand, co-owned by another manager) planned in mode direct: the
    relay really goes, and an absent disable_network_policy stays absent."""
    saved = yaml.safe_load((ROOT / "terway_stack/plan/sample_eni_config.yaml").read_text())
    saved["metadata"]["managedFields"] = [{"manager": "kubectl-edit", "operation": "Update"}]
    saved["data"]["felix_relay_service"] = "calico-typha"
    del saved["data"]["disable_network_policy"]
    path = tmp_path / "eni-config.yaml"
    path.write_text(yaml.safe_dump(saved))
    result = plan("--stack", "dev", "--eni-config", str(path))
    assert result.returncode == 0, result.stderr
    assert 'felix_relay_service: "calico-typha" -> (absent) (changes)' in result.stdout
    assert "disable_network_policy: (absent) -> (absent) (unchanged)" in result.stdout
    document = json.loads(plan("--stack", "dev", "--eni-config", str(path), "--format", "json").stdout)
    [writer] = by_type(document, "pulumi-python:dynamic/terway_stack:PolicyKeysWriter")
    assert writer["inputs"]["data"] == {} and writer["inputs"]["networkPolicyMode"] == "direct"
    assert writer["inputs"]["observed"] == {"felix_relay_service": "calico-typha"}


def test_dev_stack_adopts_its_vswitch_and_creates_no_cloud_resource():
    result = plan("--stack", "dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert not [r for r in document["resources"] if r["type"].startswith("alicloud:")]
    assert document["outputs"]["podVSwitchIds"] == {"cn-shanghai-g": "vsw-uf6devpods0000000g"}
    assert document["outputs"]["podVSwitchUsableIps"] == {}
    assert document["outputs"]["typhaReplicas"] == 0


def write_stack(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def prod_config() -> dict:
    return yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]


BAD_INPUTS = [
    ("terway:cluster", {"name": "x", "kubernetesVersion": "1.30", "nodeCount": "lots"}, "terway:cluster.nodeCount: expected an integer"),
    ("terway:networkPolicy", "calico", "terway:networkPolicy: 'calico' is not one of"),
    ("terway:typo", "x", "terway:typo: unknown key"),
    ("terway:podVSwitches.zones.cn-shanghai-f.cidr", "10.0.32.0/20", "terway:podVSwitches.zones.cn-shanghai-f.cidr: /20 is smaller than /19"),
    ("terway:podVSwitches.zones.cn-shanghai-f.cidr", "10.0.33.0/19", "terway:podVSwitches.zones.cn-shanghai-f.cidr: 10.0.33.0/19 has host bits set"),
    ("terway:podVSwitches.zones.cn-shanghai-f.cidr", "10.0.64.0/18", "terway:podVSwitches.zones.cn-shanghai-g.cidr: 10.0.64.0/19 overlaps"),
    ("terway:podVSwitches.zones.cn-beijing-a", {"cidr": "10.9.0.0/19"}, "terway:podVSwitches.zones.cn-beijing-a: zone 'cn-beijing-a' is not in region cn-shanghai"),
    ("terway:podVSwitches.snat.snatTableId", "stb-x", "terway:podVSwitches.snat: set exactly one of snatTableId or natGatewayId"),
    ("terway:podVSwitches.snat.snatIps", [], "terway:podVSwitches.snat.snatIps: must list at least one EIP address"),
    ("terway:podVSwitches.snat.snatIps", ["not-an-ip"], "terway:podVSwitches.snat.snatIps.0: 'not-an-ip' is not an IPv4 address"),
    ("terway:cluster.kubernetesVersion", "one.thirty", "terway:cluster.kubernetesVersion: 'one.thirty' is not a Kubernetes version"),
    ("terway:typha.replicas", 3, "terway:typha.replicas: 3 is below the minimum 6 for 1200 nodes"),
    ("terway:typha.replicas", 25, "terway:typha.replicas: 25 is above 20"),
]


def set_path(config: dict, dotted: str, value) -> None:
    head, *rest = dotted.split(".", 1)
    if not rest:
        config[head] = value
        return
    node = config.setdefault(head, {})
    parts = rest[0].split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


@pytest.mark.parametrize("key, value, expected", BAD_INPUTS, ids=[b[2].split(":")[1][:40] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_the_key_path_and_no_traceback(tmp_path, key, value, expected):
    config = prod_config()
    if key.endswith("zones.cn-shanghai-f.cidr") and "overlaps" in expected:
        config["terway:podVSwitches"]["zones"]["cn-shanghai-f"]["cidr"] = value
    else:
        set_path(config, key, value)
    result = plan("--stack-config", str(write_stack(tmp_path, config)), "--project-dir", str(ROOT))
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "eni_conf, expected",
    [
        (None, "kube-system/eni-config:eni_conf: missing"),
        ("{not json", "kube-system/eni-config:eni_conf: is not valid JSON"),
        ('{"vswitches": ["vsw-a"]}', "kube-system/eni-config:eni_conf.vswitches: must map each zone"),
    ],
)
def test_malformed_live_eni_config_exits_2_naming_the_key(tmp_path, eni_conf, expected):
    data = {"disable_network_policy": "false"}
    if eni_conf is not None:
        data["eni_conf"] = eni_conf
    path = tmp_path / "eni-config.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "eni-config"}, "data": data}))
    result = plan("--stack", "prod", "--eni-config", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_or_unreadable_files_exit_2(tmp_path):
    missing = plan("--stack", "nosuchstack")
    assert missing.returncode == 2 and "Pulumi.nosuchstack.yaml: file not found" in missing.stderr
    garbage = tmp_path / "cm.yaml"
    garbage.write_text("kind: Secret\ndata: {}\n")
    result = plan("--stack", "prod", "--eni-config", str(garbage))
    assert result.returncode == 2 and "is not a saved ConfigMap" in result.stderr
    assert "Traceback" not in missing.stderr + result.stderr


def test_advisory_violation_is_reported_and_exits_0(tmp_path):
    config = prod_config()
    config["terway:networkPolicy"] = "disabled"
    result = plan("--stack-config", str(write_stack(tmp_path, config)), "--project-dir", str(ROOT), "--format", "json")
    assert result.returncode == 0, result.stderr
    violations = json.loads(result.stdout)["violations"]
    assert {"policy": "network-policy-disabled", "enforcement": "advisory"}.items() <= violations[0].items()


def test_mandatory_violation_exits_1_with_the_policy_named(tmp_path):
    config = prod_config()
    config["terway:typha"]["image"] = "registry-vpc.cn-beijing.aliyuncs.com/acs/typha:v3.24.5"
    policy_config = tmp_path / "policy-config.json"
    policy_config.write_text(json.dumps({"typha-image-region": "mandatory"}))
    stack = str(write_stack(tmp_path, config))
    result = plan("--stack-config", stack, "--project-dir", str(ROOT), "--policy-config", str(policy_config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[mandatory] typha-image-region:" in result.stdout and "cn-beijing" in result.stdout
    advisory = plan("--stack-config", stack, "--project-dir", str(ROOT))
    assert advisory.returncode == 0 and "[advisory] typha-image-region:" in advisory.stdout


def test_direct_mode_at_scale_is_warned_in_the_plan(tmp_path):
    config = prod_config()
    config["terway:networkPolicy"] = "direct"
    result = plan("--stack-config", str(write_stack(tmp_path, config)), "--project-dir", str(ROOT), "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert any("direct" in w and "1200" in w for w in document["warnings"]), document["warnings"]
    assert "network-policy-direct-at-scale" in {v["policy"] for v in document["violations"]}


# --- the Markdown form: the same model as the table and JSON ------------------------------------------------


def markdown_tokens(text: str):
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").parse(text)


def headings(tokens) -> list[str]:
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]


def table_rows(tokens, after_heading: str) -> list[list[str]]:
    """Rows of the first table after the heading that starts with `after_heading`, as the rendered text."""
    start = next(i for i, t in enumerate(tokens) if t.type == "inline" and t.content.startswith(after_heading))
    rows, row = [], None
    for token in tokens[start:]:
        if token.type == "tbody_open":
            rows = []
        if token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append("".join(c.content for c in token.children))
        elif token.type == "tr_close":
            rows.append(row)
            row = None
        elif token.type == "table_close":
            return rows
    raise AssertionError(f"no table after {after_heading}")


@pytest.fixture(scope="module")
def prod_markdown() -> str:
    result = plan("--stack", "prod", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_markdown_has_one_section_per_part_of_the_plan(prod_markdown):
    tokens = markdown_tokens(prod_markdown)
    assert headings(tokens) == [
        "Offline plan: stack `prod`",
        "Resources to declare (18)",
        "Typha sizing and pod IP capacity",
        "Pod IP capacity per zone",
        "kube-system/eni-config",
        "Warnings (0)",
        "Live checks not run offline (pulumi preview runs them before any write)",
        "Policy violations (0)",
        "Stack outputs",
    ]
    assert "No mandatory policy violation." in prod_markdown


def test_markdown_capacity_is_the_json_capacity(prod_markdown, prod_json):
    rows = table_rows(markdown_tokens(prod_markdown), "Pod IP capacity per zone")
    assert [row[0] for row in rows] == list(prod_json["capacity"]) == ["cn-shanghai-f", "cn-shanghai-g"]
    added = CapacitySection.COLUMNS.index("ADDED")
    assert [row[added] for row in rows] == [str(z["addedIps"]) for z in prod_json["capacity"].values()] == ["8188", "8188"]
    for zone, figures in prod_json["capacity"].items():
        for note in figures["unknown"]:
            assert f"- `{zone}`: not computed: " in prod_markdown and note.split(" (")[0] in prod_markdown


def test_markdown_resources_and_outputs_are_the_json_ones(prod_markdown, prod_json):
    tokens = markdown_tokens(prod_markdown)
    resources = table_rows(tokens, "Resources to declare")
    assert [(r[0], r[1]) for r in resources] == [(r["type"], r["name"]) for r in prod_json["resources"]]
    outputs = table_rows(tokens, "Stack outputs")
    assert {name: json.loads(value) for name, value in outputs} == prod_json["outputs"]


def test_markdown_shows_typha_sizing_and_the_eni_config_change_as_a_diff(prod_markdown, prod_json):
    tokens = markdown_tokens(prod_markdown)
    assert "- Typha: 6 replicas (computed; minimum 6" in prod_markdown
    assert "- New pod vSwitch `cn-shanghai-f`: `10.0.32.0/19`, 8188 usable pod IPs" in prod_markdown
    [diff] = [t for t in tokens if t.type == "fence"]
    assert diff.info == "diff"
    assert diff.content.splitlines() == prod_json["eniConfig"]["eniConfDiff"]
    assert any(line.startswith("+") and '"vsw-plan' in line for line in diff.content.splitlines())
    keys = table_rows(tokens, "kube-system/eni-config")
    assert ["felix_relay_service", "(absent)", '"calico-typha"', "changes"] in keys


def test_markdown_shows_warnings_and_a_mandatory_violation_and_exits_1(tmp_path):
    config = prod_config()
    config["terway:networkPolicy"] = "direct"
    config["terway:typha"]["image"] = "registry-vpc.cn-beijing.aliyuncs.com/acs/typha:v3.24.5"
    policy_config = tmp_path / "policy-config.json"
    policy_config.write_text(json.dumps({"network-policy-direct-at-scale": "mandatory"}))
    stack = str(write_stack(tmp_path, config))
    result = plan("--stack-config", stack, "--project-dir", str(ROOT), "--policy-config", str(policy_config), "--format", "markdown")
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "**1 mandatory policy violation(s): this plan fails.**" in out
    assert "- **mandatory** `network-policy-direct-at-scale`:" in out
    assert "### Warnings (1)" in out and "1200" in out
    assert "Network policy mode `direct`: no Typha" in out


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_table_json_and_markdown_render_the_same_warnings_and_resources(stack):
    forms = {f: plan("--stack", stack, "--format", f) for f in ("table", "json", "markdown")}
    assert {f: r.returncode for f, r in forms.items()} == {"table": 0, "json": 0, "markdown": 0}
    document = json.loads(forms["json"].stdout)
    for resource in document["resources"]:
        assert resource["name"] in forms["table"].stdout
        assert f"`{resource['name']}`" in forms["markdown"].stdout
    for line in document["eniConfig"]["eniConfDiff"]:
        assert line in forms["table"].stdout and line in forms["markdown"].stdout
    assert document["sizing"]["cluster"]["nodeCount"] == yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["terway:cluster"]["nodeCount"]


def test_typha_is_sized_from_the_nodes_of_the_nodes_file_and_the_policy_allows_the_live_cap(tmp_path):
    # prod says nodeCount 1200; the saved node list has 2 Linux nodes (and one ECI virtual node).
    node = {"metadata": {"name": "n", "labels": {"topology.kubernetes.io/zone": "cn-shanghai-f"}}}
    eci = {"metadata": {"name": "eci", "labels": {"type": "virtual-kubelet"}}}
    items = [{**node, "metadata": {**node["metadata"], "name": f"n{i}"}} for i in range(2)] + [eci]
    nodes = tmp_path / "nodes.json"
    nodes.write_text(json.dumps({"kind": "List", "items": items}))
    result = plan("--stack", "prod", "--format", "json", "--nodes", str(nodes))
    document = json.loads(result.stdout)
    assert result.returncode == 0, (document["violations"], result.stderr)
    assert document["outputs"]["typhaReplicas"] == 1  # one of the 2 live nodes kept free for a rollout
    deployment = by_type(document, "kubernetes:apps/v1:Deployment")[0]
    assert deployment["inputs"]["metadata"]["annotations"]["terway-stack/live-linux-nodes"] == "2"
    table = plan("--stack", "prod", "--nodes", str(nodes)).stdout
    assert "terway:cluster.nodeCount is 1200 but the cluster has 2 Linux nodes" in table, table
