"""The stack's configuration contract (namespace `terway`), as pydantic models.

Field-level rules live on the models; rules that compare several keys live in
`cross_field_problems`, so that every problem can still name its exact key path.
"""
from __future__ import annotations

import ipaddress
import math
import re
from typing import Any, Collection, Literal, Mapping, Optional

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

from .config_values import data_problems, decode_config_value, redact, secret_leaves  # noqa: F401 (re-export)
from .problems import (
    SECRET_PLACEHOLDER,
    InputError,
    OfflineSecret,
    Problem,
    describe,
    key_path,
    problems_from_validation_error,
)
from .sizing import TYPHA_MAX_REPLICAS, typha_replica_ceiling, typha_replicas
from .typha_compat import sync_problem

POD_VSWITCH_MIN_PREFIX = 16  # Alibaba Cloud's largest vSwitch
POD_VSWITCH_MAX_PREFIX = 19  # runbook: at least 8192 addresses per pod vSwitch
# The Felix inside Terway's policy image (v1.5 to v1.17) is v3.24.5; Typha should be the same minor. The
# runbook's v3.20.2 never syncs on Kubernetes >= 1.25 (decide/typha_compat.py). e2e/build-engine.sh
# builds this very version, and the e2e suite runs it.
DEFAULT_TYPHA_VERSION = "v3.24.5"

NetworkPolicyMode = Literal["typha", "disabled", "direct"]


_ASCII_INTEGER = re.compile(r"[0-9]{1,15}")
_LARGEST_WHOLE_FLOAT = 2**53  # beyond this a double no longer holds every integer


