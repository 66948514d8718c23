"""The one Markdown reader: block structure with file line numbers, from a CommonMark parser.

Parsing, lint, the dashboard and the reports read Markdown structure through this module
only, so a fence, a setext heading or an HTML `<h2>` means the same thing everywhere.
markdown-it-py (CommonMark, plus GFM tables) gives each block token a line map; we run its
block rules only (no inline parsing: headings, lists, tables, fences and quotes are all block
structure, and skipping inline rules halves the cost, which matters at 10,000 files).

A `Document` is a flat list of `Block`s in source order. Line numbers are 1-based file lines:
`first_line` says which file line the text starts on (front matter comes before it).
"""

from __future__ import annotations

import bisect
import functools
import html
import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

# An HTML heading inside an HTML block (exports from Confluence and Google Docs keep them).
# Bounded repetitions only: an attacker's 1 MB line must not backtrack.
_HTML_HEADING = re.compile(r"<h([1-6])(?:\s[^<>]{0,2000})?>(.{0,2000}?)</h\1\s*>", re.I | re.S)
_HTML_TAG = re.compile(r"<[^<>]{0,2000}>")
_LIST_MARKER = re.compile(r"^\s{0,12}(?:[-*+]|\d{1,9}[.)])(?:\s+|$)")
_CHECKBOX = re.compile(r"^\[([ xX✓✔])\]\s*")


@dataclass
class Block:
    kind: str  # heading, paragraph, item, table, fence, code, quote, html, hr
    line: int  # 1-based file line where the block starts
    end_line: int  # 1-based file line after the block's last line
    text: str  # heading text, paragraph source, item source (marker removed), fence content
    level: int = 0  # heading level (1-6); list nesting depth for items (1 = top level)
    info: str = ""  # fence info string ("diff", "json", ...)
    ordered: bool = False  # items of a numbered list
    checked: bool | None = None  # items: "[x]" True, "[ ]" False, no box None
    rows: list[list[str]] = field(default_factory=list)  # tables: header row first
    quoted: bool = False  # inside a blockquote
    # Headings only: read from a plain line ("Root Cause", "Impact:", "Cause: the deploy ...")
    # of a document that marks its sections without Markdown; an inline one ("Cause: ...")
    # has its body on its own line, so it ends where it starts (end_line == line).
    plain: bool = False


@dataclass
class Document:
    blocks: list[Block]
    lines: list[str]  # the source lines the blocks refer to
    first_line: int = 1
    _lines_index: list[int] = field(default_factory=list, repr=False)

    def headings(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "heading"]

    def source(self, start_line: int, end_line: int) -> str:
        """Source text of file lines [start_line, end_line)."""
        lo = max(0, start_line - self.first_line)
        hi = max(lo, end_line - self.first_line)
        return "\n".join(self.lines[lo:hi])

    def between(self, start_line: int, end_line: int) -> list[Block]:
        """Blocks starting in file lines [start_line, end_line): a bisection, so a file of
        10,000 headings costs 10,000 look-ups, not 10,000 scans."""
        starts = self._starts()
        return self.blocks[bisect.bisect_left(starts, start_line):bisect.bisect_left(starts, end_line)]

    def block_at(self, line: int, kind: str) -> Block | None:
        starts = self._starts()
        i = bisect.bisect_left(starts, line)
        while i < len(starts) and starts[i] == line:
            if self.blocks[i].kind == kind:
                return self.blocks[i]
            i += 1
        return None

    def _starts(self) -> list[int]:
        if len(self._lines_index) != len(self.blocks):
            self._lines_index = [b.line for b in self.blocks]
        return self._lines_index


@functools.lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.disable(["inline", "text_join"], ignoreInvalid=True)
    return md


