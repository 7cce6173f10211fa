"""The eni-config writers (terway_stack/act/eni_config_writer.py) against a real kube-apiserver.

What is checked here, request by request in the audit log, rather than believed:
- a write carrying the resourceVersion of an older read is refused by the API server (server-side
  apply: 409 Conflict; JSON patch with a `test` op on it: 422), and nothing of it is stored;
- an edit made between the writer's read and its write is kept: the write is refused, the writer
  reads again, merges again and writes the merge (deterministic: the edit is made from the
  writer's own after-read hook, i.e. exactly between its GET and its PATCH);
- after MAX_ATTEMPTS refusals the writer stops, says nothing was written, and nothing was;
- felix_relay_service co-owned with `kubectl edit` survives a server-side-apply release (the bug of
  issue 10 §1) but is removed by the writer; a relay naming another service is never removed;
- disable_network_policy: absent stays absent, and delete restores the value from before the stack.

The providers are used as the engine uses them: through Pulumi's serializer first.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.admission_hook import EniConfigWriteHook, field_manager  # noqa: E402
from tests.engine_pickling import engine_copy  # noqa: E402
from terway_stack.act import configmap_writes as cw  # noqa: E402
from terway_stack.act import eni_config_writer as w  # noqa: E402
from terway_stack.decide import facts  # noqa: E402

NODES = 1  # the control plane (conftest) needs no more to write a ConfigMap
NS, CM = "kube-system", "eni-config"
OUR_AGENT = facts.ENI_CONFIG_WRITER_USER_AGENT.split("/")[0]
RELAY, DISABLE = "felix_relay_service", "disable_network_policy"


def live(cp) -> dict:
    return cp.core().read_namespaced_config_map(CM, NS).data or {}


def raw(cp) -> dict:
    return cp.api_client().sanitize_for_serialization(cp.core().read_namespaced_config_map(CM, NS))


def edit(cp, manager: str, **data) -> None:
    """Another writer's edit, as `kubectl edit` sends it (a merge patch: operation Update)."""
    cp.core().patch_namespaced_config_map(CM, NS, {"data": data}, field_manager=manager)


def remove_keys(cp, *keys: str) -> None:
    data = live(cp)
    ops = [{"op": "remove", "path": f"/data/{k}"} for k in keys if k in data]
    if ops:
        cp.core().patch_namespaced_config_map(CM, NS, ops, _content_type="application/json-patch+json")


def ours(cp, since: int, verbs=("patch",)) -> list[dict]:
    return cp.write_events(since, user_agent=OUR_AGENT, resource="configmaps", name=CM, verbs=list(verbs), ok_only=False)


def codes(events) -> list[int]:
    return [(ev.get("responseStatus") or {}).get("code") for ev in events]


def conf(cp) -> dict:
    return json.loads(live(cp)["eni_conf"])


# --------------------------------------------------------------------------- the precondition itself


def test_api_server_refuses_a_write_computed_from_an_older_read(cp, kubeconfig):
    with cw.client_for(kubeconfig) as client:
        stale = cw.read_configmap(client, NS, CM)
        edit(cp, "aliyun-console", in_cluster_loadbalance="false")
        since = cp.audit_offset()
        with pytest.raises(cw.Conflict):
            w.apply_keys(client, stale, {RELAY: "calico-typha"}, w.POLICY_MANAGER)
        with pytest.raises(cw.Conflict):
            cw.json_patch(client, stale, [{"op": "add", "path": "/data/felix_relay_service", "value": "calico-typha"}], w.POLICY_MANAGER)
        fresh = cw.read_configmap(client, NS, CM)
        w.apply_keys(client, fresh, {RELAY: "calico-typha"}, w.POLICY_MANAGER)
    assert codes(ours(cp, since)) == [409, 422, 200]
    assert live(cp)[RELAY] == "calico-typha" and live(cp)["in_cluster_loadbalance"] == "false"
    edit(cp, "aliyun-console", in_cluster_loadbalance="true")
    # Leave no ownership of ours behind for the tests below.
    remove_keys(cp, RELAY)


