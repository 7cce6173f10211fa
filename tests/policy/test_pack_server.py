"""The pack as the engine meets it: `python -m pulumi.policy` serving policy/ over gRPC.

This is what `pulumi preview --policy-pack policy/` starts (via pulumi-analyzer-policy-python); here the
test plays the engine: stack config in PULUMI_CONFIG, then GetAnalyzerInfo, Configure, Analyze and
AnalyzeStack requests with protobuf properties.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as pb
from pulumi.runtime.proto import analyzer_pb2_grpc as rpc

from terway_stack.policies import RULES, PlanResource

from . import stacks as s

REPO = Path(__file__).resolve().parents[2]
STACK_CONFIG = {
    "terway:cluster": json.dumps({"name": "prod", "kubernetesVersion": "1.30", "nodeCount": 1200}),
    "terway:podVSwitches": json.dumps({"vpcId": "vpc-a", "zones": {}, "snat": {"natGatewayId": "ngw-a", "snatIps": ["47.100.1.2"]}}),
    "alicloud:region": "cn-shanghai",
}


@pytest.fixture(scope="module")
def analyzer():
    env = {**os.environ, "PULUMI_CONFIG": json.dumps(STACK_CONFIG)}
    # The engine address is unused until the pack logs; the pack prints the port it serves on.
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=REPO / "policy", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = server.stdout.readline().strip()
        assert port.isdigit(), server.stderr.read()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield rpc.AnalyzerStub(channel)
        channel.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def _struct(value) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def _analyze_request(resource: PlanResource) -> pb.AnalyzeRequest:
    return pb.AnalyzeRequest(
        type=resource.type, name=resource.name, urn=s.urn(resource), properties=_struct(resource.props),
        options=pb.AnalyzerResourceOptions(),
    )


def _stack_request(resources: list[PlanResource]) -> pb.AnalyzeStackRequest:
    urns = {r.name: s.urn(r) for r in resources}
    return pb.AnalyzeStackRequest(resources=[
        pb.AnalyzerResource(
            type=r.type, name=r.name, urn=s.urn(r), properties=_struct(r.props), options=pb.AnalyzerResourceOptions(),
            dependencies=[urns[n] for names in r.property_dependencies.values() for n in names],
            propertyDependencies={
                prop: pb.AnalyzerPropertyDependencies(urns=[urns[n] for n in names])
                for prop, names in r.property_dependencies.items()
            },
        )
        for r in resources
    ])


def test_the_pack_describes_every_policy(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "terway-stack" and info.supportsConfig
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels == {r.name: pb.ADVISORY if r.enforcement == "advisory" else pb.MANDATORY for r in RULES}
    schema = next(p for p in info.policies if p.name == "network-policy-direct-at-scale").configSchema
    assert schema.properties["directModeNodeLimit"]["default"] == 100


def test_compliant_stack_passes_resource_and_stack_analysis(analyzer):
    stack = s.compliant_stack()
    for resource in stack:
        response = analyzer.Analyze(_analyze_request(resource))
        assert list(response.diagnostics) == [], resource.name
    assert list(analyzer.AnalyzeStack(_stack_request(stack)).diagnostics) == []


def test_retain_on_delete_is_reported_not_applicable(analyzer):
    patch = next(r for r in s.compliant_stack() if r.name == s.ENI_CONF_PATCH)
    response = analyzer.Analyze(_analyze_request(patch))
    assert [(n.policy_name, "retainOnDelete" in n.reason) for n in response.not_applicable] == [("eni-conf-retained", True)]


def test_mandatory_violation_names_policy_and_resource(analyzer):
    deployment = s.typha_deployment(replicas=3)
    [diagnostic] = analyzer.Analyze(_analyze_request(deployment)).diagnostics
    assert diagnostic.policyName == "typha-replicas"
    assert diagnostic.enforcementLevel == pb.MANDATORY
    assert "minimum 6 for 1200 nodes" in diagnostic.message  # 1200 came from the stack's PULUMI_CONFIG


def test_stack_violation_points_at_the_resource(analyzer):
    stack = s.without("snat-cn-shanghai-g")(s.compliant_stack())
    [diagnostic] = analyzer.AnalyzeStack(_stack_request(stack)).diagnostics
    assert diagnostic.policyName == "pod-vswitch-snat"
    assert diagnostic.urn.endswith("::" + s.SWITCH_G)  # SNAT is required: terway:podVSwitches.snat is set


def test_policy_config_reaches_the_rules(analyzer):
    direct = s.setting(s.POLICY_PATCH, ("data",), {"disable_network_policy": "false"})(s.compliant_stack())
    analyzer.Configure(pb.ConfigureAnalyzerRequest(policyConfig={
        "network-policy-direct-at-scale": pb.PolicyConfig(
            enforcementLevel=pb.MANDATORY, properties=_struct({"directModeNodeLimit": 1000})
        ),
    }))
    try:
        [diagnostic] = analyzer.AnalyzeStack(_stack_request(direct)).diagnostics
        assert diagnostic.enforcementLevel == pb.MANDATORY
        assert "above 1000" in diagnostic.message
    finally:
        analyzer.Configure(pb.ConfigureAnalyzerRequest(policyConfig={}))
