"""The per-node config check of earlier versions, kept only so that stacks created by them can delete it.

Earlier versions declared a `PerNodeConfigCheck` dynamic resource whose check() failed the run when a
per-node Terway ConfigMap (node label terway-config) overrode a zone's vSwitch list without the new
vSwitch. The preflight gate does that check now (act/preflight.py, decide/preflight.py
`node_config_problems`), and no program declares this resource any more.

A stack whose state still holds one needs its provider for one thing: on the next `pulumi up` (or
`pulumi destroy`) the engine deletes the resource, and `pulumi refresh` reads it. The engine finds the
provider by unpickling it BY REFERENCE to this module path and class name (dill), so both must stay.
Deleting it changes nothing in the cluster: the check never wrote anything.
"""
from __future__ import annotations

from typing import Any

import pulumi.dynamic as dyn


class PerNodeConfigCheckProvider(dyn.ResourceProvider):
    """Delete and read only: the resource is being removed from every stack that still has it."""

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        return dyn.ReadResult(id_=id_, outs=dict(props))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None  # the check never wrote anything, so there is nothing to undo
