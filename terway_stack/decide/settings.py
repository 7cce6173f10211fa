"""The stack's configuration contract (namespace `terway`), as pydantic models.

Field-level rules live on the models; rules that compare several keys live in
`cross_field_problems`, so that every problem can still name its exact key path.
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Literal, Mapping, Optional

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from typing_extensions import Annotated

from .problems import InputError, Problem, key_path, problems_from_validation_error
from .sizing import TYPHA_MAX_REPLICAS, typha_replica_ceiling, typha_replicas

POD_VSWITCH_MIN_PREFIX = 16  # Alibaba Cloud's largest vSwitch
POD_VSWITCH_MAX_PREFIX = 19  # runbook: at least 8192 addresses per pod vSwitch
DEFAULT_TYPHA_VERSION = "v3.20.2"

NetworkPolicyMode = Literal["typha", "disabled", "direct"]


def decode_config_value(value: Any) -> Any:
    """The engine hands structured config over as JSON text and plain strings as they are."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _reject_bool(value: Any) -> Any:
    # YAML `true` would otherwise pass as the integer 1.
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


WholeNumber = Annotated[int, BeforeValidator(_reject_bool)]


def _pattern(regex: str, what: str):
    compiled = re.compile(regex)

    def check(value: Any) -> Any:
        if isinstance(value, str) and not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return BeforeValidator(check)


VpcId = Annotated[str, _pattern(r"vpc-[a-z0-9]+", "a VPC id (vpc-...)")]
VSwitchId = Annotated[str, _pattern(r"vsw-[a-z0-9]+", "a vSwitch id (vsw-...)")]
SnatTableId = Annotated[str, _pattern(r"stb-[a-z0-9]+", "a SNAT table id (stb-...)")]
NatGatewayId = Annotated[str, _pattern(r"ngw-[a-z0-9]+", "a NAT gateway id (ngw-...)")]
DnsLabel = Annotated[
    str, _pattern(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", "a DNS label (lower-case letters, digits, '-')")
]

_K8S_VERSION = re.compile(r"v?(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?:-[0-9A-Za-z.\-]+)?")


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, str_strip_whitespace=True
    )


class ClusterSettings(_Model):
    name: DnsLabel
    kubernetes_version: str
    node_count: WholeNumber = Field(ge=1)

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _kubernetes_version(cls, value: Any) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"quote the version as a string (\"{value}\"): YAML reads 1.30 as the number 1.3")
        if not isinstance(value, str) or not _K8S_VERSION.fullmatch(value.strip()):
            raise ValueError(f"{value!r} is not a Kubernetes version; use \"1.30\" or \"v1.30.1-aliyun.1\"")
        match = _K8S_VERSION.fullmatch(value.strip())
        if int(match["major"]) != 1:
            raise ValueError(f"{value!r}: only Kubernetes 1.x is supported")
        return value.strip()

    @property
    def kubernetes_minor(self) -> tuple[int, int]:
        match = _K8S_VERSION.fullmatch(self.kubernetes_version)
        return int(match["major"]), int(match["minor"])


class TyphaSettings(_Model):
    version: Annotated[str, _pattern(r"v\d+\.\d+\.\d+", "a Calico release tag such as v3.20.2")] = (
        DEFAULT_TYPHA_VERSION
    )
    image: Optional[Annotated[str, _pattern(r"[^\s]+[:@][^\s]+", "a full image reference with a tag or digest")]] = (
        None
    )
    replicas: Optional[WholeNumber] = None
    metrics: bool = False
    # Mode typha may replace a felix_relay_service naming another service only when this says so.
    replace_existing_relay: bool = False


