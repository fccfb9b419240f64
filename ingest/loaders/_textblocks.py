"""Find blocks (headings, paragraphs, list items, tables, code) in plain or markdown text.

The text is never changed: blocks are offsets into it, trimmed of surrounding whitespace.

Example:
    >>> text = "# Titel\\n\\nEn paragraf\\nover to linjer.\\n\\n- punkt\\n"
    >>> [(b.kind, b.level, text[b.start:b.end]) for b in find_blocks(text)]
    [('heading', 1, 'Titel'), ('paragraph', None, 'En paragraf\\nover to linjer.'), \
('list_item', None, '- punkt')]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.loaders.base import Block, BlockKind
from ingest.loaders.chrome import is_chrome_line

_ATX_RE = re.compile(r" {0,3}(#{1,6})(?=[ \t]|$)")
_ATX_CLOSING_RE = re.compile(r"[ \t]+#+$")
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})")
_LIST_RE = re.compile(r"\s*(?:>\s*)?(?:[-*+•–▪◦]|\d{1,3}[.)]|[a-z]\))\s+\S")
_THEMATIC_BREAK_RE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_SETEXT_RE = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_TABLE_RE = re.compile(r"\s*\|")
# Symmetric inline emphasis around a whole heading, e.g. "## **Title**": the heading's span
# points inside it so the heading text reads clean without changing the canonical text.
_WRAPPERS = ("**", "__", "*", "_")

_MONTHS = (
    "januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december|"
    "january|february|march|may|june|july|october|jan|feb|mar|apr|jun|jul|aug|sep|sept|"
    "okt|oct|nov|dec"
)
_DATE_RE = re.compile(
    r"\b\d{1,2}[-./]\d{1,2}[-./]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b|"
    rf"\b(?:{_MONTHS})\.?\s+(?:\d{{1,2}}(?:st|nd|rd|th|\^?d)?,?\s+)?\d{{4}}\b|"
    rf"\b\d{{1,2}}\.?\s+(?:{_MONTHS})\.?\s+\d{{4}}\b",
    re.IGNORECASE,
)
_LINK_ONLY_RE = re.compile(r"!?\[[^\]]*\]\([^)]*\)$")
# A plain line longer than this reads as a sentence, not a heading.
_MAX_HEADING_CHARS = 80
_MAX_DATE_LINE_CHARS = 60
# How many date lines may sit between a heading and its text (bounded to stay linear).
_DATE_LOOKAHEAD = 4


@dataclass
class _Line:
    start: int
    end: int
    raw: str

    @property
    def blank(self) -> bool:
        return not self.raw.strip()


def _lines(text: str) -> list[_Line]:
    lines = []
    pos = 0
    for raw in text.split("\n"):
        lines.append(_Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return lines


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _unwrap(text: str, start: int, end: int) -> tuple[int, int]:
    for mark in _WRAPPERS:
        n = len(mark)
        if end - start > 2 * n and text.startswith(mark, start) and text.endswith(mark, 0, end):
            inner = _trim(text, start + n, end - n)
            if inner[0] < inner[1] and mark not in text[inner[0] : inner[1]]:
                return inner
    return start, end


class _Collector:
    """Turns runs of lines into blocks; a run is flushed when its kind ends."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.blocks: list[Block] = []
        self.kind: BlockKind | None = None
        self.start = 0
        self.end = 0
        self.line_count = 0

    def open(self, kind: BlockKind, line: _Line) -> None:
        self.flush()
        self.kind, self.start, self.end, self.line_count = kind, line.start, line.end, 1

    def extend(self, line: _Line) -> None:
        self.end = line.end
        self.line_count += 1

    def emit(self, kind: BlockKind, start: int, end: int, level: int | None = None) -> None:
        self.flush()
        start, end = _trim(self.text, start, end)
        if start < end:
            self.blocks.append(Block(start, end, kind, level))

    def flush(self) -> None:
        if self.kind is not None:
            start, end = _trim(self.text, self.start, self.end)
            if start < end:
                self.blocks.append(Block(start, end, self.kind))
        self.kind = None
        self.line_count = 0


def find_blocks(text: str, plain_headings: bool = False, setext: bool = False) -> list[Block]:
    """Split ``text`` into blocks.

    ``plain_headings`` also promotes short standalone lines to headings (for .txt files,
    where headings are often just a line of their own); ``setext`` accepts markdown's
    underlined headings (``Title`` over ``=====``).
    """
    lines = _lines(text)
    out = _Collector(text)
    i = 0
    while i < len(lines):
        line = lines[i]
        raw = line.raw
        i += 1
        if line.blank:
            out.flush()
            continue
        fence = _FENCE_RE.match(raw)
        if fence:
            i = _close_fence(lines, i, fence.group(1))
            out.emit("other", line.start, lines[i - 1].end)
            continue
        atx = _ATX_RE.match(raw)
        if atx:
            start, end = _heading_span(text, line, atx.end())
            out.flush()
            if start < end:
                out.blocks.append(Block(start, end, "heading", len(atx.group(1))))
            continue
        setext_match = _SETEXT_RE.match(raw) if setext else None
        if setext_match and out.kind == "paragraph" and out.line_count == 1:
            level = 1 if setext_match.group(1).startswith("=") else 2
            start, end = _unwrap(text, *_trim(text, out.start, out.end))
            out.kind = None
            out.blocks.append(Block(start, end, "heading", level))
            continue
        if _THEMATIC_BREAK_RE.match(raw):
            out.flush()
            continue
        # "12. marts 2021" starts like a numbered item but is a date line.
        if _LIST_RE.match(raw) and not _is_date_line(raw.strip()):
            out.open("list_item", line)
            continue
        if _TABLE_RE.match(raw):
            if out.kind == "table":
                out.extend(line)
            else:
                out.open("table", line)
            continue
        if out.kind in ("paragraph", "list_item"):
            # Markdown's lazy continuation: a plain line right after a list item belongs to it.
            out.extend(line)
        else:
            out.open("paragraph", line)
    out.flush()
    blocks = _mark_chrome(text, out.blocks)
    if plain_headings:
        content = _promote_plain_headings(text, [b for b in blocks if b.kind != "chrome"])
        chrome = [b for b in blocks if b.kind == "chrome"]
        return sorted(content + chrome, key=lambda b: b.start)
    return blocks