def _whole_number(value: Any) -> Any:
    """Integers; whole doubles (the engine carries numbers as doubles); ASCII digit strings (`--path` values).

    Not booleans (YAML `true` would pass as 1), not fractions, and not Unicode digits such as "١٢".
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) <= _LARGEST_WHOLE_FLOAT:
            return int(value)
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, str) and _ASCII_INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise ValueError(f"expected an integer, got {_quoted(value)}")


_quoted = describe  # one way to quote a value, so that redaction can find it


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


def _pattern(regex: str, what: str):
    # re.ASCII: \d and \w mean ASCII digits and letters, never "٣" or "ｆ".
    compiled = re.compile(regex, re.ASCII)

    def check(value: Any) -> Any:
        if isinstance(value, str) and not compiled.fullmatch(value.strip()):
            raise ValueError(f"{_quoted(value)} is not {what}")
        return value

    return BeforeValidator(check)


VpcId = Annotated[str, _pattern(r"vpc-[a-z0-9]+", "a VPC id (vpc-...)")]
VSwitchId = Annotated[str, _pattern(r"vsw-[a-z0-9]+", "a vSwitch id (vsw-...)")]
SnatTableId = Annotated[str, _pattern(r"stb-[a-z0-9]+", "a SNAT table id (stb-...)")]
NatGatewayId = Annotated[str, _pattern(r"ngw-[a-z0-9]+", "a NAT gateway id (ngw-...)")]
DnsLabel = Annotated[
    str, _pattern(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", "a DNS label (lower-case letters, digits, '-')")
]

_K8S_VERSION = re.compile(r"v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(?:\.(?P<patch>[0-9]+))?(?:-[0-9A-Za-z.\-]+)?")


def _kubernetes_version(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"quote the version as a string (\"{value}\"): YAML reads 1.30 as the number 1.3")
    if not isinstance(value, str) or not _K8S_VERSION.fullmatch(value.strip()):
        raise ValueError(f"{_quoted(value)} is not a Kubernetes version; use \"1.30\" or \"v1.30.1-aliyun.1\"")
    match = _K8S_VERSION.fullmatch(value.strip())
    if int(match["major"]) != 1:
        raise ValueError(f"{_quoted(value)}: only Kubernetes 1.x is supported")
    return value.strip()


KubernetesVersion = Annotated[str, BeforeValidator(_kubernetes_version)]


# Ranges Alibaba Cloud refuses for a VPC or vSwitch, and the ones no network may use.
_UNUSABLE_RANGES = {
    ipaddress.IPv4Network("0.0.0.0/8"): "'this network' (0.0.0.0/8)",
    ipaddress.IPv4Network("127.0.0.0/8"): "loopback (127.0.0.0/8)",
    ipaddress.IPv4Network("169.254.0.0/16"): "link-local (169.254.0.0/16)",
    ipaddress.IPv4Network("100.64.0.0/10"): "Alibaba Cloud's reserved service range (100.64.0.0/10)",
    ipaddress.IPv4Network("224.0.0.0/4"): "multicast (224.0.0.0/4)",
    ipaddress.IPv4Network("240.0.0.0/4"): "reserved (240.0.0.0/4, including broadcast)",
}
_CIDR_FORM = re.compile(r"(?P<address>[0-9]{1,3}(?:\.[0-9]{1,3}){3})/(?P<prefix>[0-9]{1,3})", re.ASCII)
_NETMASK_FORM = re.compile(r"[0-9.]+/[0-9]{1,3}(?:\.[0-9]{1,3}){3}", re.ASCII)
CIDR_EXAMPLE = "10.0.32.0/19"


def pod_vswitch_cidr(value: str) -> str:
    """The pod vSwitch CIDR in canonical form, or ValueError saying what is wrong and what is accepted."""
    text = value.strip()
    match = _CIDR_FORM.fullmatch(text)
    if _NETMASK_FORM.fullmatch(text):
        raise ValueError(f"{_quoted(value)} uses a netmask; write address/prefix-length, e.g. {CIDR_EXAMPLE}")
    if not match:
        raise ValueError(f"{_quoted(value)} is not an IPv4 CIDR; write address/prefix-length, e.g. {CIDR_EXAMPLE}")
    prefix = match["prefix"]
    if prefix != str(int(prefix)):
        raise ValueError(f"{_quoted(value)}: write the prefix length without leading zeros, e.g. {CIDR_EXAMPLE}")
    try:
        network = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise ValueError(
            f"{_quoted(value)} is not an IPv4 CIDR (each of the four numbers 0..255, no leading zeros; prefix "
            f"length 0..32), e.g. {CIDR_EXAMPLE}"
        ) from None
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
    for unusable, what in _UNUSABLE_RANGES.items():
        if network.overlaps(unusable):
            raise ValueError(f"{network} is in the {what} range, which no VPC can use")
    if str(network) != text:
        raise ValueError(f"{text} has host bits set; the network address is {network}")
    return str(network)


def _eip(value: Any) -> Any:
    """A public unicast IPv4 address, written as a string (a bare number would silently become 0.0.0.N)."""
    if isinstance(value, OfflineSecret):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an IPv4 address as a string, e.g. \"47.100.1.2\", got {_quoted(value)}")
    try:
        address = ipaddress.IPv4Address(value.strip())
    except ValueError:
        raise ValueError(f"{_quoted(value)} is not an IPv4 address") from None
    for kind, test in _NOT_PUBLIC:
        if test(address):
            raise ValueError(f"{address} is {kind}; an EIP is a public IPv4 address")
    return str(address)


_NOT_PUBLIC = (
    ("the unspecified address", lambda a: a.is_unspecified),
    ("the broadcast address", lambda a: a == ipaddress.IPv4Address("255.255.255.255")),
    ("a loopback address", lambda a: a.is_loopback),
    ("a link-local address", lambda a: a.is_link_local),
    ("a multicast address", lambda a: a.is_multicast),
    ("a reserved address", lambda a: a.is_reserved),
    ("a private address", lambda a: a.is_private),
    ("not a public address", lambda a: not a.is_global),
)
EipAddress = Annotated[str, BeforeValidator(_eip)]

# Alibaba Cloud tag rules (TagResources): at most 20 tags per resource; keys 1..128 characters, not
# starting with `aliyun` or `acs:`; values up to 128 characters; neither may contain http:// or https://.
MAX_TAGS = 20
MAX_TAG_LENGTH = 128
STACK_TAG_KEYS = ("managed-by", "terway-stack/cluster")  # added to every vSwitch the stack creates


def _tag_value(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, OfflineSecret):
        if len(value) > MAX_TAG_LENGTH:
            raise ValueError(f"a tag value has at most {MAX_TAG_LENGTH} characters, this one {len(value)}")
        if re.search("https?://", value, re.IGNORECASE):
            raise ValueError("a tag value may not contain http:// or https://")
        if not value.isprintable():
            raise ValueError("a tag value may hold printable characters only")
    return value


TagValue = Annotated[str, BeforeValidator(_tag_value)]


def tag_key_problem(key: str) -> Optional[str]:
    if not key.strip():
        return "a tag key may not be empty"
    if not key.isprintable():
        return "a tag key may hold printable characters only"
    if len(key) > MAX_TAG_LENGTH:
        return f"a tag key has at most {MAX_TAG_LENGTH} characters, this one {len(key)}"
    if key.lower().startswith(("aliyun", "acs:")):
        return "a tag key may not start with `aliyun` or `acs:` (Alibaba Cloud reserves them)"
    if re.search("https?://", key, re.IGNORECASE):
        return "a tag key may not contain http:// or https://"
    if key in STACK_TAG_KEYS:
        return f"{key!r} is set by the stack itself"
    return None


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    problems = [f"{key!r}: {problem}" for key in tags if (problem := tag_key_problem(key))]
    if problems:
        raise ValueError("; ".join(problems))
    if len(tags) + len(STACK_TAG_KEYS) > MAX_TAGS:
        raise ValueError(
            f"{len(tags)} tags plus the stack's {len(STACK_TAG_KEYS)} exceed Alibaba Cloud's {MAX_TAGS} per vSwitch: "
            f"at most {MAX_TAGS - len(STACK_TAG_KEYS)} here"
        )
    return tags


class _Model(BaseModel):
    model_config = ConfigDict(
        # Keys are camelCase only (`nodeCount`, never `node_count`): the policy pack and the docs read
        # the same names, so a key is either accepted everywhere or refused everywhere.
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True, str_strip_whitespace=True
    )


class ClusterSettings(_Model):
    name: DnsLabel
    kubernetes_version: KubernetesVersion
    node_count: WholeNumber = Field(ge=1)

    @property
    def kubernetes_minor(self) -> tuple[int, int]:
        match = _K8S_VERSION.fullmatch(self.kubernetes_version)
        return int(match["major"]), int(match["minor"])


class TyphaSettings(_Model):
    version: Annotated[str, _pattern(r"v[0-9]+\.[0-9]+\.[0-9]+", "a Calico release tag such as v3.24.5")] = (
        DEFAULT_TYPHA_VERSION
    )
    image: Optional[Annotated[str, _pattern(r"[!-~]+[:@][!-~]+", "a full image reference with a tag or digest")]] = (
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
        if isinstance(value, OfflineSecret):
            raise ValueError("the plan must read a CIDR")  # reported as "is encrypted ..."
        return pod_vswitch_cidr(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> "ZoneSpec":
        if (self.cidr is None) == (self.vswitch_id is None):
            raise ValueError("set exactly one of cidr (create a vSwitch) or vswitchId (adopt an existing one)")
        return self


class SnatSettings(_Model):
    snat_table_id: Optional[SnatTableId] = None
    nat_gateway_id: Optional[NatGatewayId] = None
    snat_ips: list[EipAddress] = Field(alias="snatIps")

    @field_validator("snat_ips", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("must list at least one EIP address")
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
        if (self.snat_table_id is None) == (self.nat_gateway_id is None):
            raise ValueError("set exactly one of snatTableId or natGatewayId")
        return self


class PodVSwitchSettings(_Model):
    vpc_id: Optional[VpcId] = None
    zones: dict[str, ZoneSpec] = Field(min_length=1)
    snat: Optional[SnatSettings] = None
    tags: dict[str, TagValue] = Field(default_factory=dict)

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
    def typha_version(self) -> str:
        """The Calico release Typha runs: the tag of terway:typha.image when it names one, else typha.version."""
        tag = _image_version_tag(self.typha.image or "")
        return tag or self.typha.version

    @property
    def typha_image(self) -> str:
        return self.typha.image or f"registry-vpc.{self.region}.aliyuncs.com/acs/typha:{self.typha.version}"


def _image_version_tag(image: str) -> Optional[str]:
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return tag if re.match(r"v?[0-9]+\.[0-9]+", tag, re.ASCII) else None


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
                    f"zone {_quoted(zone)} is not in region {settings.region} (alicloud:region): its zones are "
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
        raise InputError(redact(problems, secret_leaves(raw, secret_keys)) if secret_keys else problems)
    return settings
