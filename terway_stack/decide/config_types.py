"""Field-level rules of the configuration: each is one annotated type, built on decide.text.Text.

Every rule cleans the value once (decide.text.checked_text), checks that clean value, and returns
exactly what it checked, so what is used is what was validated. Every check is linear in the input.
"""
from __future__ import annotations

import ipaddress
import math
import re
from typing import Any, Optional

from pydantic import BeforeValidator
from typing_extensions import Annotated

from .facts import STACK_TAG_KEYS
from .problems import OfflineSecret, describe
from .text import checked_key, checked_text

POD_VSWITCH_MIN_PREFIX = 16  # Alibaba Cloud's largest vSwitch
POD_VSWITCH_MAX_PREFIX = 19  # runbook: at least 8192 addresses per pod vSwitch

_quoted = describe  # one way to quote a value, so that redaction can find it

_ASCII_INTEGER = re.compile(r"[0-9]{1,15}")
LARGEST_EXACT_INTEGER = 2**53  # the engine carries numbers as doubles: beyond this one holds no longer every integer


def _whole_number(value: Any) -> Any:
    """Integers; whole doubles (the engine carries numbers as doubles); ASCII digit strings (`--path` values).

    Not booleans (YAML `true` would pass as 1), not fractions, not Unicode digits such as "١٢", and not
    integers the engine could not carry exactly (it reads 22 digits as 1.2e+21, which no rule accepts).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        if abs(value) > LARGEST_EXACT_INTEGER:
            raise ValueError(f"is too large (more than {LARGEST_EXACT_INTEGER}): the engine cannot carry it exactly")
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) <= LARGEST_EXACT_INTEGER:
            return int(value)
        raise ValueError(f"expected an integer, got {value!r}")
    text = checked_text(value)
    if isinstance(text, str) and _ASCII_INTEGER.fullmatch(text):
        return int(text)
    raise ValueError(f"expected an integer, got {_quoted(value)}")


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


def _pattern(regex: str, what: str):
    # re.ASCII: \d and \w mean ASCII digits and letters, never "٣" or "ｆ". Callers pass patterns
    # without nested or overlapping repetition, so fullmatch is linear.
    compiled = re.compile(regex, re.ASCII)

    def check(value: Any) -> Any:
        text = checked_text(value)
        if isinstance(text, str) and not compiled.fullmatch(text):
            raise ValueError(f"{_quoted(value)} is not {what}")
        return text

    return BeforeValidator(check)


VpcId = Annotated[str, _pattern(r"vpc-[a-z0-9]+", "a VPC id (vpc-...)")]
VSwitchId = Annotated[str, _pattern(r"vsw-[a-z0-9]+", "a vSwitch id (vsw-...)")]
SnatTableId = Annotated[str, _pattern(r"stb-[a-z0-9]+", "a SNAT table id (stb-...)")]
NatGatewayId = Annotated[str, _pattern(r"ngw-[a-z0-9]+", "a NAT gateway id (ngw-...)")]
DnsLabel = Annotated[
    str, _pattern(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", "a DNS label (lower-case letters, digits, '-')")
]
RegionId = Annotated[str, _pattern(r"[a-z]{2}(-[a-z0-9]+)+", "an Alibaba Cloud region id such as cn-shanghai")]
CalicoVersion = Annotated[str, _pattern(r"v[0-9]+\.[0-9]+\.[0-9]+", "a Calico release tag such as v3.24.5")]
ZoneKey = Annotated[str, BeforeValidator(checked_key)]

# Docker's reference grammar allows 255 characters for a repository name; with a registry host, a
# tag and a digest no real reference comes near this.
MAX_IMAGE_LENGTH = 512


def _image_reference(value: Any) -> Any:
    """Printable ASCII without blanks, and a ':' or '@' with text on both sides (a tag or a digest).

    Written as a scan, not as `[!-~]+[:@][!-~]+`: that regex backtracks quadratically on a long
    reference without a separator (100,000 characters took 33 s).
    """
    text = checked_text(value)
    if not isinstance(text, str):
        return text
    if len(text) > MAX_IMAGE_LENGTH:
        raise ValueError(f"is {len(text)} characters long; an image reference has at most {MAX_IMAGE_LENGTH}")
    printable = all("!" <= c <= "~" for c in text)
    separated = any(c in ":@" for c in text[1:-1])
    if not (printable and separated):
        raise ValueError(f"{_quoted(value)} is not a full image reference with a tag or digest")
    return text


ImageReference = Annotated[str, BeforeValidator(_image_reference)]

K8S_VERSION = re.compile(r"v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(?:\.(?P<patch>[0-9]+))?(?:-[0-9A-Za-z.\-]+)?")


def _kubernetes_version(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"quote the version as a string (\"{value}\"): YAML reads 1.30 as the number 1.3")
    text = checked_text(value)
    match = K8S_VERSION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{_quoted(value)} is not a Kubernetes version; use \"1.30\" or \"v1.30.1-aliyun.1\"")
    if int(match["major"]) != 1:
        raise ValueError(f"{_quoted(value)}: only Kubernetes 1.x is supported")
    return text


KubernetesVersion = Annotated[str, BeforeValidator(_kubernetes_version)]


def kubernetes_release(version: Optional[str]) -> Optional[tuple[int, int]]:
    """(major, minor) of a Kubernetes version as the config writes it ("v1.30.1-aliyun.1" -> (1, 30)); None otherwise."""
    match = K8S_VERSION.fullmatch((version or "").strip())
    return (int(match["major"]), int(match["minor"])) if match else None


def kubernetes_minor(version: Optional[str]) -> Optional[int]:
    """The minor of a Kubernetes 1.x version ("v1.30.1-aliyun.1" -> 30); None for anything else."""
    release = kubernetes_release(version)
    return release[1] if release and release[0] == 1 else None


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
    text = checked_text(value)
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
    text = checked_text(value)
    try:
        address = ipaddress.IPv4Address(text)
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
_URL = re.compile("https?://", re.IGNORECASE)


def _tag_value(value: Any) -> Any:
    if isinstance(value, OfflineSecret):
        return value
    text = checked_text(value)
    if isinstance(text, str):
        if len(text) > MAX_TAG_LENGTH:
            raise ValueError(f"a tag value has at most {MAX_TAG_LENGTH} characters, this one {len(text)}")
        if _URL.search(text):
            raise ValueError("a tag value may not contain http:// or https://")
    return text


TagValue = Annotated[str, BeforeValidator(_tag_value)]


def tag_key_problem(key: str) -> Optional[str]:
    try:
        checked_key(key)
    except ValueError as err:
        return f"a tag key {err}"
    if not key:
        return "a tag key may not be empty"
    if len(key) > MAX_TAG_LENGTH:
        return f"a tag key has at most {MAX_TAG_LENGTH} characters, this one {len(key)}"
    if key.lower().startswith(("aliyun", "acs:")):
        return "a tag key may not start with `aliyun` or `acs:` (Alibaba Cloud reserves them)"
    if _URL.search(key):
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
