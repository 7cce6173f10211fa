"""Run the project with the real Pulumi CLI: a copy of it, a local file backend, passphrase secrets.

Shared by the e2e suite and the benchmark.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "requirements.txt")
PROJECT_FOLDERS = ("terway_stack", "policy")


class PulumiError(RuntimeError):
    pass


def _raise(message: str) -> None:
    raise PulumiError(message)


def pulumi_binary() -> str:
    path = shutil.which("pulumi")
    if path is None:
        raise PulumiError("pulumi is not on PATH: run via `make e2e` / `make bench`, which build the engine and source its env")
    return path


def copy_project(target: Path) -> Path:
    """The project as a user checks it out, with ./venv pointing at the running virtualenv."""
    for name in PROJECT_FILES:
        shutil.copy(REPO / name, target / name)
    for folder in PROJECT_FOLDERS:
        shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    # Pulumi.yaml names ./venv; the plugins (dynamic provider, policy pack) look for Python there.
    (target / "venv").symlink_to(Path(sys.prefix))
    return target


def link_plugin_cache(pulumi_home: Path) -> None:
    """Give a fresh PULUMI_HOME the engine's plugin cache (the real pulumi-resource-kubernetes)."""
    plugins = os.environ.get("TERWAY_PULUMI_PLUGINS")
    if not plugins or not (Path(plugins) / "resource-kubernetes-v4.32.0" / "pulumi-resource-kubernetes").is_file():
        raise PulumiError(
            "pulumi-resource-kubernetes v4.32.0 is not in $TERWAY_PULUMI_PLUGINS: run via `make e2e` / `make bench`, "
            "which build the engine and source its env.sh"
        )
    pulumi_home.mkdir(parents=True, exist_ok=True)
    if not (pulumi_home / "plugins").exists():
        (pulumi_home / "plugins").symlink_to(plugins)


class PulumiCli:
    """`pulumi` in one project folder with its own PULUMI_HOME and state directory."""

    def __init__(self, workdir: Path, home: Path, on_error: Callable[[str], None] = _raise):
        self.workdir = workdir
        self.on_error = on_error
        (home / "state").mkdir(parents=True, exist_ok=True)
        link_plugin_cache(home / "pulumi-home")
        self.env = {
            **os.environ,
            "PULUMI_HOME": str(home / "pulumi-home"),
            "PULUMI_BACKEND_URL": f"file://{home / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": "e2e-passphrase",
            "PULUMI_PYTHON_CMD": sys.executable,
        }

    def __call__(self, *args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [pulumi_binary(), "--non-interactive", *args],
            cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=timeout,
        )
        if check and result.returncode != 0:
            self.on_error(f"pulumi {' '.join(args)} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result

    def set_config(self, key: str, value: object) -> None:
        text = value if isinstance(value, str) else json.dumps(value)
        self("config", "set", "--path" if "." in key else "--plaintext", key, text)

    def remove_config(self, key: str) -> None:
        self("config", "rm", *(["--path"] if "." in key else []), key)


def adopted_stack_config(cluster: str, nodes: int, mode: str, adopted: dict[str, str]) -> dict:
    """An e2e stack's config: pod vSwitches adopted by id, and no Alibaba Cloud look-ups (none is
    reachable here; the cloud half is covered by mock-runtime tests)."""
    return {
        "alicloud:region": "cn-shanghai",
        "terway:cluster": {"name": cluster, "kubernetesVersion": "1.34", "nodeCount": nodes},
        "terway:networkPolicy": mode,
        "terway:podVSwitches": {"zones": {zone: {"vswitchId": vswitch} for zone, vswitch in adopted.items()}},
        "terway:terway": {"restartTimeoutSeconds": 300},
        "terway:cloudLookups": False,
    }


def init_stack(cli: PulumiCli, stack: str, config: dict, kubeconfig: str) -> PulumiCli:
    """Write Pulumi.<stack>.yaml, create the stack, and give it the cluster's kubeconfig as a secret."""
    import yaml

    (cli.workdir / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    cli("stack", "init", stack)
    cli("config", "set", "--secret", "kubernetes:kubeconfig", "--", kubeconfig)
    return cli
