"""The PR's sticky comment: base-vs-head plan diffs of each changed stack, as Markdown.

The first line is a hidden marker, so the workflow finds and updates the same comment on each push.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from ..plan import markdown as md
from .plan_diff import NO_OP, OPS, StackDiff

MARKER = "<!-- terway-stack:pr-plan-diff -->"
SAMPLE_NOTE = (
    "**The live side is the built-in sample eni-config** (`terway_stack/plan/sample_eni_config.yaml`), "
    "not this cluster's ConfigMap: eni-config values below are what the stack would write over the sample."
)
# GitHub refuses comments over 65536 characters.
MAX_CHARS = 60000
OFFLINE_NOTE = "Both sides are offline plans (Pulumi's mock runtime, the real program; no cloud, no cluster)."


def stack_section(diff: StackDiff, live_source: str) -> str:
    title = f"### Stack {md.code(diff.stack)}"
    if diff.error:
        return f"{title}\n\n{md.text('could not be planned: ')}\n\n{md.fenced(diff.error)}"
    notes = []
    if diff.base_missing:
        notes.append("New stack file in this PR: every resource is a create.")
    if diff.head_missing:
        notes.append("This PR deletes the stack file: every resource is a delete.")
    notes.append(SAMPLE_NOTE if live_source == "sample" else f"Live side: {md.text(live_source)}.")
    counts = diff.counts()
    summary = ", ".join(f"{counts[op]} {op}" for op in OPS)
    rows = [(md.text(r.op), md.code(r.type, cell=True), md.code(r.name, cell=True), md.text(", ".join(r.keys) or "-"))
            for r in diff.changed]
    table = md.table(("op", "type", "resource", "changed keys"), rows) if rows else "No resource changes."
    return "\n\n".join([title, *notes, f"**{summary}**", table])


def render(diffs: Sequence[StackDiff], live_sources: Mapping[str, str], base: str, head: str) -> str:
    lines = [MARKER, "## terway-stack: what this PR changes, per stack", ""]
    lines.append(f"Plans at the base ({md.code(base)}) and at the head ({md.code(head)}). {OFFLINE_NOTE}")
    if not diffs:
        return "\n".join([*lines, "", "This PR changes no stack (only docs, tests or e2e)."]) + "\n"
    rows = []
    for d in diffs:
        counts = d.counts()
        changed = [op for op in OPS if op != NO_OP and counts[op]]
        what = "plan failed" if d.error else (", ".join(f"{counts[op]} {op}" for op in changed) or "no change")
        rows.append((md.code(d.stack, cell=True), md.text(what), md.text(", ".join(d.changed_keys()[:8]) or "-")))
    lines += ["", md.table(("stack", "resources", "changed keys"), rows)]
    sections = [stack_section(d, live_sources.get(d.stack, "sample")) for d in diffs]
    text = "\n".join(lines) + "\n\n" + "\n\n".join(sections) + "\n"
    if len(text) > MAX_CHARS:
        cut = text.rfind("\n### Stack", 0, MAX_CHARS)
        text = text[: cut if cut > 0 else MAX_CHARS] + "\n\n_Truncated: the whole diff is in the job summary._\n"
    return text
