"""The Markdown building blocks, checked by a real CommonMark + GFM-table parser (markdown-it-py).

Whatever a PR author puts in a stack file or a live ConfigMap must come out as the same text in the
job summary: no extra table column, no closed code block, no raw HTML.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from terway_stack.plan import markdown as md

PARSER = MarkdownIt("commonmark").enable("table")  # commonmark keeps raw HTML on: injection would show

# Printable text, weighted towards the characters Markdown gives meaning to.
MARKUP = "\\`*_[]<>|&~#!-+=.)(\n\t 0123456789"
hostile = st.text(alphabet=st.one_of(st.sampled_from(MARKUP), st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))), max_size=40)


def one_line(value: str) -> str:
    return " ".join(value.splitlines())


def inline_text(token) -> str:
    return "".join(child.content for child in token.children if child.type in ("text", "text_special"))


def no_html(tokens) -> bool:
    return not any(t.type.startswith("html") or any(c.type.startswith("html") for c in t.children or ()) for t in tokens)


def cells(document: str) -> list[list]:
    tokens = PARSER.parse(document)
    rows, row = [], None
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token)
        elif token.type == "tr_close":
            rows.append(row)
            row = None
    return rows


@settings(max_examples=300, deadline=None)
@given(hostile, hostile)
def test_text_and_code_in_a_table_keep_the_columns_and_the_exact_value(plain, literal):
    document = md.table(("a", "b", "c"), [(md.text(plain), md.code(literal, cell=True), "end")])
    header, row = cells(document)
    assert len(header) == 3 and len(row) == 3, document
    assert inline_text(row[0]) == one_line(plain).strip()
    codes = [c.content for c in row[1].children if c.type == "code_inline"]
    assert codes == ([one_line(literal)] if one_line(literal) else ['""']), document
    assert inline_text(row[2]) == "end"
    assert no_html(PARSER.parse(document))


@settings(max_examples=300, deadline=None)
@given(hostile)
def test_text_in_a_list_item_stays_one_plain_item(plain):
    tokens = PARSER.parse(md.bullets([md.text(plain), "next"]))
    items = [t for t in tokens if t.type == "list_item_open"]
    assert len(items) == 2, md.bullets([md.text(plain)])
    assert no_html(tokens)
    inlines = [t for t in tokens if t.type == "inline"]
    assert [i.type for i in inlines[0].children if i.type not in ("text", "text_special", "softbreak")] == []


@settings(max_examples=300, deadline=None)
@given(st.lists(hostile, max_size=6))
def test_a_fenced_block_holds_any_content_verbatim(lines):
    content = "\n".join(one_line(line) for line in lines)
    tokens = PARSER.parse(md.fenced(content, "diff") + "\n\nafter")
    [fence] = [t for t in tokens if t.type == "fence"]
    assert fence.info == "diff"
    assert fence.content == content + "\n"
    assert [t.content for t in tokens if t.type == "inline"] == ["after"]


def test_escaping_examples():
    assert md.text("a|b <script>") == "a\\|b \\<script\\>"
    assert md.code("x`y") == "``x`y``"
    assert md.code("a|b", cell=True) == "`a\\|b`"
    assert md.fenced("```", "diff").startswith("````diff\n")
