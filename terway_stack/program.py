"""The Pulumi program, as a function: the real `pulumi up` and the offline plan both call `run`."""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional

import pulumi

from .declare.cluster import connect
from .declare.config_source import all_config, load_settings
from .declare.capacity import NodeReader
from .declare.stack import build
from .decide.problems import InputError


def run(
    config: Optional[Mapping[str, Any]] = None,
    environ: Mapping[str, str] = os.environ,
    node_reader: Optional[NodeReader] = None,
) -> dict[str, Any]:
    """Load and validate settings, declare everything, return the stack outputs.

    `node_reader` replaces the live node list (the offline plan reads it from --nodes).

    Any input problem ends the run here, before a resource is declared, as one line per problem.
    """
    config = all_config() if config is None else config
    try:
        settings = load_settings(config)
        cluster = connect(config, environ)
        return build(settings, cluster, node_reader)
    except InputError as err:
        raise pulumi.RunError(str(err)) from None
