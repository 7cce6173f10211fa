"""One definition of "text", for every config or live value that is checked and then used.

Why one definition: Python's `str.strip()` removes U+001C..U+001F while pydantic's whitespace
stripping keeps them, so a check on `value.strip()` and a use of pydantic's value disagreed, and
`"vsw-...\\u001f"` passed the id check and was written. Here the value is cleaned once, checked, and
the checked value is the one returned and used.

Rules: the ASCII blanks a shell or an editor adds around a value (space, tab, CR, LF) are removed at
both ends; no control or invisible formatting character may remain anywhere (C0, DEL, C1 including
U+0085, the line and paragraph separators U+2028/U+2029, zero-width and bidirectional marks, the
byte-order mark). Messages name the character by its code point and position, never the value,
so they are safe for secrets.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from pydantic import BeforeValidator
from typing_extensions import Annotated

from .problems import OfflineSecret

EDGE_BLANKS = " \t\r\n"
# The longest config text the stack reads; every rule after this one is linear in it anyway, and no
# real id, name, tag or image reference comes near it.
MAX_TEXT_LENGTH = 4096

_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff]"
)


def control_character_problem(text: str) -> Optional[str]:
    """Why `text` is not acceptable text (the first control character), or None."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return (
        f"holds the control character U+{ord(found.group()):04X} at position {found.start() + 1}; "
        "remove it (only printable characters are accepted)"
    )


def checked_text(value: Any) -> Any:
    """The value as it will be used: blanks removed at both ends, then refused if anything unprintable is left.

    Non-strings pass unchanged (the field's type then says "expected a string"); so does the offline
    plan's stand-in for a secret it cannot read.
    """
    if not isinstance(value, str) or isinstance(value, OfflineSecret):
        return value
    text = value.strip(EDGE_BLANKS)
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"is {len(text)} characters long; at most {MAX_TEXT_LENGTH} are accepted")
    problem = control_character_problem(text)
    if problem:
        raise ValueError(problem)
    return text


def checked_key(value: Any) -> Any:
    """A mapping key (zone, tag key): like text, but blanks around it are refused rather than removed,
    so that two spellings of one key can never both be accepted."""
    if not isinstance(value, str):
        return value
    if value != value.strip(EDGE_BLANKS):
        raise ValueError("has blanks around it; remove them")
    return checked_text(value)


Text = Annotated[str, BeforeValidator(checked_text)]
Key = Annotated[str, BeforeValidator(checked_key)]
