"""Configuration problems: one line per problem, each naming the full key path."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Iterable, Optional, Sequence

from pydantic import ValidationError

NAMESPACE = "terway"


# Keys of other namespaces that the stack reads next to its own (`terway:` names never carry one).
REGION_KEY = "alicloud:region"
FOREIGN_KEYS = frozenset({REGION_KEY})


def one_line(text: str) -> str:
    """`text` with every character that could break a line or hide itself shown escaped (\\n, \\x1f, \\u2028).

    Every problem is exactly one line: a zone key holding a newline cannot inject a fake second
    problem, whatever message quotes it.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Problem:
    """A single thing wrong with the input, addressed by its full key path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{one_line(self.path)}: {one_line(self.message)}"


class InputError(Exception):
    """Invalid configuration or input. Raised before anything is declared or written."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


MAX_PROBLEMS_SHOWN = 50


def at_most_shown(problems: Sequence[Problem]) -> list[Problem]:
    """The first MAX_PROBLEMS_SHOWN problems, and one line counting the rest: a config with thousands of
    bad zones gets a readable answer, and everything after (redaction) stays cheap."""
    if len(problems) <= MAX_PROBLEMS_SHOWN:
        return list(problems)
    rest = len(problems) - MAX_PROBLEMS_SHOWN
    where = _common_key(problem.path for problem in problems[MAX_PROBLEMS_SHOWN:])
    return [*problems[:MAX_PROBLEMS_SHOWN], Problem(where, f"and {rest} more problems like these, not shown")]


def _common_key(paths: Iterable[str]) -> str:
    """The longest key path all `paths` start with (`terway:podVSwitches.zones`), else `terway:`."""
    common: Optional[list[str]] = None
    for path in paths:
        parts = path.split(".")
        if common is None:
            common = parts
        else:
            same = 0
            while same < min(len(common), len(parts)) and common[same] == parts[same]:
                same += 1
            common = common[:same]
        if not common:
            break
    return ".".join(common) if common and ":" in common[0] else f"{NAMESPACE}:"


def key_path(loc: Iterable[object], namespace: str = NAMESPACE) -> str:
    """('podVSwitches', 'zones', 'cn-shanghai-f', 'cidr') -> terway:podVSwitches.zones.cn-shanghai-f.cidr.

    Only a key of FOREIGN_KEYS (alicloud:region) is shown as it is; any other head gets the
    namespace, even when it holds a `:` itself (`terway:cluster:name`, a typo, keeps its prefix).
    """
    parts = [one_line(str(p)) for p in loc]
    if not parts:
        return f"{namespace}:"
    head, rest = parts[0], parts[1:]
    if namespace == NAMESPACE and head in FOREIGN_KEYS:
        return ".".join([head, *rest])
    return ".".join([f"{namespace}:{head}", *rest])


_FRIENDLY = {
    "extra_forbidden": "unknown key (check the spelling against the configuration reference)",
    "missing": "required key is missing",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected a whole number",
    "int_parsing_size": "expected an integer (this one is far too large)",
    "string_type": "expected a string",
    "dict_type": "expected a mapping (object)",
    "model_type": "expected a mapping (object)",
    "model_attributes_type": "expected a mapping (object)",
    "list_type": "expected a list",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}


SECRET_PLACEHOLDER = "[secret]"
OFFLINE_SECRET_MESSAGE = (
    "is encrypted, and the offline plan cannot read it here: only snatIps entries and tag values may be "
    "secrets in a plan; set this key in plain text, or check it with `pulumi preview`"
)


class OfflineSecret(str):
    """An encrypted value the offline plan cannot read. It stands in for the value and shows as [secret]."""

    def __new__(cls) -> "OfflineSecret":
        return super().__new__(cls, SECRET_PLACEHOLDER)

    def __deepcopy__(self, memo: object) -> "OfflineSecret":
        return self


class _Redacted:
    def __repr__(self) -> str:
        return "[secret]"


def describe(value: object) -> str:
    """A value as messages quote it: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problems_from_validation_error(
    err: ValidationError, namespace: str = NAMESPACE, secret_roots: Collection[str] = ()
) -> list[Problem]:
    """Translate pydantic's errors into key-path problems, dropping pydantic's jargon.

    Under a secret top-level key (`secret_roots`), the offending input is never quoted.
    """
    problems = []
    for e in err.errors(include_url=False):
        kind = e["type"]
        if isinstance(e.get("input"), OfflineSecret):
            problems.append(Problem(key_path(e["loc"], namespace), OFFLINE_SECRET_MESSAGE))
            continue
        secret = bool(e["loc"]) and e["loc"][0] in secret_roots
        quoted = describe(e.get("input"))
        if secret:
            e = {**e, "input": _Redacted()}
        if kind in ("value_error", "assertion_error"):
            message = str(e["ctx"]["error"]) if "ctx" in e else e["msg"]
        elif kind == "too_short":
            message = "must not be empty"
        elif kind == "too_long":
            message = f"has {e['ctx'].get('actual_length')} entries; at most {e['ctx'].get('max_length')} are allowed"
        elif kind in ("greater_than_equal", "less_than_equal"):
            bound = e["ctx"].get("ge", e["ctx"].get("le"))
            relation = "at least" if kind == "greater_than_equal" else "at most"
            message = f"must be {relation} {bound}, got {describe(e.get('input'))}"
        elif kind == "literal_error":
            message = f"{describe(e.get('input'))} is not one of {e['ctx']['expected']}"
        elif kind in _FRIENDLY:
            message = _FRIENDLY[kind]
            if kind not in ("missing", "extra_forbidden"):
                message += f", got {describe(e.get('input'))}"
        else:
            message = e["msg"]
        if secret and len(quoted) >= 3:
            message = message.replace(quoted, SECRET_PLACEHOLDER)
        problems.append(Problem(key_path(e["loc"], namespace), message))
    return problems
