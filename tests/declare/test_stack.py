"""The whole program under Pulumi's mock runtime: what each configuration declares, input by input."""
from __future__ import annotations

import copy
import json

import pulumi
import pytest

from terway_stack.plan.mocks import SAMPLE_ENI_CONFIG, load_configmap
from terway_stack.plan.stack_files import OFFLINE_KUBECONFIG
from terway_stack.program import run

from .stacks import ENI_CONF_WRITER, PODS_WITH_SNAT_TABLE, POLICY_WRITER, SNAT, SWITCH, declare, stack_config


def readable_cloud(vpc_cidr: str = "10.0.0.0/8", switches: tuple = ()) -> dict:
    """Cloud answers as a preview with credentials gets them: the VPC and its vSwitches."""
    return {
        "alicloud:vpc/getNetworks:getNetworks": lambda args: {
            "ids": args["ids"], "vpcs": [{"id": i, "vpcId": i, "cidrBlock": vpc_cidr} for i in args["ids"] if vpc_cidr]
        },
        "alicloud:vpc/getSwitches:getSwitches": lambda args: {
            "ids": [s["id"] for s in switches], "vswitches": [dict(s) for s in switches]
        },
    }


def of_type(evaluation, type_: str):
    return [r for r in evaluation.resources if r.type == type_]


def patches(evaluation) -> dict[str, object]:
    """The eni-config writers by name (they replaced the ConfigMapPatch resources)."""
    return {r.name: r for r in [*of_type(evaluation, ENI_CONF_WRITER), *of_type(evaluation, POLICY_WRITER)]}


def test_created_zone_gets_a_vswitch_and_snat_entry_adopted_zone_gets_neither():
    evaluation = declare(stack_config(pods=PODS_WITH_SNAT_TABLE))
    [switch] = of_type(evaluation, SWITCH)
    assert switch.name == "prod-pods-cn-shanghai-f"
    assert switch.inputs == {
        "vpcId": "vpc-a1",
        "zoneId": "cn-shanghai-f",
        "cidrBlock": "10.0.32.0/19",
        "vswitchName": "prod-terway-pods-cn-shanghai-f",
        "description": "Terway pod vSwitch for ACK cluster prod, managed by terway-stack",
        "tags": {"managed-by": "terway-stack", "terway-stack/cluster": "prod"},
    }
    [snat] = of_type(evaluation, SNAT)
    assert snat.inputs == {
        "snatTableId": "stb-t1",
        "sourceVswitchId": switch.id,
        "snatIp": "47.100.1.2",
        "snatEntryName": "prod-terway-pods-cn-shanghai-f",
    }
    # Kept on destroy like eni_conf, which still lists the vSwitch; pods hold ENIs in it.
    assert switch.options["retainOnDelete"] is True and snat.options["retainOnDelete"] is True
    assert evaluation.outputs["podVSwitchIds"] == {"cn-shanghai-f": switch.id, "cn-shanghai-g": "vsw-adopted1"}
    assert evaluation.outputs["podVSwitchCidrs"] == {"cn-shanghai-f": "10.0.32.0/19"}
    assert evaluation.outputs["podVSwitchUsableIps"] == {"cn-shanghai-f": 8188}


def test_snat_table_is_looked_up_from_the_nat_gateway():
    pods = copy.deepcopy(PODS_WITH_SNAT_TABLE)
    pods["snat"] = {"natGatewayId": "ngw-g1", "snatIps": ["47.100.1.2", "47.100.1.3"]}
    [snat] = of_type(declare(stack_config(pods=pods)), SNAT)
    assert snat.inputs["snatTableId"].startswith("stb-plan")
    assert snat.inputs["snatIp"] == "47.100.1.2,47.100.1.3"


def test_no_snat_configured_means_no_snat_entry_and_user_tags_are_kept():
    pods = {"vpcId": "vpc-a1", "zones": {"cn-shanghai-f": {"cidr": "10.0.32.0/19"}}, "tags": {"team": "net"}}
    evaluation = declare(stack_config(pods=pods))
    assert of_type(evaluation, SNAT) == []
    assert of_type(evaluation, SWITCH)[0].inputs["tags"] == {"team": "net", "managed-by": "terway-stack", "terway-stack/cluster": "prod"}