# --------------------------------------------------------------------------- eni_conf


def test_edit_between_read_and_write_is_merged_not_lost(cp, kubeconfig):
    before = conf(cp)
    injected = []

    def console_adds_a_vswitch(_cm):
        if injected:
            return
        changed = json.loads(live(cp)["eni_conf"])
        changed["vswitches"]["cn-shanghai-f"].append("vsw-console1")
        changed["max_pool_size"] = 25
        edit(cp, "aliyun-console", eni_conf=json.dumps(changed))
        injected.append(cp.audit_offset())

    since = cp.audit_offset()
    value, written = w.write_eni_conf(kubeconfig, NS, CM, {"cn-shanghai-f": ["vsw-ours1"]}, after_read=console_adds_a_vswitch)
    assert written
    after = conf(cp)
    assert json.loads(value) == after
    assert after["vswitches"]["cn-shanghai-f"] == [*before["vswitches"]["cn-shanghai-f"], "vsw-console1", "vsw-ours1"]
    assert after["max_pool_size"] == 25
    # Read, refused write (the console's edit came in between), read again, write.
    events = cp.audit_events(since)
    mine = [(ev["verb"], (ev.get("responseStatus") or {}).get("code")) for ev in events
            if (ev.get("userAgent") or "").startswith(OUR_AGENT) and (ev.get("objectRef") or {}).get("name") == CM]
    assert mine == [("get", 200), ("patch", 409), ("get", 200), ("patch", 200)]
    console = cp.write_events(since, field_manager="aliyun-console", resource="configmaps")
    assert len(console) == 1
    first_get, refused = [ev for ev in events if (ev.get("userAgent") or "").startswith(OUR_AGENT)][:2]
    assert first_get["stageTimestamp"] <= console[0]["requestReceivedTimestamp"]
    assert console[0]["stageTimestamp"] <= refused["requestReceivedTimestamp"]


def test_gives_up_after_bounded_attempts_having_written_nothing(cp, kubeconfig):
    before = live(cp)["eni_conf"]
    counter = iter(range(100))

    def busy_writer(_cm):
        edit(cp, "busy-addon", in_cluster_loadbalance=str(next(counter)))

    since = cp.audit_offset()
    with pytest.raises(w.EniConfigWriteError) as caught:
        w.write_eni_conf(kubeconfig, NS, CM, {"cn-shanghai-f": ["vsw-never"]}, after_read=busy_writer, sleep=lambda s: None)
    message = str(caught.value)
    assert f"changed {cw.MAX_ATTEMPTS} times" in message and "nothing was written" in message
    assert "run `pulumi up` again" in message
    assert codes(ours(cp, since)) == [409] * cw.MAX_ATTEMPTS
    assert live(cp)["eni_conf"] == before
    edit(cp, "busy-addon", in_cluster_loadbalance="true")


def test_unchanged_and_owned_eni_conf_is_not_written_again(cp, kubeconfig):
    w.write_eni_conf(kubeconfig, NS, CM, {"cn-shanghai-g": ["vsw-ours2"]})
    since = cp.audit_offset()
    value, written = w.write_eni_conf(kubeconfig, NS, CM, {"cn-shanghai-g": ["vsw-ours2"]})
    assert not written and value == live(cp)["eni_conf"]
    assert ours(cp, since) == []


# --------------------------------------------------------------------------- the relay key


