"""Pulumi's mock runtime, answering the way an ACK cluster and Alibaba Cloud would, offline.

Used by the offline plan and the mock-runtime unit tests alike. Every registered resource is
recorded with the engine's camelCase inputs and the resource options the program asked for.
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import pulumi
from pulumi.runtime.mocks import MockMonitor

from ..decide.facts import ENI_CONFIG
from ..decide.strict_json import read_document

SAMPLE_ENI_CONFIG = Path(__file__).with_name("sample_eni_config.yaml")
PROJECT = "terway"

# Placeholder id prefixes, by resource type, as the cloud would shape them.
_ID_PREFIX = {
    "alicloud:vpc/switch:Switch": "vsw",
    "alicloud:vpc/snatEntry:SnatEntry": "snat",
}


def placeholder_id(type_: str, name: str) -> str:
    """Deterministic id for a resource that does not exist yet."""
    digest = hashlib.sha256(f"{type_}::{name}".encode()).hexdigest()[:12]
    return f"{_ID_PREFIX.get(type_, 'id')}-plan{digest}"


def load_configmap(path: Path) -> dict[str, Any]:
    """A ConfigMap saved with `kubectl get cm ... -o yaml` (or -o json; JSON is YAML)."""
    document = read_document(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("kind") not in (None, "ConfigMap"):
        raise ValueError(f"{path} is not a ConfigMap")
    return document


@dataclass
class RecordedResource:
    type: str
    name: str
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    id: Optional[str] = None
    read: bool = False  # a `.get()` of an existing object, not something the stack declares


def whole_numbers(value: Any) -> Any:
    """The engine carries every number as a double; show 6 replicas as 6, not 6.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