def _mark_chrome(text: str, blocks: list[Block]) -> list[Block]:
    """Blocks made only of chrome lines (navigation, cookie text, labels) become ``chrome``."""
    out = []
    for block in blocks:
        if block.kind in ("paragraph", "list_item", "heading"):
            lines = [ln for ln in text[block.start : block.end].split("\n") if ln.strip()]
            if lines and all(is_chrome_line(ln) for ln in lines):
                block = Block(block.start, block.end, "chrome", None, block.page)
        out.append(block)
    return out


def _close_fence(lines: list[_Line], i: int, opener: str) -> int:
    """Index just past the fence's closing line (or the end of text if never closed)."""
    while i < len(lines):
        stripped = lines[i].raw.strip()
        i += 1
        if stripped.startswith(opener[0] * len(opener)) and not stripped.strip(opener[0]):
            return i
    return i


def _heading_span(text: str, line: _Line, content_offset: int) -> tuple[int, int]:
    start, end = line.start + content_offset, line.end
    start, end = _trim(text, start, end)
    closing = _ATX_CLOSING_RE.search(text, start, end)
    if closing:
        end = closing.start()
    elif text[start:end].strip("#") == "":
        return start, start
    return _unwrap(text, *_trim(text, start, end))


def _is_date_line(s: str) -> bool:
    return len(s) <= _MAX_DATE_LINE_CHARS and _DATE_RE.search(s) is not None


def _heading_shaped(s: str) -> bool:
    """A short single line that does not end like a sentence (a question may be a title)."""
    return (
        "\n" not in s
        and len(s) < _MAX_HEADING_CHARS
        and s[-1] not in ".,;:!…"
        and any(ch.isalpha() for ch in s)
        and s[0] not in ">|[("
        and not _LINK_ONLY_RE.match(s)
        and not _is_date_line(s)
    )


def _promote_plain_headings(text: str, blocks: list[Block]) -> list[Block]:
    """Promote standalone short lines that introduce body text to level-2 headings.

    A short line is taken for a heading only when followed by body text (a real paragraph,
    a list, a table) and not preceded by another short line: runs of short lines are link
    lists or contact details on scraped pages, not headings. A date line does not count as
    the following text, so "03-09-2020" under a news title does not hide the title.
    """

    def content(b: Block) -> str:
        return text[b.start : b.end]

    def is_date(b: Block) -> bool:
        return b.kind == "paragraph" and _is_date_line(content(b))

    def is_short(b: Block) -> bool:
        s = content(b)
        return b.kind == "paragraph" and "\n" not in s and len(s) < _MAX_HEADING_CHARS

    def is_body(b: Block) -> bool:
        if b.kind in ("list_item", "table", "other"):
            return True
        return b.kind == "paragraph" and (not is_short(b) or content(b)[-1] in ".!:;")

    # Only a first heading that precedes all body text is the document's title (level 1).
    title_possible = not any(b.kind == "heading" for b in blocks)
    result: list[Block] = []
    for idx, block in enumerate(blocks):
        new = block
        if _lone_numbered_heading(blocks, idx, content, is_body):
            start, end = _trim(text, block.start, block.end)
            result.append(Block(start, end, "heading", 2))
            title_possible = False
            continue
        if block.kind == "paragraph" and _heading_shaped(content(block)):
            nxt = _next_non_date(blocks, idx + 1, is_date)
            prev = result[-1] if result else None
            prev_ok = prev is None or prev.kind == "heading" or is_date(prev) or is_body(prev)
            if nxt is not None and is_body(nxt) and prev_ok:
                start, end = _unwrap(text, block.start, block.end)
                new = Block(start, end, "heading", 1 if title_possible else 2)
        if not is_date(new):
            title_possible = False
        result.append(new)
    return result


def _lone_numbered_heading(
    blocks: list[Block],
    idx: int,
    content: Callable[[Block], str],
    is_body: Callable[[Block], bool],
) -> bool:
    """A numbered line ("2. Boformens juridiske grundlag") standing alone before body text.

    Items of a numbered list have list neighbours; a numbered section heading has none and
    is followed by a paragraph.
    """
    block = blocks[idx]
    if block.kind != "list_item":
        return False
    s = content(block)
    match = re.match(r"\d{1,2}(?:\.\d{1,2})*\.?\s+(\S.*)", s)
    if not match or not _heading_shaped(s) or not match.group(1)[0].isupper():
        return False
    prev = blocks[idx - 1] if idx > 0 else None
    nxt = blocks[idx + 1] if idx + 1 < len(blocks) else None
    return (
        (prev is None or prev.kind != "list_item")
        and nxt is not None
        and nxt.kind == "paragraph"
        and is_body(nxt)
    )


def _next_non_date(
    blocks: list[Block], start: int, is_date: Callable[[Block], bool]
) -> Block | None:
    for block in blocks[start : start + _DATE_LOOKAHEAD]:
        if not is_date(block):
            return block
    return None