def test_runbook_relay_co_owned_by_kubectl_survives_a_release_but_not_the_writer(cp, kubeconfig):
    remove_keys(cp, RELAY)
    edit(cp, "kubectl-edit", **{RELAY: "calico-typha"})  # runbook 002 step 4, by hand
    state = w.write_policy_keys(kubeconfig, NS, CM, "typha", w.PolicyState({}, [], False, None),
                                observed={RELAY: "calico-typha", DISABLE: "false"})
    assert state.held == [RELAY] and live(cp)[RELAY] == "calico-typha"
    managers = {e["manager"] for e in raw(cp)["metadata"]["managedFields"] if "f:felix_relay_service" in json.dumps(e)}
    assert managers == {"kubectl-edit", w.POLICY_MANAGER}

    # What ConfigMapPatch's delete does (a server-side apply without the key): the key stays.
    with cw.client_for(kubeconfig) as client:
        w.apply_keys(client, cw.read_configmap(client, NS, CM), {}, "terway-stack-eni-config-network-policy")
        w.apply_keys(client, cw.read_configmap(client, NS, CM), {}, w.POLICY_MANAGER)
    assert live(cp)[RELAY] == "calico-typha"

    # The writer, on a change away from typha: gone, whoever co-owned it.
    since = cp.audit_offset()
    state = w.write_policy_keys(kubeconfig, NS, CM, "direct", state, observed={RELAY: "calico-typha", DISABLE: "false"})
    assert RELAY not in live(cp) and RELAY not in state.after
    # A server-side apply that releases our share, then the JSON patch that removes the key.
    assert codes(ours(cp, since)) == [200, 200]


def test_a_relay_naming_another_service_is_never_removed(cp, kubeconfig):
    edit(cp, "kubectl-edit", **{RELAY: "my-own-typha"})
    previous = w.PolicyState({RELAY: "calico-typha"}, [RELAY], False, None)
    w.write_policy_keys(kubeconfig, NS, CM, "direct", previous, observed={RELAY: "my-own-typha", DISABLE: "false"})
    assert live(cp)[RELAY] == "my-own-typha"
    after = engine_copy(w.PolicyKeysWriterProvider()).delete(
        "id", {"namespace": NS, "configMap": CM, "kubeconfig": kubeconfig, "networkPolicyMode": "typha",
               "fieldManager": w.POLICY_MANAGER, "data": {RELAY: "calico-typha"}, "held": [RELAY]}
    )
    assert after is None and live(cp)[RELAY] == "my-own-typha"
    remove_keys(cp, RELAY)


def test_values_changed_since_the_run_read_them_are_not_written_over(cp, kubeconfig):
    edit(cp, "kubectl-edit", **{RELAY: "someone-elses"})
    since = cp.audit_offset()
    with pytest.raises(w.EniConfigWriteError) as caught:
        w.write_policy_keys(kubeconfig, NS, CM, "typha", w.PolicyState({}, [], False, None), observed={DISABLE: "false"})
    assert 'felix_relay_service changed from null to "someone-elses"' in str(caught.value)
    assert "nothing was written" in str(caught.value)
    assert ours(cp, since) == [] and live(cp)[RELAY] == "someone-elses"
    remove_keys(cp, RELAY)


# --------------------------------------------------------------------------- disable_network_policy


def policy_provider_lifecycle(cp, kubeconfig, mode: str) -> tuple[dict, dict]:
    """create then delete through the engine-serialized provider; the live policy keys after each."""
    provider = engine_copy(w.PolicyKeysWriterProvider())
    data = live(cp)
    props = {
        "kind": facts.ENI_CONFIG_WRITER_KIND, "role": facts.POLICY_KEYS_ROLE, "namespace": NS, "configMap": CM, "fieldManager": w.POLICY_MANAGER,
        "kubeconfig": kubeconfig, "networkPolicyMode": mode,
        "observed": {k: data[k] for k in (RELAY, DISABLE) if k in data},
    }
    created = provider.create(props)
    during = {k: v for k, v in live(cp).items() if k in (RELAY, DISABLE)}
    assert {k: v for k, v in created.outs["data"].items()} == during
    provider.delete(created.id, created.outs)
    return during, {k: v for k, v in live(cp).items() if k in (RELAY, DISABLE)}


def test_absent_disable_key_stays_absent_in_typha_mode_and_after_delete(cp, kubeconfig):
    remove_keys(cp, DISABLE, RELAY)
    during, after = policy_provider_lifecycle(cp, kubeconfig, "typha")
    assert during == {RELAY: "calico-typha"}
    assert after == {}


def test_disabled_mode_over_an_absent_key_is_undone_by_delete(cp, kubeconfig):
    remove_keys(cp, DISABLE, RELAY)
    during, after = policy_provider_lifecycle(cp, kubeconfig, "disabled")
    assert during == {DISABLE: "true"} and after == {}