class ZoneSpec(_Model):
    cidr: Optional[str] = None
    vswitch_id: Optional[VSwitchId] = Field(default=None, alias="vswitchId")

    @field_validator("cidr", mode="before")
    @classmethod
    def _cidr(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            network = ipaddress.IPv4Network(value.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 CIDR such as 10.0.32.0/19") from None
        if network.prefixlen > POD_VSWITCH_MAX_PREFIX:
            raise ValueError(
                f"/{network.prefixlen} is smaller than /{POD_VSWITCH_MAX_PREFIX}: a pod vSwitch needs at least "
                f"{2 ** (32 - POD_VSWITCH_MAX_PREFIX)} addresses (prefix length "
                f"{POD_VSWITCH_MIN_PREFIX}..{POD_VSWITCH_MAX_PREFIX})"
            )
        if network.prefixlen < POD_VSWITCH_MIN_PREFIX:
            raise ValueError(
                f"/{network.prefixlen} is larger than Alibaba Cloud allows for a vSwitch (prefix length "
                f"{POD_VSWITCH_MIN_PREFIX}..{POD_VSWITCH_MAX_PREFIX})"
            )
        if str(network) != value.strip():
            raise ValueError(f"{value} has host bits set; the network address is {network}")
        return str(network)

    @model_validator(mode="after")
    def _exactly_one(self) -> "ZoneSpec":
        if (self.cidr is None) == (self.vswitch_id is None):
            raise ValueError("set exactly one of cidr (create a vSwitch) or vswitchId (adopt an existing one)")
        return self


class SnatSettings(_Model):
    snat_table_id: Optional[SnatTableId] = None
    nat_gateway_id: Optional[NatGatewayId] = None
    snat_ips: list[ipaddress.IPv4Address] = Field(alias="snatIps")

    @field_validator("snat_ips", mode="before")
    @classmethod
    def _snat_ips(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("must list at least one EIP address")
        if isinstance(value, list):
            for address in value:
                if isinstance(address, str):
                    try:
                        ipaddress.IPv4Address(address.strip())
                    except ValueError:
                        raise ValueError(f"{address!r} is not an IPv4 address") from None
            if len(set(value)) != len(value):
                raise ValueError("lists an address twice")
        return value

    @model_validator(mode="after")
    def _one_table(self) -> "SnatSettings":
        if (self.snat_table_id is None) == (self.nat_gateway_id is None):
            raise ValueError("set exactly one of snatTableId or natGatewayId")
        return self


class PodVSwitchSettings(_Model):
    vpc_id: Optional[VpcId] = None
    zones: dict[str, ZoneSpec] = Field(min_length=1)
    snat: Optional[SnatSettings] = None
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def created_zones(self) -> dict[str, str]:
        """zone -> CIDR of the vSwitches this stack creates."""
        return {zone: spec.cidr for zone, spec in sorted(self.zones.items()) if spec.cidr}

    @property
    def adopted_zones(self) -> dict[str, str]:
        """zone -> id of vSwitches made elsewhere and only wired into eni-config."""
        return {zone: spec.vswitch_id for zone, spec in sorted(self.zones.items()) if spec.vswitch_id}


class TerwaySettings(_Model):
    daemon_sets: list[DnsLabel] = Field(default_factory=lambda: ["terway-eniip"], min_length=1)
    restart_timeout_seconds: WholeNumber = Field(default=900, ge=60, le=7200)

    @field_validator("daemon_sets")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a DaemonSet twice")
        return value


class StackSettings(_Model):
    cluster: ClusterSettings
    network_policy: NetworkPolicyMode = "typha"
    typha: TyphaSettings = Field(default_factory=TyphaSettings)
    pod_vswitches: Optional[PodVSwitchSettings] = Field(default=None, alias="podVSwitches")
    terway: TerwaySettings = Field(default_factory=TerwaySettings)
    # Modes typha/direct may switch NetworkPolicy on where the live eni-config has it off only when this says so.
    confirm_network_policy_enforcement: bool = False
    # false: no read-only Alibaba Cloud look-ups (reference checks, capacity figures); for clusters
    # without a reachable cloud, such as the e2e suite's.
    cloud_lookups: bool = True
    region: Annotated[str, _pattern(r"[a-z]{2}(-[a-z0-9]+)+", "an Alibaba Cloud region id such as cn-shanghai")] = (
        Field(alias="alicloud:region")
    )

    @field_validator("pod_vswitches", mode="before")
    @classmethod
    def _empty_means_none(cls, value: Any) -> Any:
        # Pulumi.yaml declares `default: {}` (a declared key without a default is required).
        return None if value == {} else value

    @property
    def typha_replicas(self) -> int:
        return self.typha.replicas or typha_replicas(self.cluster.node_count)

    @property
    def typha_image(self) -> str:
        return self.typha.image or f"registry-vpc.{self.region}.aliyuncs.com/acs/typha:{self.typha.version}"


def _zone_problems(settings: StackSettings) -> list[Problem]:
    pods = settings.pod_vswitches
    if pods is None:
        return []
    problems = []
    zone_of_region = re.compile(re.escape(settings.region) + r"-?[a-z]{1,2}")
    for zone in sorted(pods.zones):
        if not zone_of_region.fullmatch(zone):
            problems.append(
                Problem(
                    key_path(["podVSwitches", "zones", zone]),
                    f"zone {zone!r} is not in region {settings.region} (alicloud:region)",
                )
            )
    if pods.created_zones and pods.vpc_id is None:
        problems.append(Problem(key_path(["podVSwitches", "vpcId"]), "required when any zone has a cidr"))
    seen: dict[str, str] = {}
    for zone, vswitch_id in pods.adopted_zones.items():
        if vswitch_id in seen:
            problems.append(
                Problem(key_path(["podVSwitches", "zones", zone, "vswitchId"]), f"{vswitch_id} is also {seen[vswitch_id]}'s")
            )
        seen[vswitch_id] = zone
    return problems + _overlap_problems(pods.created_zones)


def _overlap_problems(created: Mapping[str, str]) -> list[Problem]:
    problems = []
    zones = list(created)
    for i, zone in enumerate(zones):
        for earlier in zones[:i]:
            if ipaddress.IPv4Network(created[zone]).overlaps(ipaddress.IPv4Network(created[earlier])):
                problems.append(
                    Problem(
                        key_path(["podVSwitches", "zones", zone, "cidr"]),
                        f"{created[zone]} overlaps {created[earlier]} of zone {earlier}",
                    )
                )
    return problems


def _typha_problems(settings: StackSettings) -> list[Problem]:
    wanted = settings.typha.replicas
    if wanted is None:
        return []
    nodes = settings.cluster.node_count
    floor = typha_replicas(nodes)
    if wanted < floor:
        reason = f"{wanted} is below the minimum {floor} for {nodes} nodes (one per 200 nodes, at least 3)"
    elif wanted > TYPHA_MAX_REPLICAS:
        reason = f"{wanted} is above {TYPHA_MAX_REPLICAS}, the most Calico supports"
    elif wanted > typha_replica_ceiling(nodes):
        reason = f"{wanted} leaves no free node among {nodes}: Typha holds host port 5473, so a rollout would stall"
    else:
        return []
    return [Problem(key_path(["typha", "replicas"]), reason)]


def cross_field_problems(settings: StackSettings) -> list[Problem]:
    return _zone_problems(settings) + _typha_problems(settings)


def parse_settings(raw: Mapping[str, Any]) -> StackSettings:
    """Validate raw config (keys without the `terway:` prefix, plus `alicloud:region`).

    Raises InputError listing every problem at once.
    """
    try:
        settings = StackSettings.model_validate(dict(raw))
    except ValidationError as err:
        raise InputError(problems_from_validation_error(err)) from None
    problems = cross_field_problems(settings)
    if problems:
        raise InputError(problems)
    return settings
