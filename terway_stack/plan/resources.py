"""The plan's first section: every resource the program declares, with a one-line summary and its inputs.

Inputs are shown as the engine holds them, except what must not be printed: a secret value (Pulumi's
secret signature) becomes "[secret]", the kubeconfig is never shown however it is passed, and the
pickled dynamic provider is named, not dumped. Assets and resource references carry the same
signature key with another value: they are not secrets and are shown as they are.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from ..decide.facts import (
    DYNAMIC_PROVIDER_KEY,
    ENI_CONFIG_WRITER_KIND,
    POLICY_KEYS,
    POLICY_KEYS_ROLE,
    PREFLIGHT_KIND,
    ROLLOUT_KIND,
)
from . import markdown as md
from .mocks import RecordedResource
from .sections import Section, table

REDACTED = "[secret]"
_SECRET_KEYS = {"kubeconfig"}
# Pulumi marks a special value (secret, asset, archive, resource reference, output value) with a map
# holding SPECIAL_SIG_KEY; its value says which one (pulumi/runtime/rpc.py; Go: sdk/go/common/resource/properties.go).
SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"  # an output value, secret when its "secret" is true


def _is_secret(value: Mapping[str, Any]) -> bool:
    sig = value.get(SPECIAL_SIG_KEY)
    return sig == SECRET_SIG or (sig == OUTPUT_VALUE_SIG and value.get("secret") is True)


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        if _is_secret(value):
            return REDACTED
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def public_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs fit to print: no secret values (nor a kubeconfig, however passed), no pickled provider blob."""
    shown = {}
    for key, value in sorted(inputs.items()):
        if key in _SECRET_KEYS:
            shown[key] = REDACTED
        elif key == DYNAMIC_PROVIDER_KEY:
            shown[key] = "[serialized dynamic provider]"
        else:
            shown[key] = _redacted(value)
    return shown


@dataclass(frozen=True)
class ResourceRow:
    type: str
    name: str
    summary: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class ResourcesSection(Section):
    rows: tuple[ResourceRow, ...]
    json_key: ClassVar[str] = "resources"
    title: ClassVar[str] = "Resources to declare"

    def json(self) -> list[dict[str, Any]]:
        return [{"type": r.type, "name": r.name, "inputs": r.inputs} for r in self.rows]

    def text(self) -> str:
        return table(f"{self.title} ({len(self.rows)})", ("TYPE", "NAME", "WHAT"), [(r.type, r.name, r.summary) for r in self.rows])

    def markdown(self) -> str:
        rows = [(md.code(r.type, cell=True), md.code(r.name, cell=True), md.text(r.summary)) for r in self.rows]
        return md.section(f"{self.title} ({len(self.rows)})", md.table(("type", "name", "what"), rows))


def summarize(resource: RecordedResource) -> str:
    """One line a reviewer can judge a resource by."""
    i = resource.inputs
    t = resource.type
    if t == "alicloud:vpc/switch:Switch":
        return f"{i.get('cidrBlock')} in {i.get('zoneId')} of {i.get('vpcId')}"
    if t == "alicloud:vpc/snatEntry:SnatEntry":
        return f"SNAT {i.get('sourceVswitchId')} via {i.get('snatIp')} on {i.get('snatTableId')}"
    if i.get("kind") == ENI_CONFIG_WRITER_KIND:
        managed = POLICY_KEYS if i.get("role") == POLICY_KEYS_ROLE else (i.get("data") or {}).keys()
        keys = ", ".join(sorted(managed))
        retained = " (retained on delete)" if resource.options.get("retainOnDelete") else ""
        return f"write keys [{keys}] of {i.get('namespace')}/{i.get('configMap')} as {i.get('fieldManager')}{retained}"
    if i.get("kind") == ROLLOUT_KIND:
        when = "when the managed keys change" if i.get("restartOn") == "change" else "after the policy keys are released (destroy)"
        return f"rolling restart of {i.get('namespace')}/{i.get('daemonSet')} {when}"
    if i.get("kind") == PREFLIGHT_KIND:
        return "read-only checks of the cluster; every write waits for them"
    if t == "kubernetes:apps/v1:Deployment":
        spec = i.get("spec") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
        return f"{spec.get('replicas')} replicas of {containers[0].get('image')}"
    metadata = i.get("metadata") or {}
    if metadata.get("name"):
        return "/".join(p for p in (metadata.get("namespace"), metadata.get("name")) if p)
    return ""