def test_without_pod_vswitches_nothing_cloud_side_and_eni_conf_is_not_touched():
    evaluation = declare(stack_config(mode="direct"))
    assert [r for r in evaluation.resources if r.type.startswith("alicloud:")] == []
    assert set(patches(evaluation)) == {"eni-config-policy-keys"}
    assert evaluation.outputs["podVSwitchIds"] == {}


def live_with(**keys) -> dict:
    """The sample eni-config with its policy keys set as given (None: absent)."""
    configmap = load_configmap(SAMPLE_ENI_CONFIG)
    for key, value in keys.items():
        configmap["data"].pop(key, None)
        if value is not None:
            configmap["data"][key] = value
    return configmap


@pytest.mark.parametrize(
    "mode, live, data",
    [
        ("typha", {"disable_network_policy": "false"}, {"felix_relay_service": "calico-typha", "disable_network_policy": "false"}),
        # Absent already means policy on: typha and direct leave it absent.
        ("typha", {"disable_network_policy": None}, {"felix_relay_service": "calico-typha"}),
        ("direct", {"disable_network_policy": None}, {}),
        ("direct", {"disable_network_policy": "0"}, {"disable_network_policy": "0"}),
        # Policy off today: typha/direct turn it on (the preflight asks for a confirmation first).
        ("typha", {"disable_network_policy": "true"}, {"felix_relay_service": "calico-typha", "disable_network_policy": "false"}),
        ("disabled", {"disable_network_policy": None}, {"disable_network_policy": "true"}),
        # Away from typha the runbook's relay goes, whoever set it; another service's relay stays.
        ("direct", {"felix_relay_service": "calico-typha"}, {"disable_network_policy": "false"}),
        ("disabled", {"felix_relay_service": "calico-typha"}, {"disable_network_policy": "true"}),
        ("direct", {"felix_relay_service": "my-typha"}, {"felix_relay_service": "my-typha", "disable_network_policy": "false"}),
    ],
)
def test_policy_writer_plans_the_keys_as_they_will_be_after_the_run(mode, live, data):
    evaluation = declare(stack_config(mode=mode, pods=PODS_WITH_SNAT_TABLE), eni_config=live_with(**live))
    policy = patches(evaluation)["eni-config-policy-keys"]
    assert policy.inputs["kind"] == "terway-eni-config-writer" and policy.inputs["role"] == "policy-keys"
    assert (policy.inputs["namespace"], policy.inputs["configMap"]) == ("kube-system", "eni-config")
    assert policy.inputs["fieldManager"] == "terway-stack-policy-keys"
    assert policy.inputs["networkPolicyMode"] == mode
    assert policy.inputs.get("data", {}) == data
    seen = live_with(**live)["data"]
    assert policy.inputs["observed"] == {k: seen[k] for k in ("felix_relay_service", "disable_network_policy") if k in seen}
    assert policy.options["retainOnDelete"] is False
    assert evaluation.outputs["networkPolicyMode"] == mode


def test_eni_conf_writer_owns_only_eni_conf_is_retained_and_merges_into_the_live_value():
    evaluation = declare(stack_config(pods=PODS_WITH_SNAT_TABLE))
    vswitches = patches(evaluation)["eni-config-eni-conf"]
    assert set(vswitches.inputs["data"]) == {"eni_conf"}
    assert vswitches.inputs["fieldManager"] == "terway-stack-eni-conf"
    assert vswitches.options["retainOnDelete"] is True
    live = json.loads(load_configmap(SAMPLE_ENI_CONFIG)["data"]["eni_conf"])
    merged = json.loads(vswitches.inputs["data"]["eni_conf"])
    new_id = evaluation.outputs["podVSwitchIds"]["cn-shanghai-f"]
    assert vswitches.inputs["wantedVSwitches"] == {"cn-shanghai-f": [new_id], "cn-shanghai-g": ["vsw-adopted1"]}
    assert vswitches.inputs["observed"] == {"eni_conf": load_configmap(SAMPLE_ENI_CONFIG)["data"]["eni_conf"]}
    assert merged["vswitches"]["cn-shanghai-f"] == [*live["vswitches"]["cn-shanghai-f"], new_id]
    assert merged["vswitches"]["cn-shanghai-g"] == [*live["vswitches"]["cn-shanghai-g"], "vsw-adopted1"]
    assert {k: v for k, v in merged.items() if k != "vswitches"} == {k: v for k, v in live.items() if k != "vswitches"}


