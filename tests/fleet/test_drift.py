import json

from terway_stack.fleet.drift import step_changes, step_keys
from terway_stack.fleet.paths import changed_paths

URN = "urn:pulumi:prod::terway::terway:index:EniConfigOwnership$pulumi-python:dynamic/terway_stack:EniConfWriter::eni-config-eni-conf"


def test_changed_paths_look_inside_json_strings_and_never_return_values():
    old = {"data": {"eni_conf": json.dumps({"vswitches": {"cn-shanghai-f": ["vsw-a"]}, "max_pool_size": 5})}}
    new = {"data": {"eni_conf": json.dumps({"vswitches": {"cn-shanghai-f": ["vsw-a", "vsw-new"]}, "max_pool_size": 5})}}
    assert changed_paths(old, new) == ["data.eni_conf.vswitches.cn-shanghai-f"]
    assert changed_paths({"a": [1, 2]}, {"a": [1, 3]}) == ["a.1"]
    assert changed_paths({"a": 1}, {"b": 1}) == ["a", "b"]
    assert changed_paths({"token": "s3cr3t"}, {"token": "other"}) == ["token"]
    assert changed_paths("x", "x") == []


def test_a_hand_edit_of_eni_conf_is_named_down_to_the_zone():
    live = json.dumps({"vswitches": {"cn-shanghai-f": ["vsw-a"]}, "max_pool_size": 25})
    planned = json.dumps({"vswitches": {"cn-shanghai-f": ["vsw-a", "vsw-e2enewf"]}, "max_pool_size": 25})
    step = {"op": "update", "urn": URN, "type": "pulumi-python:dynamic/terway_stack:EniConfWriter", "diffs": ["data"],
            "old": {"inputs": {"data": {"eni_conf": planned}}, "outputs": {"data": {"eni_conf": live}}},
            "new": {"inputs": {"data": {"eni_conf": planned}}, "outputs": {}}}
    assert step_keys(step) == ("data.eni_conf.vswitches.cn-shanghai-f",)
    [change] = step_changes([step])
    assert (change.op, change.name) == ("update", "eni-config-eni-conf")


def test_same_and_refresh_steps_are_quiet_and_a_replacement_is_one_line():
    steps = [
        {"op": "refresh", "urn": URN, "type": "t"},
        {"op": "same", "urn": "urn:pulumi:p::terway::kubernetes:core/v1:Service::calico-typha-service", "type": "t"},
        {"op": "create-replacement", "urn": "urn:a::x", "type": "k", "diffs": ["metadata.name"]},
        {"op": "replace", "urn": "urn:a::x", "type": "k"},
        {"op": "delete-replaced", "urn": "urn:a::x", "type": "k"},
        {"op": "create", "urn": "urn:pulumi:p::terway::kubernetes:apps/v1:Deployment::calico-typha-deployment",
         "type": "kubernetes:apps/v1:Deployment"},
        {"op": "create", "urn": "urn:pulumi:p::terway::pulumi:pulumi:Stack::terway-p", "type": "pulumi:pulumi:Stack"},
    ]
    assert [c.describe() for c in step_changes(steps)] == [
        "replace k x (metadata.name)",
        "create kubernetes:apps/v1:Deployment calico-typha-deployment",
        "create pulumi:pulumi:Stack terway-p",  # a stack never deployed is not converged
    ]


def test_detailed_diff_keys_win_and_unrefinable_keys_stay():
    step = {"op": "update", "urn": "urn:a::typha", "type": "kubernetes:apps/v1:Deployment",
            "detailedDiff": {"spec.replicas": {"kind": "update"}}, "diffs": ["spec"],
            "old": {"inputs": {"spec": {"replicas": 5, "selector": {}}}, "outputs": {}},
            "new": {"inputs": {"spec": {"replicas": 3, "selector": {}}}}}
    assert step_keys(step) == ("spec.replicas",)
    bare = {"op": "update", "urn": "urn:a::x", "type": "t", "diffs": ["felix_relay_service"]}
    assert step_keys(bare) == ("felix_relay_service",)


def test_without_keys_from_the_provider_the_goal_inputs_are_compared():
    step = {"op": "update", "urn": "urn:a::eni-config-policy-keys", "type": "t", "diffs": [],
            "old": {"inputs": {"data": {"felix_relay_service": "calico-typha"}, "observed": {"x": 1}},
                    "outputs": {"data": {"disable_network_policy": "false"}}},
            "new": {"inputs": {"data": {"felix_relay_service": "calico-typha", "disable_network_policy": "false"},
                               "observed": {"x": 2}, "__provider": "blob"}}}
    assert step_keys(step) == ("data.felix_relay_service",)
