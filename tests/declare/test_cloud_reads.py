"""Cloud look-ups as the real pulumi-alicloud 3.105.0 provider needs them: argument names, the EIP
look-up by address, enable_details, and retries of throttled reads the provider does not retry."""
from __future__ import annotations

import pytest

from terway_stack.declare.cloud_reads import ATTEMPTS, api_error, read
from terway_stack.decide.problems import InputError
from terway_stack.plan import mocks

from .cloud_answers import EIPS, Cloud, declare
from .stacks import PODS_WITH_SNAT_TABLE, stack_config

# What the provider's error looks like when the API throttles (tea SDKError, as wrapped by the provider).
THROTTLED = (
    "invoke of alicloud:vpc/getSwitches:getSwitches failed: [ERROR] terraform-provider-alicloud/alicloud/"
    "data_source_alicloud_vswitches.go:225: Datasource alicloud_vswitches DescribeVSwitches Failed!!! "
    "[SDK alibaba-cloud-sdk-go ERROR]:\nSDKError:\n   StatusCode: 400\n   Code: Throttling.User\n"
    "   Message: code: 400, Request was denied due to user flow control. request id: 5D10\n   Data: {}"
)


def test_each_snat_ip_is_looked_up_by_address_without_details():
    cloud = Cloud()
    pods = {**PODS_WITH_SNAT_TABLE, "snat": {"snatTableId": "stb-t1", "snatIps": ["47.100.1.2", "47.100.1.3"]}}
    declare(stack_config(pods=pods), cloud)
    eip_calls = [args for token, args in cloud.calls if token == EIPS]
    assert [(a.get("ipAddress"), a.get("enableDetails"), "ipAddresses" in a) for a in eip_calls] == [
        ("47.100.1.2", False, False), ("47.100.1.3", False, False)]


def test_the_vpc_is_read_with_its_route_table_only_where_the_default_route_is_checked():
    # New vSwitches with SNAT: the default-route check needs the VPC's route table (DescribeRouteTableList).
    cloud = Cloud()
    declare(stack_config(pods=PODS_WITH_SNAT_TABLE), cloud)
    [networks] = [args for token, args in cloud.calls if token == "getNetworks"]
    assert networks == {"ids": ["vpc-a1"], "enableDetails": True}
    # Without SNAT nothing reads the route table: the look-up skips it.
    no_snat = {key: value for key, value in PODS_WITH_SNAT_TABLE.items() if key != "snat"}
    cloud = Cloud()
    declare(stack_config(pods=no_snat), cloud)
    [networks] = [args for token, args in cloud.calls if token == "getNetworks"]
    assert networks == {"ids": ["vpc-a1"], "enableDetails": False}


def test_the_eip_mock_refuses_a_list_of_addresses_as_the_real_data_source_does():
    answer = mocks.eip_addresses_answer({"47.100.1.2": {"instanceId": "ngw-g1", "status": "InUse"}})
    assert answer({"ipAddresses": ["47.100.1.2"]})["addresses"] == []
    [found] = answer({"ipAddress": "47.100.1.2"})["addresses"]
    assert (found["ipAddress"], found["instanceId"]) == ("47.100.1.2", "ngw-g1")
    assert answer({"ipAddress": "47.100.9.9"})["addresses"] == []


def test_a_throttled_read_is_retried_with_growing_waits():
    answers, waits = iter([Exception(THROTTLED), Exception(THROTTLED), ["vsw-1"]]), []

    def look_up():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert read("vSwitches", "terway:podVSwitches.vpcId", look_up, sleep=waits.append) == ["vsw-1"]
    assert waits == [1.0, 2.0]


def test_a_read_still_throttled_after_every_attempt_names_the_key_and_the_code():
    waits = []

    def look_up():
        raise Exception(THROTTLED)

    with pytest.raises(InputError) as caught:
        read("the VPC's vSwitches", "terway:podVSwitches.vpcId", look_up, sleep=waits.append)
    assert str(caught.value) == (
        f"terway:podVSwitches.vpcId: cannot read the VPC's vSwitches from Alibaba Cloud (after {ATTEMPTS} attempts): "
        "Throttling.User: Request was denied due to user flow control.")
    assert len(waits) == ATTEMPTS - 1


def test_any_other_failed_read_is_one_line_at_once():
    def look_up():
        raise Exception(THROTTLED.replace("Throttling.User", "Forbidden.RAM"))

    with pytest.raises(InputError) as caught:
        read("the VPC", "terway:podVSwitches.vpcId", look_up, sleep=pytest.fail)
    assert str(caught.value).endswith("from Alibaba Cloud: Forbidden.RAM: Request was denied due to user flow control.")


def test_api_error_falls_back_to_the_last_line():
    assert api_error("invoke failed\nconnection refused\n") == "connection refused"
