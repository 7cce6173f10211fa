"""The one place that turns secret values into [secret] in any text shown to a person.

Which values are secret is known in one place too: the settings' secret top-level keys
(`StackSettings.secret_roots`, from the engine's secret config keys), whose values
`config_values.secret_texts` lists as the program uses them. Every path that shows text goes through
a `Redactor` of those texts: configuration problems (decide/settings.py, program.py), the program's
log lines and outputs (declare/secrets.py), and every message, exception and stderr line of the
dynamic providers (act/dynamic.py), which receive the texts as a secret input.

A value can be quoted in several forms: as given (padded with blanks), cleaned, as a Python repr or a
JSON string (escapes for quotes, backslashes and control characters), or escaped onto one line the
way `problems.one_line` shows it. Each form is replaced where it stands alone: a secret `net` leaves
`network` as it is. One combined pattern, so a message costs one scan whatever the number of secrets.
"""
from __future__ import annotations

import json
import re
from typing import Collection, Iterable

from .problems import SECRET_PLACEHOLDER, Problem, one_line
from .text import EDGE_BLANKS

_WORD = "0-9A-Za-z_"


def quoted_forms(value: str) -> set[str]:
    """Every way a message may show `value`: raw, cleaned, repr, JSON, escaped onto one line."""
    forms = set()
    for text in {value, value.strip(EDGE_BLANKS), value.strip()}:
        if text:
            forms |= {text, repr(text), repr(text)[1:-1], json.dumps(text), json.dumps(text, ensure_ascii=False),
                      json.dumps(text)[1:-1], one_line(text)}
    return {form for form in forms if form and form not in ("''", '""')}


class Redactor:
    """Replaces every quoted form of the given secret texts with [secret]."""

    def __init__(self, texts: Iterable[str] = ()):
        self.texts = frozenset(t for t in texts if isinstance(t, str) and t.strip())
        forms = sorted({form for text in self.texts for form in quoted_forms(text)}, key=len, reverse=True)
        self._pattern = (
            re.compile(rf"(?<![{_WORD}])(?:{'|'.join(map(re.escape, forms))})(?![{_WORD}])") if forms else None
        )

    @property
    def empty(self) -> bool:
        return self._pattern is None

    def finds(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(text) is not None

    def redact(self, text: str) -> str:
        return self._pattern.sub(SECRET_PLACEHOLDER, text) if self._pattern is not None else text

    def problems(self, problems: Iterable[Problem]) -> list[Problem]:
        return [Problem(p.path, self.redact(p.message)) for p in problems]

    def with_texts(self, texts: Collection[str]) -> "Redactor":
        """This redactor and `texts` too (itself when they add nothing)."""
        more = frozenset(t for t in texts if isinstance(t, str) and t.strip()) - self.texts
        return Redactor(self.texts | more) if more else self