def test_policy_turned_on_by_typha_is_turned_off_again_by_delete(cp, kubeconfig):
    remove_keys(cp, RELAY)
    edit(cp, "kubectl-edit", **{DISABLE: "true"})
    during, after = policy_provider_lifecycle(cp, kubeconfig, "typha")
    assert during == {RELAY: "calico-typha", DISABLE: "false"}
    assert after == {DISABLE: "true"}
    edit(cp, "kubectl-edit", **{DISABLE: "false"})


def test_keys_of_the_earlier_configmap_patch_survive_its_release_on_upgrade(cp, kubeconfig):
    """Upgrade: the old policy patch owned both keys alone; the engine deletes (releases) it after the
    new writer ran. The writer takes the keys over at once, so the release removes nothing."""
    remove_keys(cp, RELAY)
    with cw.client_for(kubeconfig) as client:
        w.apply_keys(client, cw.read_configmap(client, NS, CM), {RELAY: "calico-typha", DISABLE: "false"},
                     facts.LEGACY_POLICY_MANAGER)
    state = w.write_policy_keys(kubeconfig, NS, CM, "typha", w.PolicyState({}, [], False, None),
                                observed={RELAY: "calico-typha", DISABLE: "false"})
    assert state.held == [DISABLE, RELAY]
    with cw.client_for(kubeconfig) as client:
        w.apply_keys(client, cw.read_configmap(client, NS, CM), {}, facts.LEGACY_POLICY_MANAGER)
    assert {k: live(cp).get(k) for k in (RELAY, DISABLE)} == {RELAY: "calico-typha", DISABLE: "false"}
    remove_keys(cp, RELAY)


def test_delete_without_an_eni_config_succeeds_and_writes_nothing(cp, kubeconfig):
    since = cp.audit_offset()
    engine_copy(w.PolicyKeysWriterProvider()).delete(
        "id", {"namespace": NS, "configMap": "no-such-config", "kubeconfig": kubeconfig, "networkPolicyMode": "typha",
               "fieldManager": w.POLICY_MANAGER, "data": {RELAY: "calico-typha"}, "held": [RELAY]}
    )
    assert cp.write_events(since, user_agent=OUR_AGENT) == []


def test_a_conflict_after_our_own_first_request_is_retried_not_blamed_on_someone_else(cp, kubeconfig, tmp_path):
    """typha -> disabled takes two requests: apply disable_network_policy "true", then remove the relay.
    An edit of another key lands between them (through a webhook on the second request). The retry
    sees our own "true", which is not a change by someone else, and completes the removal."""
    remove_keys(cp, RELAY)
    # The runbook's relay, co-owned: the apply alone cannot remove it, the JSON patch must.
    edit(cp, "kubectl-edit", **{DISABLE: "false", RELAY: "calico-typha"})
    state = w.write_policy_keys(kubeconfig, NS, CM, "typha", w.PolicyState({}, [], False, None),
                                observed={DISABLE: "false", RELAY: "calico-typha"})
    ours_seen = []

    def on_write(request):
        if field_manager(request) == w.POLICY_MANAGER:
            ours_seen.append(request["uid"])
            if len(ours_seen) == 2:  # our JSON patch, after our apply went through
                edit(cp, "aliyun-console", in_cluster_loadbalance="false")

    since = cp.audit_offset()
    with EniConfigWriteHook(cp, tmp_path, on_write):
        after = w.write_policy_keys(kubeconfig, NS, CM, "disabled", state, observed={RELAY: "calico-typha", DISABLE: "false"})
    assert after.after == {DISABLE: "true"} and after.prior_disable == "false"
    assert {k: live(cp).get(k) for k in (RELAY, DISABLE)} == {RELAY: None, DISABLE: "true"}
    # apply 200, JSON patch refused, then (apply not needed again) JSON patch 200.
    assert codes(ours(cp, since)) == [200, 422, 200]
    edit(cp, "aliyun-console", in_cluster_loadbalance="true")
    edit(cp, "kubectl-edit", **{DISABLE: "false"})
