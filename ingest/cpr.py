"""Danish CPR numbers in everyday spellings: find them and mask them (THE masking function).

Re-exported by :mod:`assistant.guard`; here so that ingestion (document ids derived from file
names) and the assistant and API share one pattern without ingestion importing the assistant.

Example:
    >>> from ingest.cpr import contains_cpr, mask_cpr
    >>> contains_cpr("Borgeren har cpr 010190-1234")
    True
    >>> mask_cpr("cpr 0101901234")
    'cpr ******-****'
"""

from __future__ import annotations

import re
import unicodedata

CPR_MASK = "******-****"

# A Danish CPR number: day, month, year, then four digits, with a plausible day and month.
# Written in many ways: 0102031234, 010203-1234, 010203 1234, 01.02.03-1234, 01-02-03-1234,
# 010203/1234, 010203_1234 (file names), 010203+1234, and with an en/em dash, a non-breaking
# or Unicode hyphen, a minus sign or a non-breaking space. Digits directly before or after
# make it part of a longer number, except the hex digits of a URL escape ("%20" + number, as
# in a logged query string). A false positive costs a masked number; a miss would leak
# personal data, so the pattern errs on the side of masking.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_SPACES = " \u00a0\u2007\u202f\t"
_DATE_SEP = f"[-./{_DASHES}{_SPACES}]?"
_LAST_SEP = f"(?:[{_SPACES}]?[-/_.+{_DASHES}][{_SPACES}]?|[{_SPACES}])?"
_CPR = re.compile(
    r"(?:(?<!\d)|(?<=%[0-9A-Fa-f]{2}))"
    rf"(?:0[1-9]|[12]\d|3[01]){_DATE_SEP}(?:0[1-9]|1[0-2]){_DATE_SEP}\d{{2}}{_LAST_SEP}\d{{4}}(?!\d)"
)
# Everyday spellings the pattern alone misses are folded away first (:func:`_normalised`):
# invisible characters (zero-width space/joiners, word joiner, BOM, soft hyphen) are dropped,
# compatibility forms (fullwidth digits and dashes) become ASCII by NFKC, every dash becomes
# "-", every space or line break becomes " ", and runs of spaces or dashes ("  ", " -- ")
# become one.
_INVISIBLE = frozenset("\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff")
_DASH_SET = frozenset(_DASHES + "-\u2e3a\u2e3b\ufe58")
_TEN_DIGITS = re.compile(r"(?:\d\D{0,12}){10}")


def _normalised(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index it came from in ``text``."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        for out in unicodedata.normalize("NFKC", ch) if not ch.isascii() else ch:
            if out in _DASH_SET:
                out = "-"
            elif out.isspace():
                out = " "
            if out in " -" and chars and chars[-1] == out:
                continue  # "  " and "--" read as one separator
            chars.append(out)
            origin.append(i)
    return "".join(chars), origin


def _spans(text: str) -> list[tuple[int, int]]:
    """Where CPR numbers stand in ``text`` (original indices), found on the folded text."""
    if _TEN_DIGITS.search(text) is None:  # fast path: fewer than ten digits close together
        return []
    folded, origin = _normalised(text)
    return [(origin[m.start()], origin[m.end() - 1] + 1) for m in _CPR.finditer(folded)]


def contains_cpr(text: str) -> bool:
    return bool(_spans(text))


def mask_cpr(text: str, mask: str = CPR_MASK) -> str:
    """THE masking function: every place that stores or logs text calls it. Each number is
    replaced in the text as written; everything around it is kept.

    >>> mask_cpr("01.02.03-1234, 010203\u20131234, 010203/1234 og 010203 1234")
    '******-****, ******-****, ******-**** og ******-****'
    >>> mask_cpr("Borger 010203\u200b1234, 010203 -- 1234 og 010203\\n1234.")
    'Borger ******-****, ******-**** og ******-****.'
    >>> mask_cpr("\uff10\uff11\uff10\uff12\uff10\uff13\uff0d\uff11\uff12\uff13\uff14 x")
    '******-**** x'
    """
    spans = _spans(text)
    if not spans:
        return text
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts += [text[last:start], mask]
        last = end
    parts.append(text[last:])
    return "".join(parts)
