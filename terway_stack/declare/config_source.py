"""Read the stack's configuration from the Pulumi runtime into the decide layer's raw shape."""
from __future__ import annotations

from typing import Any, Collection, Mapping, Optional

from pulumi.runtime import config as runtime_config

from ..decide.config_values import REGION_KEY, raw_settings, secret_roots
from ..decide.settings import StackSettings, parse_settings

__all__ = ["REGION_KEY", "all_config", "load_settings", "raw_settings", "secret_config_keys"]


def all_config() -> dict[str, Any]:
    """Every config value the engine handed to the program (`pulumi.Config` cannot list keys)."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def secret_config_keys() -> set[str]:
    """Keys the engine marked secret (a top-level key is secret when any path inside it was set with --secret)."""
    from_runtime = {key for key in all_config() if runtime_config.is_config_secret(key)}
    return from_runtime | set(runtime_config.get_config_secret_keys_env())


def load_settings(config: Mapping[str, Any] | None = None, secret_keys: Optional[Collection[str]] = None) -> StackSettings:
    """Validated settings; raises decide.problems.InputError listing every problem.

    Problems under a secret key never quote its value.
    """
    if config is None:
        config = all_config()
    if secret_keys is None:
        secret_keys = secret_config_keys()
    return parse_settings(raw_settings(config), secret_keys=secret_roots(secret_keys))
