"""Text helpers shared by metrics and feedback drafting: normalising and fact matching.

Example:
    >>> contains_fact("Efter servicelovens §§ 107-108.", "107")
    True
    >>> contains_fact("I 1985 ...", "85")
    False
    >>> guess_language("Hvad er kvalitet på botilbud og i bostøtte?")
    'da'
"""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
# Hyphen, en dash, em dash and minus sign all appear in ranges ("2-4", "2–4"); treat them alike
# so a suite author need not list every dash.
_DASHES = str.maketrans(
    {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"}
)


def normalise(text: str) -> str:
    """Casefold, NFKC-normalise, unify dashes and collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).casefold()
    return _WS.sub(" ", text).strip()


def contains_fact(answer: str, alternative: str) -> bool:
    """Whether ``alternative`` occurs in ``answer`` (case- and whitespace-insensitive).

    A fact that starts or ends with a digit must not touch another digit there, so "85" is
    not found in "1985" — yet words may be part of compounds ("bostøtte" in "bostøtten").
    """
    needle = normalise(alternative)
    if not needle:
        return False
    pattern = re.escape(needle)
    if needle[0].isdigit():
        pattern = r"(?<!\d)" + pattern
    if needle[-1].isdigit():
        pattern = pattern + r"(?!\d)"
    return re.search(pattern, normalise(answer)) is not None


def facts_found(groups: list[list[str]], text: str) -> list[bool]:
    """For each expected fact (a group of alternatives), whether ``text`` holds one of them.

    >>> facts_found([["§ 85", "section 85"], ["107"]], "Efter § 85 ...")
    [True, False]
    """
    return [any(contains_fact(text, alt) for alt in group) for group in groups]


def fact_share(groups: list[list[str]], text: str) -> float:
    """Share of the expected facts that ``text`` holds (0.0 when none are expected)."""
    hits = facts_found(groups, text)
    return sum(hits) / len(hits) if hits else 0.0


_DA_WORDS = frozenset(
    {
        "og",
        "er",
        "det",
        "at",
        "en",
        "af",
        "til",
        "på",
        "med",
        "som",
        "for",
        "ikke",
        "der",
        "den",
        "de",
        "har",
        "kan",
        "skal",
        "eller",
        "hvad",
        "hvordan",
        "hvem",
        "hvilke",
        "hvilken",
        "hvornår",
        "hvor",
        "hvis",
        "jeg",
        "mig",
        "du",
        "dig",
        "vi",
        "om",
        "også",
        "efter",
        "fra",
        "blev",
        "bliver",
        "være",
        "mange",
        "nyhed",
        "borgere",
        "kommuner",
    }
)
_EN_WORDS = frozenset(
    {
        "the",
        "and",
        "is",
        "are",
        "of",
        "to",
        "in",
        "for",
        "with",
        "that",
        "this",
        "what",
        "which",
        "who",
        "when",
        "how",
        "where",
        "can",
        "will",
        "be",
        "not",
        "or",
        "by",
        "from",
        "as",
        "on",
        "it",
        "an",
        "a",
        "do",
        "does",
        "there",
        "their",
        "been",
        "has",
        "have",
        "should",
        "would",
    }
)
_DA_LETTERS = re.compile(r"[æøå]")
_QUOTED = re.compile(r"“[^”]*”|„[^“”]*[“”]|«[^»]*»|\"[^\"]*\"")


def strip_quotes(text: str) -> str:
    """The text with quoted passages removed.

    An extractive answer may quote a source in the other language ("“Section 85 ...” (på
    engelsk)"); the language it is written in is that of the words around the quotes.

    >>> strip_quotes('Efter § 85: “according to Section 85 of the Service Act” (på engelsk).')
    'Efter § 85:   (på engelsk).'
    """
    return _QUOTED.sub(" ", text)


def guess_language(text: str) -> str | None:
    """A cheap da/en guess from function words and æ/ø/å; ``None`` when unclear.

    It exists to catch an answer whose ``language`` field says one thing while the text is
    in the other language; it is not a general language detector.
    """
    words = re.findall(r"[a-zæøå]+", normalise(text))
    if not words:
        return None
    # One point per word with æ/ø/å, not per letter, so a Danish name in English text
    # ("Tanja Holm Strømkjær") does not outweigh the English around it.
    da = sum(w in _DA_WORDS or _DA_LETTERS.search(w) is not None for w in words)
    en = sum(w in _EN_WORDS for w in words)
    if da == en or max(da, en) < 2:
        return None
    return "da" if da > en else "en"
