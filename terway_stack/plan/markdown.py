"""Markdown building blocks for the plan's job-summary form (GitHub-flavoured Markdown).

Every value that comes from a stack file, a live ConfigMap or a policy message goes through `text` or
`code`: a PR author controls those, and they must not be able to add table columns, close a code
block, or inject HTML into the summary a reviewer trusts.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

# Backslash-escaping any ASCII punctuation is valid Markdown; these are the ones that start markup.
_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]<>|&~#!])")
_BLOCK_STARTS = re.compile(r"^(\d*)([-+=.)])")
_BACKTICK_RUNS = re.compile(r"`+")


def _one_line(value: str) -> str:
    return " ".join(value.splitlines()) if value else ""


def text(value: str) -> str:
    """Plain text: shown as is, never read as markup (safe in a table cell or a list item)."""
    escaped = _INLINE_SPECIALS.sub(r"\\\1", _one_line(value)).strip()
    return _BLOCK_STARTS.sub(r"\1\\\2", escaped)


def _longest_backtick_run(value: str) -> int:
    return max((len(run) for run in _BACKTICK_RUNS.findall(value)), default=0)


def code(value: str, cell: bool = False) -> str:
    """An inline code span holding `value` verbatim (on one line); `cell=True` inside a table."""
    value = _one_line(value)
    if not value.strip():
        return '`""`' if not value else f"`{value}`"
    fence = "`" * (_longest_backtick_run(value) + 1)
    # CommonMark strips one space from each end when both ends have one (or a backtick would touch the fence).
    edges = value[0] + value[-1]
    padded = f" {value} " if "`" in edges or edges == "  " else value
    if cell:  # GFM splits table cells on `|` even inside code spans; `\|` is shown as `|` there
        padded = padded.replace("|", "\\|")
    return f"{fence}{padded}{fence}"


def fenced(content: str, language: str = "") -> str:
    """A fenced code block that no line of `content` can close."""
    fence = "`" * max(3, _longest_backtick_run(content) + 1)
    return f"{fence}{language}\n{content}\n{fence}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Cells must already be `text`/`code` output."""
    if not rows:
        return "None."
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def bullets(items: Iterable[str]) -> str:
    """Items must already be `text`/`code` output; empty when there are none."""
    return "\n".join(f"- {item}" for item in items)


def section(title: str, *parts: str) -> str:
    """`title` is ours (fixed wording), not escaped."""
    return "\n\n".join([f"### {title}", *(p for p in parts if p)])
