"""The Pulumi program, as a function: the real `pulumi up` and the offline plan both call `run`."""
from __future__ import annotations

import os
import signal
import sys
from typing import Any, Mapping, Optional

import pulumi

from .declare.cluster import connect
from .declare.config_source import all_config, load_settings
from .declare.capacity import NodeReader
from .declare.stack import build
from .decide.config_values import redact, secret_texts
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
        settings = load_settings(config)  # its problems already say nothing of a secret value
    except InputError as err:
        raise pulumi.RunError(str(err)) from None
    try:
        cluster = connect(config, environ)
        return build(settings, cluster, node_reader)
    except InputError as err:
        # Cloud checks quote ids and addresses: never one read from a secret key.
        raise pulumi.RunError(str(InputError(redact(err.problems, secret_texts(settings)[0])))) from None


def exit_quietly_when_cancelled() -> None:
    """Under the real engine: when the run is cancelled, end the program without a Python traceback.

    The Python language host interrupts the program (SIGINT) when the engine cancels a run, e.g.
    after a resource's check failed (the preflight gate) while the program still awaits it. The
    engine has already printed why; Python's default would add a KeyboardInterrupt traceback of the
    language runtime. Exiting is what the default does too, minus the traceback.
    """

    def leave(_signum, _frame) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    signal.signal(signal.SIGINT, leave)
