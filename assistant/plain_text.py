"""Stored text without the markdown syntax the published texts carry over from their web pages,
for showing and printing an answer or a passage: headings ("## "), block quotes and list
markers ("- >", "> ", "- "), links ("[text](#)") and bold ("**").

Only deletions (and a bullet for a list marker), so every kept character still maps to its
place in the stored text and a highlight lands on the same words.

Example:
    >>> plain_text("## Recovery\\n- **Håb** og [mening](#)")
    'Recovery\\n• Håb og mening'
    >>> section_label("Guide", "Guide > Housing")
    'Housing'
"""

from __future__ import annotations

import bisect
import re

_LINK = re.compile(r"\[([^\]\n]+)\]\([^)\n]*\)")
_BOLD = re.compile(r"\*\*|__")
_LINE_MARK = re.compile(
    r"^[ \t]*(?:(?P<heading>#{1,6}[ \t]+)"
    r"|(?P<item>[-*+][ \t]+(?:>[ \t]?)*)"
    r"|(?P<quote>(?:>[ \t]?)+))",
    re.MULTILINE,
)
BULLET = "• "
# Older composers ended answers with a note on the other language's version; the API now
# sends that as ``other_versions`` instead, and a note an older API still adds is dropped.
_VERSION_NOTE = re.compile(
    r"\s*(?:Findes også på (?:engelsk|dansk)|Also available in (?:English|Danish))\b[^\n]*\s*$",
    re.IGNORECASE,
)


def clean_markup(text: str, *spans: tuple[int, int]) -> tuple[str, list[tuple[int, int]]]:
    r"""``text`` without markdown syntax, and ``spans`` moved to the same places in it.

    >>> clean_markup("## Title\n- > item [link](#)", (13, 17))
    ('Title\n• item link', [(8, 12)])
    """
    drop = bytearray(len(text))
    subs: dict[int, str] = {}
    for m in _LINK.finditer(text):
        drop[m.start()] = 1
        drop[m.end(1) : m.end()] = b"\x01" * (m.end() - m.end(1))
    for m in _BOLD.finditer(text):
        drop[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    for m in _LINE_MARK.finditer(text):
        kind = m.lastgroup or ""
        s, e = m.start(kind), m.end(kind)
        drop[s:e] = b"\x01" * (e - s)
        if kind == "item":
            subs[s] = BULLET
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if i in subs:
            out.append(subs[i])
            origin.extend([i] * len(subs[i]))
        elif not drop[i]:
            out.append(ch)
            origin.append(i)
    cleaned = "".join(out)

    def where(pos: int) -> int:
        return bisect.bisect_left(origin, pos)

    return cleaned, [(where(s), max(where(s), where(e))) for s, e in spans]


def plain_text(text: str) -> str:
    """``text`` without markdown syntax or a trailing version note (for answers and handouts)."""
    return _VERSION_NOTE.sub("", clean_markup(text)[0])


def section_label(title: str, section: str | None) -> str:
    """The section path without the document title it often repeats ("Title > Sub")."""
    if not section:
        return ""
    for sep in (" > ", " › ", " / "):
        if section.startswith(title + sep):
            return section[len(title) + len(sep) :]
    return "" if section.strip() == title.strip() else section
