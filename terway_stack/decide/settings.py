"""The stack's configuration contract (namespace `terway`), as pydantic models.

Field-level rules live on the models, with the value types of config_types.py; rules that compare
several keys live in `cross_field_problems`, so that every problem can still name its exact key path.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Collection, Mapping, Optional

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from typing_extensions import Annotated

from .config_types import (
    CalicoVersion,
    DnsLabel,
    EipAddress,
    ImageReference,
    KubernetesVersion,
    NatGatewayId,
    RegionId,
    SnatTableId,
    TagValue,
    VpcId,
    VSwitchId,
    WholeNumber,
    ZoneKey,
    check_tags,
    kubernetes_release,
    pod_vswitch_cidr,
)
from .config_values import data_problems, redact, secret_leaves
from .facts import (
    DEFAULT_DAEMON_SETS,
    DEFAULT_NETWORK_POLICY_MODE,
    DEFAULT_RESTART_TIMEOUT_SECONDS,
    DEFAULT_TYPHA_VERSION,
    NetworkPolicyMode,
)
from .problems import (
    SECRET_PLACEHOLDER,
    InputError,
    OfflineSecret,
    Problem,
    at_most_shown,
    describe,
    key_path,
    problems_from_validation_error,
)
from .live_objects import image_tag, parse_version
from .rollout_budget import DEFAULT_MAX_UNAVAILABLE_SHARE
from .sizing import TYPHA_MAX_REPLICAS, typha_replica_ceiling, typha_replicas
from .typha_compat import sync_problem
from .text import checked_text

_quoted = describe  # one way to quote a value, so that redaction can find it

class _Model(BaseModel):
    model_config = ConfigDict(
        # Keys are camelCase only (`nodeCount`, never `node_count`): the policy pack and the docs read
        # the same names, so a key is either accepted everywhere or refused everywhere.
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True
    )
    # No str_strip_whitespace: pydantic's stripping differs from Python's (U+001C..U+001F), so every
    # string field cleans itself once through decide.text and uses exactly what it checked.


def _require_exactly_one(first: Any, second: Any, which: str) -> None:
    if (first is None) == (second is None):
        raise ValueError(f"set exactly one of {which}")


class ClusterSettings(_Model):
    name: DnsLabel
    kubernetes_version: KubernetesVersion
    node_count: WholeNumber = Field(ge=1)

    @property
    def kubernetes_minor(self) -> tuple[int, int]:
        return kubernetes_release(self.kubernetes_version)


class TyphaSettings(_Model):
    version: CalicoVersion = DEFAULT_TYPHA_VERSION
    image: Optional[ImageReference] = None
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
        if isinstance(value, OfflineSecret):
            raise ValueError("the plan must read a CIDR")  # reported as "is encrypted ..."
        return pod_vswitch_cidr(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> "ZoneSpec":
        _require_exactly_one(self.cidr, self.vswitch_id, "cidr (create a vSwitch) or vswitchId (adopt an existing one)")
        return self


# Alibaba Cloud's NAT Gateway FAQ ("How many EIPs can I specify in one SNAT entry"): at most 64, a quota
# that cannot be raised.
MAX_SNAT_IPS = 64


class SnatSettings(_Model):
    snat_table_id: Optional[SnatTableId] = None
    nat_gateway_id: Optional[NatGatewayId] = None
    snat_ips: list[EipAddress] = Field(alias="snatIps")
    # A CIDR SNAT entry already covering a new vSwitch: our per-vSwitch entry changes its pods' egress IP.
    confirm_egress_change: bool = False

    @field_validator("snat_ips", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("must list at least one EIP address")
        if isinstance(value, list) and len(value) > MAX_SNAT_IPS:
            # Checked before each entry is: every entry is one cloud look-up at preview.
            raise ValueError(f"lists {len(value)} addresses; one SNAT entry takes at most {MAX_SNAT_IPS} EIPs")
        return value

    @field_validator("snat_ips")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        known = [address for address in value if address != SECRET_PLACEHOLDER]  # secrets cannot be compared offline
        if len(set(known)) != len(known):
            raise ValueError("lists an address twice")
        return value

    @model_validator(mode="after")
    def _one_table(self) -> "SnatSettings":
        _require_exactly_one(self.snat_table_id, self.nat_gateway_id, "snatTableId or natGatewayId")
        return self


class PodVSwitchSettings(_Model):
    vpc_id: Optional[VpcId] = None
    zones: dict[ZoneKey, ZoneSpec] = Field(min_length=1)
    snat: Optional[SnatSettings] = None
    tags: dict[str, TagValue] = Field(default_factory=dict)
    # Add the pod vSwitch ids to existing PodNetworkings that cover their zone (declare/pod_networkings.py).
    update_pod_networkings: bool = False

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        return check_tags(value)

    @property
    def created_zones(self) -> dict[str, str]:
        """zone -> CIDR of the vSwitches this stack creates."""
        return {zone: spec.cidr for zone, spec in sorted(self.zones.items()) if spec.cidr}

    @property
    def adopted_zones(self) -> dict[str, str]:
        """zone -> id of vSwitches made elsewhere and only wired into eni-config."""
        return {zone: spec.vswitch_id for zone, spec in sorted(self.zones.items()) if spec.vswitch_id}


MAX_DAEMON_SETS = 8


class TerwaySettings(_Model):
    # A cluster runs one or two Terway DaemonSets; each listed one gets its own rollout resource.
    daemon_sets: list[DnsLabel] = Field(
        default_factory=lambda: list(DEFAULT_DAEMON_SETS), min_length=1, max_length=MAX_DAEMON_SETS
    )
    restart_timeout_seconds: WholeNumber = Field(default=DEFAULT_RESTART_TIMEOUT_SECONDS, ge=60, le=7200)
    # A restart may take at most this share (percent) of a DaemonSet's pods down at once
    # (decide/rollout_budget.py); confirm_max_unavailable lets a larger maxUnavailable through.
    max_unavailable_share: WholeNumber = Field(default=DEFAULT_MAX_UNAVAILABLE_SHARE, ge=1, le=100)
    confirm_max_unavailable: bool = False

    @field_validator("daemon_sets")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a DaemonSet twice")
        return value


class StackSettings(_Model):
    cluster: ClusterSettings
    network_policy: Annotated[NetworkPolicyMode, BeforeValidator(checked_text)] = DEFAULT_NETWORK_POLICY_MODE
    typha: TyphaSettings = Field(default_factory=TyphaSettings)
    pod_vswitches: Optional[PodVSwitchSettings] = Field(default=None, alias="podVSwitches")
    terway: TerwaySettings = Field(default_factory=TerwaySettings)
    # Modes typha/direct may switch NetworkPolicy on where the live eni-config has it off only when this says so.
    confirm_network_policy_enforcement: bool = False
    # false: no read-only Alibaba Cloud look-ups (reference checks, capacity figures); for clusters
    # without a reachable cloud, such as the e2e suite's.
    cloud_lookups: bool = True
    region: RegionId = Field(alias="alicloud:region")
    # Top-level keys (raw names: `cluster`, `podVSwitches`, `alicloud:region`) the engine holds as
    # secrets; the declare layer keeps every value derived from them secret (declare/secrets.py).
    _secret_roots: frozenset = PrivateAttr(default=frozenset())

    @property
    def secret_roots(self) -> frozenset:
        return self._secret_roots

    @field_validator("pod_vswitches", mode="before")
    @classmethod
    def _empty_means_none(cls, value: Any) -> Any:
        # Pulumi.yaml declares `default: {}` (a declared key without a default is required).
        return None if value == {} else value

    @property
    def typha_replicas(self) -> int:
        return self.typha.replicas or typha_replicas(self.cluster.node_count)

    @property
    def typha_version(self) -> str:
        """The Calico release Typha runs: the tag of terway:typha.image when it names one, else typha.version."""
        tag = image_tag(self.typha.image)
        return tag if tag and parse_version(tag) else self.typha.version

    @property
    def typha_image(self) -> str:
        return self.typha.image or f"registry-vpc.{self.region}.aliyuncs.com/acs/typha:{self.typha.version}"


def zone_pattern(region: str) -> re.Pattern[str]:
    """Alibaba Cloud zone ids: the region and one letter, with a dash unless the region ends in a digit
    (cn-shanghai-f, ap-southeast-1a, cn-shanghai-finance-1z)."""
    separator = "" if region[-1:].isdigit() else "-"
    return re.compile(re.escape(region) + separator + "[a-z]", re.ASCII)


def zone_example(region: str) -> str:
    return f"{region}{'' if region[-1:].isdigit() else '-'}<letter>, e.g. {region}{'' if region[-1:].isdigit() else '-'}a"


def _zone_problems(settings: StackSettings) -> list[Problem]:
    pods = settings.pod_vswitches
    if pods is None:
        return []
    problems = []
    zone_of_region = zone_pattern(settings.region)
    for zone in sorted(pods.zones):
        if not zone_of_region.fullmatch(zone):
            problems.append(
                Problem(
                    key_path(["podVSwitches", "zones", zone]),
                    f"zone {describe(zone)} is not in region {settings.region} (alicloud:region): its zones are "
                    f"named {zone_example(settings.region)}",
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
    """Each zone whose CIDR overlaps another zone's, in O(n log n).

    CIDR blocks either nest or are disjoint, so in address order (the larger block first at equal
    addresses) a block overlaps an earlier one exactly when it starts inside the furthest-reaching
    block seen so far, and then lies inside it. The problem is reported at the later zone name,
    naming the other.
    """
    networks = sorted(
        ((ipaddress.IPv4Network(cidr), zone) for zone, cidr in created.items()),
        key=lambda item: (item[0].network_address, item[0].prefixlen, item[1]),
    )
    problems = []
    cover: Optional[tuple[ipaddress.IPv4Network, str]] = None
    for network, zone in networks:
        if cover is not None and network.network_address <= cover[0].broadcast_address:
            first, second = sorted((zone, cover[1]))
            problems.append(
                Problem(
                    key_path(["podVSwitches", "zones", second, "cidr"]),
                    f"{created[second]} overlaps {created[first]} of zone {first}",
                )
            )
        if cover is None or network.broadcast_address > cover[0].broadcast_address:
            cover = (network, zone)
    return sorted(problems, key=lambda p: p.path)


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


def _typha_version_problems(settings: StackSettings) -> list[Problem]:
    """A Typha that cannot feed Felix on the configured Kubernetes (the preflight checks the live one)."""
    if settings.network_policy != "typha":
        return []
    cluster = settings.cluster
    reason = sync_problem(settings.typha_version, cluster.kubernetes_minor, f"{cluster.kubernetes_version} (terway:cluster.kubernetesVersion)")
    if reason is None:
        return []
    key = ["typha", "image"] if settings.typha.image else ["typha", "version"]
    default = "" if settings.typha.image or "version" in settings.typha.model_fields_set else " (the default)"
    return [Problem(key_path(key), f"{settings.typha_version}{default}: {reason}")]


def cross_field_problems(settings: StackSettings) -> list[Problem]:
    return _zone_problems(settings) + _typha_problems(settings) + _typha_version_problems(settings)


def _snake_case_hints(problems: list[Problem]) -> list[Problem]:
    # `node_count` is refused like any unknown key, and the message names the key that is meant.
    hinted = []
    for problem in problems:
        head, _, leaf = problem.path.rpartition(".")
        name = leaf.split(":", 1)[-1]
        if problem.message.startswith("unknown key") and "_" in name and to_camel(name) != name:
            problem = Problem(problem.path, f"unknown key: keys are camelCase, did you mean {to_camel(name)}?")
        hinted.append(problem)
    return hinted


def parse_settings(raw: Mapping[str, Any], secret_keys: Collection[str] = ()) -> StackSettings:
    """Validate raw config (keys without the `terway:` prefix, plus `alicloud:region`).

    `secret_keys` names the raw keys whose values are secrets (`podVSwitches`): problems under them
    say what is wrong without quoting the value. Raises InputError listing every problem at once.
    """
    problems = data_problems(raw)
    if not problems:
        try:
            settings = StackSettings.model_validate(dict(raw))
            problems = cross_field_problems(settings)
        except ValidationError as err:
            problems = _snake_case_hints(problems_from_validation_error(err, secret_roots=secret_keys))
    if problems:
        problems = at_most_shown(problems)
        raise InputError(redact(problems, secret_leaves(raw, secret_keys)) if secret_keys else problems)
    settings._secret_roots = frozenset(secret_keys)
    return settings