class ClusterAndCloudMocks(pulumi.runtime.Mocks):
    """Answers reads of the live cluster from a saved ConfigMap and cloud look-ups with placeholders."""

    def __init__(
        self,
        eni_config: Optional[Mapping[str, Any]] = None,
        live_objects: Optional[Mapping[str, Any]] = None,
        cloud_answers: Optional[Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]]] = None,
    ):
        # token -> answer; defaults answer like an unreadable cloud (offline), tests may say more.
        self.cloud_answers = {**_CLOUD_ANSWERS, **(cloud_answers or {})}
        self.eni_config = copy.deepcopy(dict(eni_config)) if eni_config else load_configmap(SAMPLE_ENI_CONFIG)
        # "namespace/name" -> object, for other `.get()` reads (e.g. a DaemonSet).
        self.live_objects = dict(live_objects or {})
        self.resources: list[RecordedResource] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        # (type, name) -> options, filled by OptionRecordingMonitor; mocks never see resource options.
        self.pending_options: dict[tuple[str, str], dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.resource_id:
            state = self._read(args.typ, args.resource_id)
            self.resources.append(
                RecordedResource(args.typ, args.name, whole_numbers(dict(args.inputs)), id=args.resource_id, read=True)
            )
            return args.resource_id, state
        resource_id = placeholder_id(args.typ, args.name)
        self.resources.append(RecordedResource(args.typ, args.name, whole_numbers(dict(args.inputs)), id=resource_id))
        return resource_id, dict(args.inputs)

    def _read(self, typ: str, resource_id: str) -> dict[str, Any]:
        if typ == "kubernetes:core/v1:ConfigMap" and resource_id == ENI_CONFIG:
            return copy.deepcopy(self.eni_config)
        if resource_id in self.live_objects:
            return copy.deepcopy(self.live_objects[resource_id])
        return {}

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append((args.token, dict(args.args)))
        answer = self.cloud_answers.get(args.token)
        return answer(dict(args.args)) if answer else {}

    def declared(self) -> list[RecordedResource]:
        return [r for r in self.resources if not r.read]


# Offline, the cloud is not readable: placeholder answers leave what only the cloud knows empty
# ("" or absent), and the program skips a check or names a figure as unknown instead of guessing.


def _nat_gateways(args: dict[str, Any]) -> dict[str, Any]:
    ids = args.get("ids") or []
    if not ids:  # a VPC-wide listing: one entry with an empty id stands for "unknown gateways"
        return {"ids": [], "gateways": [{"id": "", "vpcId": "", "snatTableIds": []}]}
    return {
        "ids": ids,
        "gateways": [
            {"id": i, "natGatewayId": i, "vpcId": "", "snatTableIds": [f"stb-plan{hashlib.sha256(i.encode()).hexdigest()[:12]}"]}
            for i in ids
        ],
    }


def _networks(args: dict[str, Any]) -> dict[str, Any]:
    # The VPC's CIDR is unknown offline: an empty cidrBlock tells the program to skip cloud checks.
    ids = args.get("ids") or []
    return {"ids": ids, "vpcs": [{"id": i, "vpcId": i, "cidrBlock": ""} for i in ids]}


def switches_answer(known: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """getSwitches: by id, each vSwitch as `known` describes it (zoneId, availableIpAddressCount), else
    unknown (empty zone, no count); a VPC-wide listing is empty (nothing known to overlap)."""
    known = known or {}

    def answer(args: dict[str, Any]) -> dict[str, Any]:
        ids = args.get("ids") or []
        switches = [{"id": i, "vswitchId": i, "zoneId": "", "vpcId": "", **dict(known.get(i) or {})} for i in ids]
        return {"ids": ids, "vswitches": switches}

    return answer


def eip_addresses_answer(known: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """getEipAddresses as the real data source (terraform-provider-alicloud v1.285.0) answers it.

    `ipAddress` is the API's EipAddress filter. `ipAddresses` is matched against each EIP's
    allocationId, never its address, so a list of IPs finds nothing: the mock refuses it the same way.
    An address in `known` answers with those fields (instanceId, instanceType, status); any other
    exists with an unknown binding (empty status), so the offline plan skips the binding check.
    """
    known = known or {}

    def row(ip: str) -> dict[str, Any]:
        allocation = f"eip-plan{hashlib.sha256(ip.encode()).hexdigest()[:12]}"
        return {"ipAddress": ip, "allocationId": allocation, "id": allocation, "instanceId": "", "status": "",
                **dict(known.get(ip) or {})}

    def answer(args: dict[str, Any]) -> dict[str, Any]:
        ip = args.get("ipAddress")
        rows = [row(ip)] if ip and (not known or ip in known) else []
        by_allocation = set(args.get("ipAddresses") or [])
        if by_allocation:
            rows = [r for r in rows if r["allocationId"] in by_allocation]
        return {"addresses": rows, "ids": [r["id"] for r in rows]}

    return answer


def instance_types_answer(known: Optional[Mapping[str, Mapping[str, Any]]] = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """getInstanceTypes as the real data source answers it: every type it knows, whatever `instanceType`
    says (DescribeInstanceTypes has no such filter). Offline nothing is known: ENI quotas are unknown."""
    rows = [{"id": kind, **dict(facts)} for kind, facts in (known or {}).items()]

    def answer(args: dict[str, Any]) -> dict[str, Any]:
        return {"ids": [r["id"] for r in rows], "instanceTypes": [dict(r) for r in rows]}

    return answer


_CLOUD_ANSWERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "alicloud:vpc/getNatGateways:getNatGateways": _nat_gateways,
    "alicloud:vpc/getNetworks:getNetworks": _networks,
    "alicloud:vpc/getSwitches:getSwitches": switches_answer(),
    "alicloud:ecs/getEipAddresses:getEipAddresses": eip_addresses_answer(),
    "alicloud:ecs/getInstanceTypes:getInstanceTypes": instance_types_answer(),
}


class WarningCollector(logging.Handler):
    """Collects the program's `pulumi.log.warn` messages, which the mock engine sends to logging."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.warnings: list[str] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(record.getMessage())


class OptionRecordingMonitor(MockMonitor):
    """The mock engine, noting the options each registration carries (mocks never see them)."""

    def __init__(self, mocks: ClusterAndCloudMocks):
        super().__init__(mocks)
        self._mocks = mocks

    def RegisterResource(self, request):
        self._mocks.pending_options[(request.type, request.name)] = {
            "retainOnDelete": bool(request.retainOnDelete),
            "protect": bool(request.protect),
            "deleteBeforeReplace": bool(request.deleteBeforeReplace),
            # URNs end in ::<name>; names are what a reviewer and the policies reason about.
            "dependsOn": sorted({urn.rsplit("::", 1)[-1] for urn in request.dependencies}),
            "ignoreChanges": list(request.ignoreChanges),
        }
        return super().RegisterResource(request)


# (type, text) of every error a run of this process failed with: its repeats are not reported.
_FAILED_RUN_ERRORS: set[tuple[type, str]] = set()


def _forget_repeats_of(error: BaseException) -> None:
    """Every output depending on a failed one holds the same error; the caller already has it.

    Without this, asyncio reports each of them as "exception was never retrieved" when they are
    garbage-collected, possibly long after the run, as pages of tracebacks. The loop's handler stays
    for as long as those futures live (each calls its own loop's handler when it is collected), so
    nothing needs collecting now; it passes on anything that is not a repeat of a failed run's error.
    """
    _FAILED_RUN_ERRORS.add((type(error), str(error)))
    loop = asyncio.get_event_loop()

    def handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        repeated = context.get("exception")
        if repeated is not None and (type(repeated), str(repeated)) in _FAILED_RUN_ERRORS:
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


@dataclass
class Evaluation:
    """What the program declared under the mock runtime."""

    resources: list[RecordedResource]
    outputs: dict[str, Any]
    warnings: list[str]


def evaluate(
    program: Callable[[], Mapping[str, Any]],
    config: Mapping[str, Any],
    stack: str = "plan",
    eni_config: Optional[Mapping[str, Any]] = None,
    live_objects: Optional[Mapping[str, Any]] = None,
    preview: bool = False,
    cloud_answers: Optional[Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]]] = None,
) -> Evaluation:
    """Run `program` (which returns its stack outputs) under mocks and resolve everything."""
    mocks = ClusterAndCloudMocks(eni_config, live_objects, cloud_answers)
    logger = logging.getLogger(f"terway_stack.plan.{stack}")
    logger.propagate = False
    collector = WarningCollector()
    logger.handlers = [collector]
    # A fresh root stack per run: transformations registered by one run (declare/secrets.py) must not
    # apply to the next one evaluated in the same process.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=preview, logger=logger, monitor=OptionRecordingMonitor(mocks)
    )
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def run():
        outputs = program()
        return pulumi.Output.all(**dict(outputs)).apply(resolved.update) if outputs else None

    try:
        run()
    except Exception as error:
        _forget_repeats_of(error)
        raise
    if collector.errors:
        raise RuntimeError("\n".join(collector.errors))
    for record in mocks.resources:
        record.options = mocks.pending_options.get((record.type, record.name), {})
    return Evaluation(mocks.declared(), resolved, collector.warnings)
