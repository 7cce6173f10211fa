"""Read Pulumi.yaml / Pulumi.<stack>.yaml the way the CLI would hand them to the program."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..decide.problems import InputError, Problem

# A kubeconfig that names no cluster: the offline plan never talks to one.
OFFLINE_KUBECONFIG = "apiVersion: v1\nkind: Config\n# offline plan: no cluster access\n"
SECRET_PLACEHOLDER = "[secret]"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError([Problem(str(path), "file not found")]) from None
    except yaml.YAMLError as err:
        raise InputError([Problem(str(path), f"is not valid YAML ({err})".replace("\n", " "))]) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InputError([Problem(str(path), "must be a YAML mapping")])
    return document


def _project(project_dir: Path) -> tuple[str, dict[str, Any]]:
    project = _read_yaml(project_dir / "Pulumi.yaml")
    name = project.get("name", "terway")
    defaults = {}
    for key, declared in (project.get("config") or {}).items():
        if isinstance(declared, dict) and "default" in declared:
            defaults[key if ":" in key else f"{name}:{key}"] = declared["default"]
    return name, defaults


def _unsecure(value: Any) -> Any:
    # Encrypted values cannot be read offline; the plan shows that they exist, never what they are.
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECRET_PLACEHOLDER
    return value


def load_stack_config(stack_file: Path, project_dir: Path) -> dict[str, Any]:
    """Config as the engine gives it to the program: `namespace:key` -> value, project defaults applied."""
    name, config = _project(project_dir)
    stack = _read_yaml(stack_file).get("config") or {}
    if not isinstance(stack, dict):
        raise InputError([Problem(f"{stack_file}: config", "must be a mapping of key -> value")])
    for key, value in stack.items():
        config[key if ":" in key else f"{name}:{key}"] = _unsecure(value)
    # No cluster is reachable offline, so any configured kubeconfig is replaced, never read.
    config["kubernetes:kubeconfig"] = OFFLINE_KUBECONFIG
    config.pop("kubernetes:context", None)
    return config
