"""The one YAML reader of the stack: the rules of Go's yaml.v3 (what the Pulumi CLI and kubectl use), with limits.

Refused, each with the path of the value: duplicate mapping keys (yaml.v3 and the Pulumi CLI refuse
them; a repeated key could hide a foreign value), nesting deeper than MAX_DEPTH (checked on the
event stream, before PyYAML's recursive composer could exhaust the stack), and aliases expanding
to more than MAX_VALUES values. Untyped scalars resolve as yaml.v3 resolves them: dates and
`yes`/`on` stay strings.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import yaml

from .strict_json import JsonTextError, render_path

MAX_DEPTH = 512
# Aliases can make a small file expand without bound (or into itself); yaml.v3 refuses excessive
# aliasing too. Real inputs (a stack file, a node list of a few thousand nodes) stay far below.
MAX_VALUES = 5_000_000


class GoYamlLoader(yaml.SafeLoader):
    """SafeLoader with yaml.v3's implicit types for untyped values."""


GoYamlLoader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:merge", r"^<<$", "<"),
):
    GoYamlLoader.add_implicit_resolver(_tag, re.compile(_regexp), list(_first))


_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # Go's strconv.ParseInt(text, 0, 64) with underscores removed: 0x, 0o, 0b and a leading 0 (octal);
    # what it cannot parse is a float if it looks like one, else a string (as yaml.v3 does).
    text = node.value.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    try:
        if digits.startswith(("0b", "0o", "0x")):
            value = sign * int(digits, 0)
        elif len(digits) > 1 and digits.startswith("0"):
            value = sign * int(digits, 8)
        else:
            value = sign * int(digits)
    except ValueError:
        return float(text) if _GO_FLOAT.fullmatch(text) else node.value
    # Beyond int64 (and uint64 for positives) yaml.v3 falls back to ParseFloat: 22 digits become 1.2e+21.
    if -(2**63) <= value < 2**64:
        return value
    return float(text) if _GO_FLOAT.fullmatch(text) else node.value


GoYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)



class TooDeep(JsonTextError):
    """A document nesting deeper than allowed; `where` holds the keys down to the first such collection."""

    def __init__(self, where: tuple[str, ...], max_depth: int):
        self.where = where
        super().__init__(render_path(list(where)), f"is nested more than {max_depth} levels deep")


def _too_deep_at(text: str, max_depth: int) -> tuple[str, ...] | None:
    """The key path (at most 8 keys) of the first collection nested deeper than `max_depth`, from the event
    stream (no recursion), stopping there: PyYAML's scanner slows down quadratically with the depth of
    flow collections. Each open collection counts its finished children: in a mapping, even ones are keys."""
    frames: list[list] = []  # [is_mapping, finished children, last key, path]
    for event in yaml.parse(text, Loader=GoYamlLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            path: tuple[str, ...] = ()
            if frames:
                parent = frames[-1]
                step = (parent[2] if parent[1] % 2 else "<key>") if parent[0] else str(parent[1])
                path = (*parent[3], step)[:8]
            frames.append([isinstance(event, yaml.MappingStartEvent), 0, "", path])
            if len(frames) > max_depth:
                return path
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frames.pop()
            if frames:
                frames[-1][1] += 1
        elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)) and frames:
            parent = frames[-1]
            if parent[0] and parent[1] % 2 == 0:
                parent[2] = event.value if isinstance(event, yaml.ScalarEvent) else f"*{event.anchor}"
            parent[1] += 1
    return None


def _nests_deeper(text: str, max_depth: int) -> bool:
    return _too_deep_at(text, max_depth) is not None


def _one_line(err: yaml.YAMLError) -> str:
    return " ".join(str(err).split())


def compose(text: str, max_depth: int = MAX_DEPTH) -> yaml.Node | None:
    """The node tree of one YAML document; JsonTextError when it is not YAML or nests too deeply."""
    try:
        where = _too_deep_at(text, max_depth)
        if where is not None:
            raise TooDeep(where, max_depth)
        return yaml.compose(text, Loader=GoYamlLoader)
    except yaml.YAMLError as err:
        raise JsonTextError("", f"is not valid YAML ({_one_line(err)})") from None


def key_text(node: yaml.Node) -> str:
    return node.value if isinstance(node, yaml.ScalarNode) else f"<{node.id}>"


def duplicate_keys(
    root: yaml.Node, max_values: int = MAX_VALUES, max_depth: int = MAX_DEPTH
) -> Iterator[tuple[tuple[str, ...], str]]:
    """(where, why) of every duplicate mapping key down to `max_depth` (an alias of itself nests
    without end: the depth check that follows reports it); also of an alias expansion past MAX_VALUES."""
    pending: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    visited = 0
    while pending:
        node, where = pending.pop()
        visited += 1
        if visited > max_values:
            yield (), f"expands to more than {max_values} values (through YAML aliases?)"
            return
        if len(where) > max_depth:
            continue
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                text = key_text(key)
                if text in seen and key.tag != "tag:yaml.org,2002:merge":
                    yield (*where, text), f"duplicate key (lines {seen[text] + 1} and {key.start_mark.line + 1})"
                seen.setdefault(text, key.start_mark.line)
                pending.append((value, (*where, text)))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, (*where, str(i))) for i, item in enumerate(node.value))


def construct(node: yaml.Node) -> Any:
    loader = GoYamlLoader("")
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        raise JsonTextError("", f"is not valid YAML ({_one_line(err)})") from None
    finally:
        loader.dispose()


def load(text: str) -> Any:
    """The data of one YAML document, strictly; JsonTextError naming the path of the first problem."""
    node = compose(text)
    if node is None:
        return None
    for where, why in duplicate_keys(node):
        raise JsonTextError(render_path(list(where)), why)
    for where in _too_deep(node):
        raise JsonTextError(render_path(list(where)), f"nests deeper than {MAX_DEPTH} levels (through YAML aliases?)")
    return construct(node)


def load_secret(text: str, max_values: int = 100_000) -> Any:
    """`load` for a secret document (the kubeconfig): the same rules, and every JsonTextError says what is
    wrong and at which line, never quoting the text (no key names, no PyYAML message: it quotes the line).
    The path of a JsonTextError is always "" here. A kubeconfig holds a few hundred values: `max_values`
    keeps an alias bomb's refusal quick."""
    try:
        if _nests_deeper(text, MAX_DEPTH):
            raise JsonTextError("", f"is nested more than {MAX_DEPTH} levels deep")
        node = yaml.compose(text, Loader=GoYamlLoader)
    except yaml.MarkedYAMLError as err:
        raise JsonTextError("", f"is not valid YAML{_where(err.problem_mark or err.context_mark)}") from None
    except (yaml.YAMLError, ValueError):
        raise JsonTextError("", "is not valid YAML") from None
    if node is None:
        return None
    for _where_, why in duplicate_keys(node, max_values):
        raise JsonTextError("", why.replace("duplicate key", "has a duplicate mapping key", 1))
    for _deep in _too_deep(node):
        raise JsonTextError("", f"nests deeper than {MAX_DEPTH} levels (through YAML aliases?)")
    try:
        return construct(node)
    except JsonTextError:
        raise JsonTextError("", "is not valid YAML (a value of the wrong type for its tag)") from None


def _where(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _too_deep(root: yaml.Node) -> Iterator[tuple[str, ...]]:
    pending: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    while pending:
        node, where = pending.pop()
        if len(where) > MAX_DEPTH:
            yield where[:8]
            return
        if isinstance(node, yaml.MappingNode):
            pending.extend((value, (*where, key_text(key))) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, (*where, str(i))) for i, item in enumerate(node.value))
