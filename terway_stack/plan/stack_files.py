"""Read Pulumi.yaml / Pulumi.<stack>.yaml the way the CLI would hand them to the program.

The Pulumi CLI reads these files with Go's yaml.v3 into untyped values, so the loader here follows
yaml.v3, not PyYAML's YAML 1.1 defaults: dates and `yes`/`on` stay strings, `1e308` is a number,
a duplicate key is an error. A top-level value that is a scalar reaches the program as its text.
Encrypted values (`{secure: ...}`, at any depth) become OfflineSecret: present, never read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import yaml

from ..decide import strict_yaml
from ..decide.config_values import MAX_DEPTH, data_problems
from ..decide.strict_json import JsonTextError
from ..decide.problems import SECRET_PLACEHOLDER, InputError, OfflineSecret, Problem

# A kubeconfig that names no cluster: the offline plan never talks to one.
OFFLINE_KUBECONFIG = "apiVersion: v1\nkind: Config\n# offline plan: no cluster access\n"
__all__ = ["OFFLINE_KUBECONFIG", "SECRET_PLACEHOLDER", "load_stack_config"]


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(str(path), "file not found")]) from None
    except OSError as err:
        raise InputError([Problem(str(path), f"cannot be read ({err.strerror or type(err).__name__})")]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            [Problem(str(path), f"is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start}); save it as UTF-8")]
        ) from None


def _compose(path: Path, text: str) -> yaml.Node | None:
    try:
        # Two levels for the document and `config:`; data_problems names the key nested just too deep.
        return strict_yaml.compose(text, max_depth=MAX_DEPTH + 2)
    except strict_yaml.TooDeep as err:
        # Named by the config key and its keys down to the level just too deep (at most 8 of them).
        where = _dotted(path, err.where) if err.where[:1] == ("config",) and len(err.where) > 1 else str(path)
        raise InputError([Problem(where, f"is nested more than {MAX_DEPTH} levels deep")]) from None
    except JsonTextError as err:
        raise InputError([Problem(str(path), err.reason)]) from None


_key_text = strict_yaml.key_text


def _dotted(path: Path, where: tuple[str, ...]) -> str:
    # Under `config:` a key path is the config key's own (terway:cluster.nodeCount); elsewhere, the file's.
    if where[:1] == ("config",) and len(where) > 1:
        return ".".join(where[1:])
    return f"{path}: {'.'.join(where)}"


# A stack file holds a few dozen values; far fewer than any other document may expand to.
MAX_VALUES = 100_000


def _duplicate_keys(path: Path, root: yaml.Node) -> Iterator[Problem]:
    """Duplicate mapping keys at any depth, by key path (the Pulumi CLI refuses them)."""
    for where, why in strict_yaml.duplicate_keys(root, MAX_VALUES, MAX_DEPTH):
        yield Problem(_dotted(path, where) if where else str(path), f"{why}; the Pulumi CLI refuses it" if where else why)


def _construct(path: Path, node: yaml.Node) -> Any:
    try:
        return strict_yaml.construct(node)
    except JsonTextError as err:
        raise InputError([Problem(str(path), err.reason)]) from None


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[str, yaml.Node]]:
    """The document as data, and the node of each top-level `config` entry (for scalar text)."""
    node = _compose(path, _read_text(path))
    if node is None:
        return {}, {}
    problems = list(_duplicate_keys(path, node))
    if problems:
        raise InputError(problems)
    document = _construct(path, node)
    if not isinstance(document, dict):
        raise InputError([Problem(str(path), "must be a YAML mapping")])
    config_nodes: dict[str, yaml.Node] = {}
    for key, value in node.value if isinstance(node, yaml.MappingNode) else []:
        if _key_text(key) == "config" and isinstance(value, yaml.MappingNode):
            config_nodes = {_key_text(k): v for k, v in value.value if isinstance(k, yaml.ScalarNode)}
    return document, config_nodes


def _project(project_dir: Path) -> tuple[str, dict[str, Any]]:
    project, _ = _read_yaml(project_dir / "Pulumi.yaml")
    name = project.get("name", "terway")
    defaults = {}
    declared_config = project.get("config") or {}
    if isinstance(declared_config, dict):
        for key, declared in declared_config.items():
            if isinstance(key, str) and isinstance(declared, dict) and "default" in declared:
                defaults[key if ":" in key else f"{name}:{key}"] = declared["default"]
    return str(name), defaults


def _is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def _unsecure(value: Any, depth: int = 0) -> Any:
    """Every `{secure: ...}` envelope, at any depth, replaced by OfflineSecret: the plan shows that a value
    exists, never what it is."""
    if depth > MAX_DEPTH:  # deeper (or an alias of itself): data_problems refuses it
        return value
    if _is_envelope(value):
        return OfflineSecret()
    if isinstance(value, dict):
        return {key: _unsecure(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_unsecure(item, depth + 1) for item in value]
    return value


def _as_engine_gives_it(value: Any, node: yaml.Node | None) -> Any:
    # The CLI reads a top-level scalar into a string: `nodeCount: 12` inside an object is a number,
    # `terway:networkPolicy: 5` on its own is the text "5".
    if isinstance(node, yaml.ScalarNode) and not isinstance(value, OfflineSecret) and node.tag != "tag:yaml.org,2002:binary":
        return node.value
    return value


def load_stack_config(stack_file: Path, project_dir: Path) -> dict[str, Any]:
    """Config as the engine gives it to the program: `namespace:key` -> value, project defaults applied."""
    name, config = _project(project_dir)
    document, nodes = _read_yaml(stack_file)
    stack = document.get("config") or {}
    if not isinstance(stack, dict):
        raise InputError([Problem(f"{stack_file}: config", "must be a mapping of key -> value")])
    problems = []
    for key, value in stack.items():
        if not isinstance(key, str):
            problems.append(Problem(f"{stack_file}: config", f"keys must be strings such as terway:cluster, not {key!r}"))
            continue
        full_key = key if ":" in key else f"{name}:{key}"
        value = _as_engine_gives_it(_unsecure(value), nodes.get(key))
        namespace, name = full_key.split(":", 1)
        problems.extend(data_problems(value, [name], namespace=namespace))
        config[full_key] = value
    if problems:
        raise InputError(problems)
    # No cluster is reachable offline, so any configured kubeconfig is replaced, never read.
    config["kubernetes:kubeconfig"] = OFFLINE_KUBECONFIG
    config.pop("kubernetes:context", None)
    return config
