"""One decoder for stack configuration: `pulumi up`, the offline plan and the policy pack all read through it.

The engine hands a program every `namespace:key` as text: strings as they are, objects and lists as
JSON. The offline plan reads Pulumi.<stack>.yaml into the same shape, with encrypted values replaced by
OfflineSecret. Whatever arrives is checked here as plain JSON data (string keys, valid Unicode, finite
numbers, bounded depth) before any model sees it, so no value can crash or stall a later step.
"""
from __future__ import annotations

import math
from typing import Any, Collection, Iterable, Iterator, Mapping

from . import strict_json
from .text import EDGE_BLANKS
from .redaction import Redactor
from .problems import NAMESPACE, REGION_KEY, InputError, OfflineSecret, Problem, key_path
# Deeper than any real configuration (ours is 5 levels), shallow enough for every recursive step after.
MAX_DEPTH = 32


class UndecodableValue(ValueError):
    """A config value that is not readable JSON data; the message says why, never quoting the value."""


def decode_config_value(value: Any) -> Any:
    """The engine hands structured config over as JSON text and plain strings as they are.

    Text that starts like JSON but is not JSON stays a string (it may be one). Raises UndecodableValue
    for JSON that no step after could handle: nesting deeper than Python's stack, numbers too long.
    """
    if isinstance(value, str) and not isinstance(value, OfflineSecret) and value.lstrip()[:1] in ("{", "["):
        try:
            return strict_json.parse(value.strip(strict_json.WHITESPACE), strict_json.MAX_INTEGER_DIGITS).value
        except strict_json.JsonTextError as err:
            if err.reason.startswith("nests deeper"):
                raise UndecodableValue(f"is nested more than {MAX_DEPTH} levels deep") from None
            if "digits" in err.reason:
                raise UndecodableValue(f"holds {err.reason}") from None
            return value
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, str):
        if _has_surrogate(value):
            return "is not valid Unicode text (it holds a lone UTF-16 surrogate such as \\ud800)"
        return None
    if value is None or isinstance(value, (bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number"
    if isinstance(value, (bytes, bytearray)):
        return "a binary (!!binary) value is not supported; write text"
    return f"a {type(value).__name__} value is not supported; write a string, number, true/false, list or mapping"


def data_problems(value: Any, loc: Iterable[Any] = (), namespace: str = NAMESPACE) -> list[Problem]:
    """Everything that makes `value` other than plain JSON data, each at its key path.

    Iterative, so that any depth is reported instead of exhausting the stack.
    """
    problems: list[Problem] = []
    pending: list[tuple[Any, tuple[Any, ...]]] = [(value, tuple(loc))]
    while pending:
        node, where = pending.pop()
        if len(where) > MAX_DEPTH:
            problems.append(Problem(key_path(where[:MAX_DEPTH], namespace), f"is nested more than {MAX_DEPTH} levels deep"))
            continue
        if isinstance(node, Mapping):
            for key, item in node.items():
                if not isinstance(key, str):
                    problems.append(
                        Problem(key_path(where, namespace), f"keys must be strings; quote the key {_short(key)}")
                    )
                elif _has_surrogate(key):
                    problems.append(Problem(key_path((*where, key), namespace), "the key is not valid Unicode text"))
                else:
                    pending.append((item, (*where, key)))
        elif isinstance(node, (list, tuple)):
            pending.extend((item, (*where, index)) for index, item in enumerate(node))
        else:
            message = _scalar_problem(node)
            if message:
                problems.append(Problem(key_path(where, namespace), message))
    return sorted(problems, key=lambda p: p.path)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def raw_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """`terway:<key>` entries without their prefix, plus alicloud:region, decoded and checked as plain data.

    Raises InputError naming every value that is not plain JSON data.
    """
    prefix = f"{NAMESPACE}:"
    raw: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in config.items():
        if not isinstance(key, str) or not (key.startswith(prefix) or key == REGION_KEY):
            continue
        name = key[len(prefix):] if key.startswith(prefix) else key
        try:
            raw[name] = decode_config_value(value) if key != REGION_KEY else value
        except UndecodableValue as err:
            problems.append(Problem(key_path([name]), str(err)))
    problems.extend(data_problems(raw))
    if problems:
        raise InputError(problems)
    return raw


# --- secrets: errors about a secret value say what is wrong without quoting it -----------------------


def scalar_leaves(*roots: Any) -> Iterator[Any]:
    """Every value inside `roots` that is neither a mapping nor a list, depth first; iterative, so any
    depth is walked without exhausting the stack. Mapping keys are names, not values: not included."""
    pending = list(roots)
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            pending.extend(node.values())
        elif isinstance(node, (list, tuple)):
            pending.extend(node)
        else:
            yield node


def secret_leaves(raw: Mapping[str, Any], secret_keys: Collection[str]) -> list[str]:
    """Text of every scalar inside the raw values whose top-level key is secret (`cluster`, `alicloud:region`),
    as given and as the rules clean it (blanks around it removed), so that a message quoting either is caught."""
    leaves: list[str] = []
    for node in scalar_leaves(*(raw[key] for key in secret_keys if key in raw)):
        if node is not None and not isinstance(node, bool):
            text = str(node)
            leaves.extend({text, text.strip(EDGE_BLANKS), text.strip()})
    return leaves


def redact(problems: Iterable[Problem], leaves: Collection[str]) -> list[Problem]:
    """Problems whose messages no longer contain any of `leaves` (each shown as [secret] instead)."""
    return Redactor(leaves).problems(problems)


def secret_roots(config_secret_keys: Collection[str]) -> set[str]:
    """Engine secret keys (`terway:podVSwitches`) as raw-settings names (`podVSwitches`)."""
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix):] if k.startswith(prefix) else k for k in config_secret_keys}


def secret_texts(settings: Any) -> tuple[set[str], set[int]]:
    """(texts, integers) of every value under the settings' secret top-level keys, as the program uses
    them (cleaned and canonical). Mapping keys are names, not values, and are not included."""
    dumped = settings.model_dump(by_alias=True)
    texts: set[str] = set()
    numbers: set[int] = set()
    for node in scalar_leaves(*(dumped[root] for root in settings.secret_roots if root in dumped)):
        if isinstance(node, bool) or node is None:
            continue
        if isinstance(node, int):
            numbers.add(node)
        texts.add(str(node))
    return texts, numbers
