"""Read the stack's configuration from the Pulumi runtime into the decide layer's raw shape."""
from __future__ import annotations

from typing import Any, Mapping

from pulumi.runtime import config as runtime_config

from ..decide.problems import NAMESPACE
from ..decide.settings import StackSettings, decode_config_value, parse_settings

REGION_KEY = "alicloud:region"


def all_config() -> dict[str, Any]:
    """Every config value the engine handed to the program (`pulumi.Config` cannot list keys)."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def raw_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """`terway:<key>` entries without their prefix, plus alicloud:region, decoded."""
    prefix = f"{NAMESPACE}:"
    raw = {key[len(prefix):]: decode_config_value(value) for key, value in config.items() if key.startswith(prefix)}
    if REGION_KEY in config:
        raw[REGION_KEY] = config[REGION_KEY]
    return raw


def load_settings(config: Mapping[str, Any] | None = None) -> StackSettings:
    """Validated settings; raises decide.problems.InputError listing every problem."""
    return parse_settings(raw_settings(all_config() if config is None else config))
