"""`python -m terway_stack plan` run as users run it: a process of the real entry point (tests/cli_runs.py),
and the files it reads, saved as kubectl would save them."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from terway_stack.plan.mocks import SAMPLE_ENI_CONFIG
from tests.cli_runs import ROOT, run_module

__all__ = ["ROOT", "eni_conf_with", "plan", "write_json"]


def plan(*args: str, fresh: bool = False) -> subprocess.CompletedProcess:
    return run_module("terway_stack", "plan", *args, fresh=fresh)


def write_json(tmp_path: Path, name: str, document) -> str:
    """`document` saved as JSON under tmp_path/name; its path."""
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def eni_conf_with(tmp_path, **changes) -> str:
    """The sample eni-config with `changes` merged into its eni_conf, saved as YAML; its path."""
    configmap = yaml.safe_load(SAMPLE_ENI_CONFIG.read_text())
    conf = json.loads(configmap["data"]["eni_conf"])
    conf.update(changes)
    configmap["data"]["eni_conf"] = json.dumps(conf)
    path = tmp_path / "eni-config.yaml"
    path.write_text(yaml.safe_dump(configmap))
    return str(path)