def test_the_two_writers_use_new_field_managers():
    """Not the ConfigMapPatch managers of earlier versions: on upgrade the engine deletes those patches
    after these writers applied, and a key these managers co-own survives that release."""
    writers = patches(declare(stack_config(pods=PODS_WITH_SNAT_TABLE)))
    managers = {w.inputs["fieldManager"] for w in writers.values()}
    assert managers == {"terway-stack-eni-conf", "terway-stack-policy-keys"}
    assert not managers & {"terway-stack-eni-config-vswitches", "terway-stack-eni-config-network-policy"}


def test_restarts_are_rolling_wait_for_the_patches_and_release_runs_before_typha_goes():
    evaluation = declare(stack_config(pods=PODS_WITH_SNAT_TABLE, **{"terway:terway": {"daemonSets": ["terway-eniip"], "restartTimeoutSeconds": 1200}}))
    restarts = {r.name: r for r in evaluation.resources if r.inputs.get("kind") == "terway-rollout-restart"}
    assert set(restarts) == {"terway-eniip-restart", "terway-eniip-restart-on-release"}
    change, release = restarts["terway-eniip-restart"], restarts["terway-eniip-restart-on-release"]
    assert change.inputs["restartMethod"] == release.inputs["restartMethod"] == "rollout-restart"
    assert (change.inputs["restartOn"], release.inputs["restartOn"]) == ("change", "release")
    assert change.inputs["daemonSet"] == "terway-eniip" and change.inputs["namespace"] == "kube-system"
    assert change.inputs["timeoutSeconds"] == 1200
    assert change.inputs["trigger"] == evaluation.outputs["eniConfigTrigger"]
    assert set(change.options["dependsOn"]) >= {"eni-config-policy-keys", "eni-config-eni-conf"}
    assert "calico-typha-deployment" in release.options["dependsOn"]
    assert set(patches(evaluation)["eni-config-policy-keys"].options["dependsOn"]) >= {
        "calico-typha-deployment",
        "terway-eniip-restart-on-release",
    }


def test_one_restart_pair_per_configured_daemonset():
    config = stack_config(mode="direct", **{"terway:terway": {"daemonSets": ["terway-eniip", "terway-eniip-spot"]}})
    names = sorted(r.name for r in declare(config).resources if r.inputs.get("kind") == "terway-rollout-restart")
    assert names == [
        "terway-eniip-restart", "terway-eniip-restart-on-release", "terway-eniip-spot-restart", "terway-eniip-spot-restart-on-release",
    ]


def test_trigger_is_stable_for_the_same_inputs_and_moves_with_the_mode():
    first = declare(stack_config(mode="typha")).outputs["eniConfigTrigger"]
    assert declare(stack_config(mode="typha")).outputs["eniConfigTrigger"] == first
    assert declare(stack_config(mode="disabled")).outputs["eniConfigTrigger"] != first


SECRET_SIG = "4dabf18193072939515e22adb298388d"  # the engine's marker for a secret value