def parse(text: str, first_line: int = 1) -> Document:
    """Blocks of a Markdown text whose first line is file line `first_line`."""
    lines = text.split("\n")
    tokens = _parser().parse(text)
    blocks: list[Block] = []
    list_depth = 0
    ordered_stack: list[bool] = []
    quote_depth = 0
    table: Block | None = None
    row: list[str] | None = None
    paragraph_in_item = 0  # paragraphs inside an item belong to the item, not to the section

    def line_range(token) -> tuple[int, int]:
        start, end = token.map or (0, 0)
        return first_line + start, first_line + end

    for i, token in enumerate(tokens):
        kind = token.type
        if kind == "heading_open":
            start, end = line_range(token)
            content = tokens[i + 1].content if i + 1 < len(tokens) else ""
            blocks.append(Block("heading", start, end, _plain_heading(content), int(token.tag[1]),
                                quoted=quote_depth > 0))
        elif kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
            ordered_stack.append(kind == "ordered_list_open")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
            ordered_stack.pop()
        elif kind == "list_item_open":
            start, end = line_range(token)
            source = "\n".join(lines[start - first_line:end - first_line])
            body = _LIST_MARKER.sub("", source, count=1)
            box = _CHECKBOX.match(body)
            checked = None
            if box:
                checked = box.group(1) != " "
                body = body[box.end():]
            blocks.append(Block("item", start, end, _dedent(body), list_depth,
                                ordered=ordered_stack[-1] if ordered_stack else False, checked=checked,
                                quoted=quote_depth > 0))
            paragraph_in_item += 1
        elif kind == "list_item_close":
            paragraph_in_item -= 1
        elif kind == "blockquote_open":
            quote_depth += 1
            start, end = line_range(token)
            if quote_depth == 1:
                source = "\n".join(lines[start - first_line:end - first_line])
                blocks.append(Block("quote", start, end, _unquote(source)))
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind == "paragraph_open" and paragraph_in_item == 0:
            start, end = line_range(token)
            content = tokens[i + 1].content if i + 1 < len(tokens) else ""
            blocks.append(Block("paragraph", start, end, content, quoted=quote_depth > 0))
        elif kind in ("fence", "code_block"):
            start, end = line_range(token)
            blocks.append(Block("fence" if kind == "fence" else "code", start, end, token.content.rstrip("\n"),
                                info=(token.info or "").strip().split(" ")[0].lower(), quoted=quote_depth > 0))
        elif kind == "html_block":
            start, end = line_range(token)
            found = list(_HTML_HEADING.finditer(token.content))
            for match in found:
                offset = token.content.count("\n", 0, match.start())
                blocks.append(Block("heading", start + offset, start + offset + 1,
                                    _plain_heading(_HTML_TAG.sub("", html.unescape(match.group(2)))),
                                    int(match.group(1))))
            if not found:
                blocks.append(Block("html", start, end, token.content))
        elif kind == "hr":
            start, end = line_range(token)
            blocks.append(Block("hr", start, end, ""))
        elif kind == "table_open":
            start, end = line_range(token)
            table = Block("table", start, end, "\n".join(lines[start - first_line:end - first_line]))
            blocks.append(table)
        elif kind == "tr_open":
            row = []
        elif kind in ("th_open", "td_open") and row is not None:
            row.append(tokens[i + 1].content.strip() if tokens[i + 1].type == "inline" else "")
        elif kind == "tr_close" and table is not None and row is not None:
            table.rows.append(row)
            row = None
        elif kind == "table_close":
            table = None
    return Document(blocks, lines, first_line)


_EMPHASIS = re.compile(r"\*\*|__|`")
_TRAILING_ANCHOR = re.compile(r"\s*\{#[\w-]{1,200}\}\s*$")  # "## Root cause {#root-cause}"


def _plain_heading(text: str) -> str:
    text = _EMPHASIS.sub("", text)
    text = _TRAILING_ANCHOR.sub("", text)
    return " ".join(text.split())


def _dedent(text: str) -> str:
    return "\n".join(line.strip() for line in text.split("\n")).strip()


_QUOTE_MARK = re.compile(r"^\s{0,3}> ?")


def _unquote(text: str) -> str:
    return "\n".join(_QUOTE_MARK.sub("", line) for line in text.split("\n")).strip()


def plain_text(text: str) -> str:
    """A block's source as one line of readable text: emphasis marks and line breaks gone."""
    return " ".join(_EMPHASIS.sub("", text).split())


# "[the text](https://…)" and "[the text][ref]": the text; "<https://…>": the address.
_INLINE_LINK = re.compile(r"\[([^\[\]\n]{1,300})\](?:\([^()\s]{0,2000}(?:\s\"[^\"\n]{0,300}\")?\)|\[[^\[\]\n]{0,100}\])")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^<>\s]{1,2000})>")


def readable(text: str) -> str:
    """`plain_text`, and links shown as their text: what a report or a name quotes of a post-mortem."""
    return plain_text(_AUTOLINK.sub(r"\1", _INLINE_LINK.sub(r"\1", text)))
