"""Sentence spans for Danish and English text, as (start, end) offsets into the input.

Chunking never cuts inside a sentence and the extractive composer quotes whole sentences, so
both need exact spans rather than re-joined strings.

Example:
    >>> from ingest.sentences import sentence_spans
    >>> text = "Det sker bl.a. i kommunerne. Se § 85 i loven! OK?"
    >>> [text[s:e] for s, e in sentence_spans(text)]
    ['Det sker bl.a. i kommunerne.', 'Se § 85 i loven!', 'OK?']
"""

from __future__ import annotations

import re

# Abbreviations after which a full stop does not end a sentence (lower-cased, without the dot).
_ABBREVIATIONS = frozenset(
    [
        "bl.a",
        "f.eks",
        "jf",
        "pkt",
        "nr",
        "ca",
        "mv",
        "osv",
        "evt",
        "dvs",
        "ift",
        "iflg",
        "inkl",
        "ekskl",
        "vedr",
        "stk",
        "kap",
        "ang",
        "hhv",
        "mht",
        "e.g",
        "i.e",
        "etc",
        "vs",
        "no",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "approx",
        "cf",
        "fig",
        "st",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "okt",
        "nov",
        "dec",
    ]
)
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|\n\s*\n|\n(?=\s*(?:[-*•>]|\d+[.)])\s)")
_NEXT_STARTS_SENTENCE = re.compile(r"[\"'“‘(\[]?[A-ZÆØÅÄÖÜ0-9§#*\->•]")
_WORD_BEFORE = re.compile(r"(\S+)$")


def _is_abbreviation(text: str, dot: int) -> bool:
    # The word before the dot, looked for in the last 100 characters: searching from the
    # start of the text made splitting a document quadratic (minutes for a large store's
    # check). A word that fills the whole window is looked for again from the start.
    window = max(0, dot - 100)
    match = _WORD_BEFORE.search(text, window, dot)
    if match and window and match.start() == window:
        match = _WORD_BEFORE.search(text, 0, dot)
    if not match:
        return False
    word = match.group(1).lower().lstrip("([\"'")
    # Single letters ("A. Jensen") and ordinal numbers ("3. september") are not sentence ends.
    return word in _ABBREVIATIONS or len(word) == 1 or word.isdigit()


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentences; spans are stripped of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        punct_end = match.start() + len(match.group(0).rstrip())
        following = text[match.end() : match.end() + 2]
        if "\n" not in match.group(0):
            if following and not _NEXT_STARTS_SENTENCE.match(following):
                continue
            if match.group(0)[0] == "." and _is_abbreviation(text, match.start()):
                continue
        spans.append((cursor, punct_end))
        cursor = match.end()
    spans.append((cursor, end))
    return [s for s in (_strip(text, a, b) for a, b in spans) if s is not None]


def _strip(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None
