"""A strict JSON reader that keeps where every value sits in the text.

Terway reads `eni_conf` with Go's `encoding/json`. Python's `json` accepts more (NaN, Infinity,
numbers beyond float64 such as 1e400, duplicate keys, lone surrogates) and forgets positions, so
it can neither refuse what Terway cannot read nor rewrite one key while keeping every other byte.

Why a small scanner of our own rather than a library: the rules are Go's, not any Python library's
defaults, and the only extra the merge needs is the span of each value. Refused on purpose, beyond
what Go refuses, because Go would silently read something other than what the text says:
- duplicate keys (Go keeps the last, but merges a repeated object into the first one's map);
- invalid UTF-8 / unpaired surrogates, raw or escaped (Go replaces them with U+FFFD);
- nesting deeper than MAX_DEPTH (Go allows 10000; no Terway config nests beyond 4, and a bound keeps
  every later step free of recursion limits).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

MAX_DEPTH = 512
# The Pulumi engine carries numbers as 64-bit floats and writes 1e21 and above with an exponent, which
# no whole-number rule accepts: an integer of 22 or more digits is refused here, as the engine would.
MAX_INTEGER_DIGITS = 21
# The largest document read (a node list of a few thousand nodes is tens of MiB).
MAX_DOCUMENT_CHARS = 64 * 1024 * 1024
WHITESPACE = " \t\n\r"  # JSON's four; Go refuses every other space, including a byte-order mark

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_PLAIN = re.compile(r'[^"\\\x00-\x1f\ud800-\udfff]*')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS = {"true": True, "false": False, "null": None}
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_\-./]{1,60}")


class JsonTextError(ValueError):
    """Text a strict Go JSON decoder would reject (or read differently), with the path of the value."""

    def __init__(self, path: str, reason: str):
        self.path = path  # e.g. "extra_routes[0].dst"; "" for the document itself
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


@dataclass
class Node:
    """One JSON value: its kind, its span text[start:end] and its Python value."""

    kind: str  # object | array | string | number | literal
    start: int
    end: int
    value: Any = None
    members: list["Member"] = field(default_factory=list)  # objects
    items: list["Node"] = field(default_factory=list)  # arrays

    def member(self, key: str) -> Optional["Member"]:
        return next((m for m in self.members if m.key == key), None)

    def children(self) -> list["Node"]:
        return [m.value for m in self.members] if self.kind == "object" else self.items

    def child_starts(self) -> list[int]:
        return [m.key_start for m in self.members] if self.kind == "object" else [i.start for i in self.items]


@dataclass
class Member:
    key: str
    key_start: int
    key_end: int
    value: Node


def describe_key(key: str) -> str:
    """A key as it may appear in a one-line error path."""
    return key if _SIMPLE_KEY.fullmatch(key) else _quote(key[:40])


def _quote(text: str) -> str:
    return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


def render_path(parts: list[Any]) -> str:
    if len(parts) > 8:  # deep nesting: the first levels locate it well enough
        return render_path(parts[:6]) + "..."
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + describe_key(part)
    return out


def line_column(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    return f"line {line} column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


class _Frame:
    """An open object or array while scanning."""

    def __init__(self, node: Node, path: list[Any]):
        self.node = node
        self.path = path
        self.key: Optional[Member] = None  # object: the member whose value comes next
        self.seen: set[str] = set()

    def child_path(self) -> list[Any]:
        if self.node.kind == "object":
            return [*self.path, self.key.key]
        return [*self.path, len(self.node.items)]


class _Scanner:
    def __init__(self, text: str, max_integer_digits: Optional[int] = None):
        self.text = text
        self.max_integer_digits = max_integer_digits

    def fail(self, path: list[Any], reason: str) -> JsonTextError:
        return JsonTextError(render_path(path), reason)

    def ws(self, pos: int) -> int:
        return _WS.match(self.text, pos).end()

    def document(self) -> Node:
        text = self.text
        stack: list[_Frame] = []
        pos = self.ws(0)
        root: Optional[Node] = None
        while True:
            path = stack[-1].child_path() if stack else []
            node, pos = self.value(pos, path, len(stack))
            if node.kind in ("object", "array"):
                frame = _Frame(node, path)
                pos = self.ws(pos)
                closer = "}" if node.kind == "object" else "]"
                if text.startswith(closer, pos):
                    pos = self.close(frame, pos)
                else:
                    stack.append(frame)
                    if node.kind == "object":
                        pos = self.key(frame, pos)
                    continue
            # A value (scalar or a container closed at once) is complete: attach it and close parents.
            while True:
                if not stack:
                    root = node
                    break
                frame = stack[-1]
                self.attach(frame, node)
                pos = self.ws(pos)
                char = text[pos : pos + 1]
                if char == ",":
                    pos = self.ws(pos + 1)
                    if frame.node.kind == "object":
                        pos = self.key(frame, pos)
                    break
                closer = "}" if frame.node.kind == "object" else "]"
                if char != closer:
                    found = f"{char!r}" if char else "the end of the text"
                    raise self.fail(
                        self.last_child_path(frame),
                        f"expected ',' or '{closer}' after this value, found {found} at {line_column(text, pos)}",
                    )
                stack.pop()
                pos = self.close(frame, pos)
                node = frame.node
            if root is not None:
                break
        end = self.ws(pos)
        if end != len(text):
            raise self.fail([], f"trailing data after the JSON value at {line_column(text, end)}")
        return root

    @staticmethod
    def last_child_path(frame: _Frame) -> list[Any]:
        if frame.node.kind == "object":
            return [*frame.path, frame.node.members[-1].key]
        return [*frame.path, len(frame.node.items) - 1]

    def attach(self, frame: _Frame, node: Node) -> None:
        if frame.node.kind == "object":
            frame.key.value = node
            frame.node.members.append(frame.key)
            frame.key = None
        else:
            frame.node.items.append(node)

    def close(self, frame: _Frame, pos: int) -> int:
        node = frame.node
        node.end = pos + 1
        if node.kind == "object":
            node.value = {m.key: m.value.value for m in node.members}
        else:
            node.value = [i.value for i in node.items]
        return pos + 1

    def key(self, frame: _Frame, pos: int) -> int:
        text = self.text
        if not text.startswith('"', pos):
            found = repr(text[pos]) if pos < len(text) else "the end of the text"
            raise self.fail(frame.path, f"expected a quoted key, found {found} at {line_column(text, pos)}")
        key, end = self.string(pos, frame.path)
        if key in frame.seen:
            raise self.fail(
                [*frame.path, key],
                "appears twice in the same object: JSON readers disagree on which one counts"
                " (Go keeps the last and merges repeated objects); keep one",
            )
        frame.seen.add(key)
        colon = self.ws(end)
        if not text.startswith(":", colon):
            raise self.fail([*frame.path, key], f"expected ':' after the key at {line_column(text, colon)}")
        frame.key = Member(key, pos, end, None)
        return self.ws(colon + 1)

    def value(self, pos: int, path: list[Any], depth: int) -> tuple[Node, int]:
        text = self.text
        char = text[pos : pos + 1]
        if char in ("{", "["):
            if depth >= MAX_DEPTH:
                raise self.fail(path, f"nests deeper than {MAX_DEPTH} levels")
            return Node("object" if char == "{" else "array", pos, -1), pos + 1
        if char == '"':
            value, end = self.string(pos, path)
            return Node("string", pos, end, value), end
        if char and char in "-0123456789":
            return self.number(pos, path)
        for word, value in _LITERALS.items():
            if text.startswith(word, pos):
                return Node("literal", pos, pos + len(word), value), pos + len(word)
        if text.startswith(("NaN", "Infinity", "-Infinity"), pos):
            raise self.fail(path, "NaN and Infinity are not JSON; Terway's Go decoder rejects them")
        if not char:
            raise self.fail(path, "expected a value, found the end of the text")
        raise self.fail(path, f"expected a value, found {char!r} at {line_column(text, pos)}")

    def number(self, pos: int, path: list[Any]) -> tuple[Node, int]:
        text = self.text
        match = _NUMBER.match(text, pos)
        if match is None:
            if text.startswith("-Infinity", pos):
                raise self.fail(path, "NaN and Infinity are not JSON; Terway's Go decoder rejects them")
            raise self.fail(path, f"malformed number at {line_column(text, pos)}")
        literal = match.group()
        if match.end() < len(text) and text[match.end()] in "0123456789.eE+-":
            raise self.fail(path, f"malformed number {text[pos:match.end() + 1]!r} at {line_column(text, pos)}")
        digits = len(literal.lstrip("-").split(".")[0].split("e")[0].split("E")[0])
        if self.max_integer_digits is not None and digits > self.max_integer_digits:
            raise self.fail(
                path, f"a number of {digits} digits: the Pulumi engine reads {self.max_integer_digits + 1} or more digits "
                "as a float and refuses it"
            )
        as_float = float(literal)
        if as_float in (float("inf"), float("-inf")):
            shown = literal if len(literal) <= 24 else literal[:21] + "..."
            raise self.fail(path, f"{shown} does not fit a 64-bit float; Terway's Go decoder rejects it")
        is_integer = not any(c in literal for c in ".eE")
        return Node("number", pos, match.end(), int(literal) if is_integer else as_float), match.end()

    def string(self, pos: int, path: list[Any]) -> tuple[str, int]:
        """The string starting at text[pos] == '"', decoded, and the position after its closing quote."""
        text = self.text
        parts: list[str] = []
        i = pos + 1
        while True:
            plain = _PLAIN.match(text, i)
            parts.append(plain.group())
            i = plain.end()
            char = text[i : i + 1]
            if char == '"':
                return "".join(parts), i + 1
            if char == "\\":
                decoded, i = self.escape(i, path)
                parts.append(decoded)
                continue
            if not char:
                raise self.fail(path, f"unterminated string starting at {line_column(text, pos)}")
            if "\ud800" <= char <= "\udfff":
                raise self.fail(path, f"holds an unpaired surrogate U+{ord(char):04X}: not valid UTF-8")
            raise self.fail(
                path, f"raw control character U+{ord(char):04X} inside a string at {line_column(text, i)} (escape it)"
            )

    def escape(self, i: int, path: list[Any]) -> tuple[str, int]:
        text = self.text
        kind = text[i + 1 : i + 2]
        if kind in _ESCAPES:
            return _ESCAPES[kind], i + 2
        if kind != "u":
            raise self.fail(path, f"invalid escape {text[i:i + 2]!r} at {line_column(text, i)}")
        unit = self.hex4(i, path)
        if 0xDC00 <= unit <= 0xDFFF:
            raise self.fail(path, f"holds an unpaired surrogate \\u{unit:04x}: not valid UTF-8")
        if 0xD800 <= unit <= 0xDBFF:
            low = self.hex4(i + 6, path) if text.startswith("\\u", i + 6) else None
            if low is None or not 0xDC00 <= low <= 0xDFFF:
                raise self.fail(path, f"holds an unpaired surrogate \\u{unit:04x}: not valid UTF-8")
            return chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)), i + 12
        return chr(unit), i + 6

    def hex4(self, i: int, path: list[Any]) -> int:
        digits = self.text[i + 2 : i + 6]
        if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise self.fail(path, f"invalid \\u escape at {line_column(self.text, i)}")
        return int(digits, 16)


def parse(text: str, max_integer_digits: Optional[int] = None) -> Node:
    """The document's tree of values with their spans; JsonTextError when Go would reject or misread it.

    `max_integer_digits`: for documents whose numbers pass through the Pulumi engine (config, input
    files); eni_conf is Terway's, read by Go as float64, so it has no such limit.
    """
    return _Scanner(text, max_integer_digits).document()


def dumps_inline(value: Any, item_gap: str = " ", colon: str = ": ") -> str:
    """One-line JSON of strings, lists and dicts, in the given spacing (for text we insert)."""
    if isinstance(value, str):
        if any("\ud800" <= c <= "\udfff" for c in value):
            raise ValueError(f"{value!r} holds an unpaired surrogate")
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ("," + item_gap).join(dumps_inline(v, item_gap, colon) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ("," + item_gap).join(
            dumps_inline(k, item_gap, colon) + colon + dumps_inline(v, item_gap, colon) for k, v in value.items()
        ) + "}"
    raise TypeError(f"cannot render {type(value).__name__} inline")


def read_document(text: str, yaml_allowed: bool = True) -> Any:
    """THE reader of every JSON or YAML document the stack reads: strict, bounded, with the path of each problem.

    JSON (the first character `{` or `[`) by this module's Go rules; anything else, when allowed, by
    decide.strict_yaml (yaml.v3's rules). Raises JsonTextError(path, reason).
    """
    if len(text) > MAX_DOCUMENT_CHARS:
        raise JsonTextError("", f"is {len(text) // (1024 * 1024)} MiB long; at most {MAX_DOCUMENT_CHARS // (1024 * 1024)} MiB is read")
    from . import strict_yaml  # strict_yaml reports through this module's JsonTextError

    if text.lstrip(WHITESPACE)[:1] in ("{", "[") or not yaml_allowed:
        try:
            return parse(text, MAX_INTEGER_DIGITS).value
        except JsonTextError as err:
            # `{a: 1}` is YAML's flow style: text that is not JSON syntax may still be YAML. What JSON
            # refuses on purpose (duplicate keys, depth, long numbers) stays refused.
            if not yaml_allowed or not err.reason.startswith(_SYNTAX_ERRORS):
                raise
        return strict_yaml.load(text)
    return strict_yaml.load(text)


_SYNTAX_ERRORS = ("expected", "unterminated", "invalid", "trailing", "malformed", "raw control")