def test_kubeconfig_reaches_provider_and_restarts_only_as_a_secret():
    evaluation = declare(stack_config(mode="direct"))
    [provider] = of_type(evaluation, "pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "value": OFFLINE_KUBECONFIG}
    assert provider.inputs["upsertExistingObjects"] in ("true", True)
    dynamic = [r for r in evaluation.resources if r.type.startswith("pulumi-python:dynamic")]
    assert dynamic and all(SECRET_SIG in r.inputs["kubeconfig"] for r in dynamic)


def test_the_kubernetes_provider_bounds_each_of_its_own_requests():
    # pulumi-kubernetes 4.32.0: kubeClientSettings.timeout -> rest.Config.Timeout, the http.Client timeout
    # of every request it makes (pkg/provider/provider.go 906-912, 971-974); unset there is none.
    from terway_stack.act.kube import CONNECT_TIMEOUT, PROVIDER_REQUEST_TIMEOUT_SECONDS, READ_TIMEOUT

    [provider] = of_type(declare(stack_config(mode="direct")), "pulumi:providers:kubernetes")
    settings = provider.inputs["kubeClientSettings"]
    settings = json.loads(settings) if isinstance(settings, str) else settings
    assert settings == {"timeout": PROVIDER_REQUEST_TIMEOUT_SECONDS}
    assert PROVIDER_REQUEST_TIMEOUT_SECONDS == int(CONNECT_TIMEOUT + READ_TIMEOUT) > 0


def test_malformed_live_eni_config_stops_before_any_write():
    broken = load_configmap(SAMPLE_ENI_CONFIG)
    broken["data"]["eni_conf"] = '{"vswitches": "vsw-a"}'
    with pytest.raises(pulumi.RunError, match=r"kube-system/eni-config:eni_conf.vswitches: must map each zone"):
        declare(stack_config(pods=PODS_WITH_SNAT_TABLE), eni_config=broken)


def test_malformed_live_eni_config_declares_nothing_that_writes():
    broken = load_configmap(SAMPLE_ENI_CONFIG)
    broken["data"]["eni_conf"] = "not json"
    config = stack_config(pods=PODS_WITH_SNAT_TABLE)
    from terway_stack.plan import mocks

    recorder = mocks.ClusterAndCloudMocks(broken)
    pulumi.runtime.set_mocks(recorder, project="terway", stack="gate", preview=False)
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    with pytest.raises(pulumi.RunError):
        pulumi.runtime.test(lambda: pulumi.Output.all(**run(config, environ={})))()
    writers = [r for r in recorder.declared() if not r.type.startswith(("terway:index:", "pulumi:providers:"))]
    assert writers == [] or {r.inputs.get("kind") for r in writers} <= {"terway-preflight"}


def test_ipvlan_is_left_to_the_preflight_which_refuses_it_and_exclusive_eni_still_warns():
    ipvlan = load_configmap(SAMPLE_ENI_CONFIG)
    ipvlan["data"]["10-terway.conf"] = json.dumps({"type": "terway", "eniip_virtual_type": "IPVlan"})
    evaluation = declare(stack_config(mode="typha"), eni_config=ipvlan)
    assert not any("eniip_virtual_type ipvlan" in w for w in evaluation.warnings)  # a refusal (decide/preflight.py)
    exclusive = declare(stack_config(mode="typha", **{"terway:terway": {"daemonSets": ["terway-eni"]}}))
    assert any("exclusive-ENI mode" in w for w in exclusive.warnings)


def test_preview_checks_new_cidrs_against_the_vpc_and_its_vswitches():
    ok = declare(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud=readable_cloud(
        "10.0.0.0/16", ({"id": "vsw-adopted1", "cidrBlock": "10.0.128.0/19", "zoneId": "cn-shanghai-g", "vswitchName": "pods-g"},)
    ))
    assert len(of_type(ok, SWITCH)) == 1
    with pytest.raises(pulumi.RunError, match=r"terway:podVSwitches.zones.cn-shanghai-f.cidr: 10.0.32.0/19 is outside the VPC's CIDR 10.1.0.0/16"):
        declare(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud=readable_cloud("10.1.0.0/16"))
    nodes = {"id": "vsw-nodes1", "cidrBlock": "10.0.32.0/20", "zoneId": "cn-shanghai-f", "vswitchName": "nodes-f"}
    with pytest.raises(pulumi.RunError, match=r"cn-shanghai-f.cidr: 10.0.32.0/19 overlaps existing vSwitch vsw-nodes1 \(nodes-f\)"):
        declare(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud=readable_cloud("10.0.0.0/16", (nodes,)))
    with pytest.raises(pulumi.RunError, match=r"terway:podVSwitches.vpcId: vpc-a1 does not exist in this region"):
        declare(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud=readable_cloud(""))


def test_restart_trigger_comes_from_what_the_writers_wrote_not_from_the_plan():
    """The provider merges at write time: when someone edited eni_conf after the plan was read, what it
    wrote differs from the plan, and the restart must follow what was written."""
    from terway_stack.decide.eni_config import EniConfigChange
    from terway_stack.plan import mocks

    written = '{"vswitches": {"cn-shanghai-f": ["vsw-console", "vsw-adopted1"]}, "max_pool_size": 25}'

    class WriterWroteSomethingElse(mocks.ClusterAndCloudMocks):
        def new_resource(self, args):
            resource_id, state = super().new_resource(args)
            if args.typ == ENI_CONF_WRITER:
                state = {**state, "data": {"eni_conf": written}}
            return resource_id, state

    config = stack_config(mode="typha", pods={"zones": {"cn-shanghai-f": {"vswitchId": "vsw-adopted1"}}})
    recorder = WriterWroteSomethingElse()
    pulumi.runtime.set_mocks(recorder, project="terway", stack="trigger", preview=False)
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    outputs = {}
    pulumi.runtime.test(lambda: pulumi.Output.all(**run(config, environ={})).apply(outputs.update))()
    [restart] = [r for r in recorder.declared() if r.name == "terway-eniip-restart"]
    [policy] = [r for r in recorder.declared() if r.type == POLICY_WRITER]
    expected = EniConfigChange(policy=policy.inputs["data"], eni_conf=written).trigger()
    assert restart.inputs["trigger"] == outputs["eniConfigTrigger"] == expected


def test_every_writer_waits_for_an_extra_gate():
    """The preflight's checks are wired in through `gates`: nothing writes before they passed."""
    from terway_stack.declare.cluster import connect
    from terway_stack.declare.config_source import load_settings
    from terway_stack.declare.eni_config import EniConfigOwnership, LiveEniConfig
    from terway_stack.plan import mocks

    config = stack_config(mode="typha", pods={"zones": {"cn-shanghai-f": {"vswitchId": "vsw-adopted1"}}})
    recorder = mocks.ClusterAndCloudMocks()
    pulumi.runtime.set_mocks(recorder, project="terway", stack="gate", preview=False,
                             monitor=mocks.OptionRecordingMonitor(recorder))
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})

    def program():
        settings = load_settings(config)
        cluster = connect(config, {})
        live = LiveEniConfig(settings, cluster, manages_vswitches=True)
        preflight = pulumi.CustomResource("test:index:Preflight", "preflight-gate", {})
        ownership = EniConfigOwnership("eni-config", settings, cluster, live,
                                       pulumi.Output.from_input({"cn-shanghai-f": "vsw-adopted1"}), gates=[preflight])
        return ownership.trigger

    pulumi.runtime.test(program)()
    options = recorder.pending_options
    writers = [name for (typ, name) in options if typ in (ENI_CONF_WRITER, POLICY_WRITER)]
    restarts = [name for (typ, name) in options if typ.endswith(":TerwayRollout")]
    assert sorted(writers) == ["eni-config-eni-conf", "eni-config-policy-keys"] and len(restarts) == 2
    for (typ, name), opts in options.items():
        if name in writers or name == "terway-eniip-restart-on-release":
            assert "preflight-gate" in opts["dependsOn"], name


@pytest.mark.parametrize("mode", ["typha", "disabled", "direct"])
@pytest.mark.parametrize("pods", [None, PODS_WITH_SNAT_TABLE], ids=["no-pods", "pods"])
def test_every_output_is_exported_with_its_contract_type(mode, pods):
    from terway_stack import outputs_contract

    outputs = declare(stack_config(mode=mode, pods=pods)).outputs
    assert list(outputs) == list(outputs_contract.NAMES)
    assert outputs_contract.problems(outputs) == []
    assert (outputs["typhaServiceName"] is None) == (mode != "typha")


def test_eni_config_lists_a_new_vswitch_only_after_its_snat_entry_exists():
    # Pods placed on the new vSwitch before its SNAT entry exists would have no internet egress.
    evaluation = declare(stack_config(pods=PODS_WITH_SNAT_TABLE))
    [snat] = of_type(evaluation, SNAT)
    [writer] = of_type(evaluation, ENI_CONF_WRITER)
    assert snat.name in writer.options["dependsOn"]
