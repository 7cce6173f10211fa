"""Config keys marked secret, as the engine tells a Python program (PULUMI_CONFIG_SECRET_KEYS)."""
from __future__ import annotations

import json
import os
from contextlib import contextmanager


@contextmanager
def secret_keys(keys: list[str]):
    """The run's secret config keys are `keys` inside the block (as `pulumi config set --secret` makes them)."""
    before = os.environ.get("PULUMI_CONFIG_SECRET_KEYS")
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(keys)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PULUMI_CONFIG_SECRET_KEYS", None)
        else:
            os.environ["PULUMI_CONFIG_SECRET_KEYS"] = before
