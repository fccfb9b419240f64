"""HTML/markdown snippets for answers and cited passages.

Everything coming from the API is escaped before it goes into ``unsafe_allow_html`` markup:
document text is published material, but it is still not ours to trust as HTML.
"""

from __future__ import annotations

import html
import re
from typing import Any

MARKER = re.compile(r"\[(\d+)\]")

# Small, self-contained styles; the presentation-mode CSS scales them up.
BASE_CSS = """
<style>
.kva-marker {display:inline-block; padding:0 .35em; margin:0 .1em; border-radius:.4em;
  background:#1f4e79; color:#fff; font-size:.8em; font-weight:600; vertical-align:super;}
.kva-passage {border-left:4px solid #1f4e79; padding:.5em .8em; background:#f6f8fa;
  color:#111; line-height:1.55;}
.kva-passage mark {background:#ffe066; color:#000; padding:0 .1em;}
.kva-doc {max-height:28em; overflow-y:auto;}
.kva-abstain {border:2px dashed #b35c00; border-radius:.6em; padding:.6em 1em;
  background:#fff6e5; color:#4a2a00;}
.kva-abstain h4 {margin:0 0 .3em 0; color:#8a4500;}
.kva-meta {color:#555; font-size:.9em;}
</style>
"""

PRESENTATION_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"], .stMain,
[data-testid="stHeader"], [data-testid="stBottom"] > div {
  background:#000 !important; color:#fff !important;}
.stMain p, .stMain li, .stMain span,
.stMain label, .stMain div, .stMain button {
  font-size:1.6rem; line-height:1.5; color:#fff !important;}
.stMain h1 {font-size:3rem; color:#fff !important;}
.stMain h2, .stMain h3, .stMain h4 {
  font-size:2.2rem; color:#ffd400 !important;}
[data-testid="stChatMessage"] {background:#111 !important; border:2px solid #fff;}
[data-testid="stAlert"] > div {background:#000 !important; border:2px solid #fff;}
.stMain button {background:#000 !important; border:2px solid #ffd400 !important;}
[data-testid="stExpander"] details {background:#000 !important; border-color:#fff !important;}
.kva-passage {background:#000 !important; color:#fff !important; border-left-color:#ffd400;}
.kva-passage mark, .kva-passage mark * {background:#ffd400 !important; color:#000 !important;}
.kva-marker {background:#ffd400 !important; color:#000 !important;}
.kva-abstain {background:#000 !important; color:#fff !important; border-color:#ffd400;}
.kva-abstain h4 {color:#ffd400 !important;}
.kva-meta, .kva-meta * {color:#ddd !important;}
</style>
"""


def answer_markup(text: str) -> str:
    """The answer as markdown with each ``[n]`` shown as a badge (HTML-escaped otherwise)."""
    # Markdown syntax is escaped too: a quoted "![](http://…)" or "[x](javascript:…)" must
    # show as text, never render as an image or a link.
    pieces, last = [], 0
    for match in MARKER.finditer(text):
        pieces.append(_escape(text[last : match.start()]))
        pieces.append(f'<span class="kva-marker">[{match.group(1)}]</span>')
        last = match.end()
    pieces.append(_escape(text[last:]))
    return "".join(pieces)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:])")


def _escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def markers_in(text: str) -> list[int]:
    """The citation numbers used in the text, in order of first appearance."""
    seen: list[int] = []
    for match in MARKER.finditer(text):
        n = int(match.group(1))
        if n not in seen:
            seen.append(n)
    return seen


def highlight(text: str, start: int, end: int, window: int | None = 400) -> str:
    """``text`` around ``[start, end)`` with that span marked; ``window=None`` keeps it all.

    Cuts the context at whitespace so a passage never starts mid-word.
    """
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    lo, hi = 0, len(text)
    if window is not None:
        lo = max(0, start - window)
        hi = min(len(text), end + window)
        if lo > 0:
            space = text.find(" ", lo, start)
            lo = space + 1 if space != -1 else lo
        if hi < len(text):
            space = text.rfind(" ", end, hi)
            hi = space if space != -1 else hi
    before = html.escape(text[lo:start])
    quote = html.escape(text[start:end])
    after = html.escape(text[end:hi])
    prefix = "… " if lo > 0 else ""
    suffix = " …" if hi < len(text) else ""
    return f"{prefix}{before}<mark>{quote}</mark>{after}{suffix}"


def find_quote(text: str, quote: str, start: int, end: int) -> tuple[int, int]:
    """The span to highlight: trust offsets when they match the quote, else search for it."""
    if quote and text[start:end] == quote:
        return start, end
    if quote:
        found = text.find(quote)
        if found != -1:
            return found, found + len(quote)
    return start, end


def _breaks(markup: str) -> str:
    # A blank line would end the HTML block in markdown and spill the rest out as paragraphs.
    return re.sub(r"[ \t]*\n(?:[ \t]*\n)+[ \t]*", "<br><br>", markup.strip()).replace("\n", "<br>")


def passage_html(text: str, start: int, end: int, window: int | None = 400) -> str:
    css = "kva-passage kva-doc" if window is None else "kva-passage"
    return f'<div class="{css}">{_breaks(highlight(text, start, end, window))}</div>'


def plain_passage_html(text: str) -> str:
    return f'<div class="kva-passage">{_breaks(html.escape(text))}</div>'


def section_label(title: str, section: str | None) -> str:
    """The section path without the document title it often repeats ("Title > Sub")."""
    if not section:
        return ""
    for sep in (" > ", " › ", " / "):
        if section.startswith(title + sep):
            return section[len(title) + len(sep) :]
    return "" if section.strip() == title.strip() else section


def abstain_html(title: str, answer: str) -> str:
    # The API's abstention often opens with the same sentence as our heading; say it once.
    body = answer.strip()
    if body.lower().startswith(title.lower()):
        body = body[len(title) :].lstrip(" .:–-\n")
    return f'<div class="kva-abstain"><h4>⚠ {html.escape(title)}</h4>{html.escape(body)}</div>'


def section_at(sections: list[dict[str, Any]], pos: int) -> int | None:
    """Index of the section containing character ``pos``, if any."""
    for i, section in enumerate(sections):
        if section.get("start", 0) <= pos < section.get("end", 0):
            return i
    return None


def meta_line(parts: list[tuple[str, Any]]) -> str:
    """``Label: value · Label: value`` for the values that are present."""
    shown = [f"{label}: {value}" for label, value in parts if value not in (None, "", [])]
    return " · ".join(shown)
