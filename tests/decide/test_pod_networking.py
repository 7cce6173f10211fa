"""PodNetworkings that would not see a new pod vSwitch (decide/pod_networking.py)."""
from __future__ import annotations

from terway_stack.decide import pod_networking as pn

LISTED = {"cn-shanghai-f": ["vsw-f1"], "cn-shanghai-g": ["vsw-g1"]}


def pod_networking(name, options, status_zones=None):
    obj = {"metadata": {"name": name}, "spec": {"vSwitchOptions": options}}
    if status_zones:
        obj["status"] = {"vSwitches": [{"id": i, "zone": z} for i, z in status_zones.items()]}
    return obj


def test_a_pod_networking_covering_an_extended_zone_without_the_new_id_is_stale():
    items = [
        pod_networking("web", ["vsw-f1", "vsw-g1"]),  # created from eni-config: every zone
        pod_networking("batch", ["vsw-g1"]),  # another zone only
        pod_networking("done", ["vsw-f1", "vsw-fnew"]),  # already has it
        pod_networking("own", ["vsw-x9"], status_zones={"vsw-x9": "cn-shanghai-f"}),  # zone from its status
    ]
    stale = pn.stale_pod_networkings(items, pn.zone_of_ids(LISTED), {"cn-shanghai-f": ["vsw-fnew"]})
    assert stale == [pn.StalePodNetworking("own", "cn-shanghai-f", ("vsw-fnew",)),
                     pn.StalePodNetworking("web", "cn-shanghai-f", ("vsw-fnew",))]
    assert "terway:x" in pn.stale_warning(stale[0], "terway:x") and "spec.vSwitchOptions lacks vsw-fnew" in pn.stale_warning(stale[0], "k")


def test_options_after_keeps_existing_ids_first_and_adds_each_once():
    assert pn.options_after(["vsw-a", "vsw-b"], ["vsw-c", "vsw-a", "vsw-c"]) == ["vsw-a", "vsw-b", "vsw-c"]

