"""What kind of thing a question asks for, and whether a sentence contains one.

"Hvem …?" wants a name, "Hvornår …?" a date, "Hvor mange …?" a number. A sentence that only
repeats the question's words does not answer it; one that adds a name, date or number the
question did not contain probably does. Used both to rank sentences and, for the check
before answering, to require that the evidence holds what was asked for.

Example:
    >>> from assistant.answer_type import expected_type, provides
    >>> expected_type("Hvornår udkommer pejlemærkerne?")
    'date'
    >>> provides("date", "De udkommer i 2021.", "Hvornår udkommer pejlemærkerne?")
    True
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["person", "date", "number", "duration", "reason"]

_PATTERNS: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    (
        "number",
        re.compile(
            r"\b(hvor mange|hvor meget|hvor stor(?:t|e)?|how many|how much|how large|what share|"
            r"what proportion|number of|antal(?:let)?|andel(?:en)?)\b",
            re.I,
        ),
    ),
    (
        "duration",
        re.compile(r"\b(how long|hvor længe|hvor lang tid|varighed|duration|lasts?|varer)\b", re.I),
    ),
    (
        "date",
        re.compile(
            r"\b(hvornår|when|what year|which year|hvilket år|hvilken dato|what date|on what date|"
            r"until when|indtil hvornår|siden hvornår|since when)\b",
            re.I,
        ),
    ),
    ("person", re.compile(r"\b(hvem|who|whom)\b", re.I)),
    ("reason", re.compile(r"\b(hvorfor|why|what is the reason|hvad er årsagen)\b", re.I)),
)
_MONTHS = (
    r"januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december|"
    r"january|february|march|may|june|july|october"
)
_DATE = re.compile(
    rf"\b(19|20)\d\d\b|\b\d{{1,2}}[-./]\d{{1,2}}[-./]\d{{2,4}}\b|\b({_MONTHS})\b", re.I
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred|"
    # Not "to" and "fire": in English text they are a preposition and a noun far more often
    # than Danish numbers.
    r"half|third|quarter|tre|fem|seks|syv|otte|elleve|tolv|tyve|hundrede|"
    r"halvdel|tredjedel|fjerdedel)\b",
    re.I,
)
_DURATION = re.compile(
    r"\b(\d+|en|et|to|tre|fire|fem|seks|syv|otte|ni|ti|tolv|atten|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|twelve|eighteen|halvt?|half|a)\s*(?:-|–|til|to)?\s*\w*\s*"
    r"(dage?|døgn|uger?|måneder|måned|år|timer?|minutter|days?|weeks?|months?|years?|hours?|"
    r"minutes?)\b",
    re.I,
)
_REASON = re.compile(
    r"\b(fordi|derfor|heraf|hvorfor|årsag\w*|skyldes|baggrund\w*|for at|med henblik på|"
    r"because|since|therefore|hence|due to|reasons?|in order to|so that|as a result)\b",
    re.I,
)
_NAME = re.compile(r"\b[A-ZÆØÅ][a-zæøåéü]+(?:\s+[A-ZÆØÅ][a-zæøåéü]+)+|\b[A-ZÆØÅ]{2,}\b")
_WORDS = re.compile(r"\w+", re.UNICODE)


def expected_type(question: str) -> AnswerType | None:
    for kind, pattern in _PATTERNS:
        if pattern.search(question):
            return kind
    return None


def answers(kind: AnswerType | None, text: str, question: str) -> list[tuple[int, int]]:
    """Character spans in ``text`` of ``kind`` answers that the question did not contain."""
    if kind is None:
        return []
    asked = {w.lower() for w in _WORDS.findall(question)}
    pattern = {
        "date": _DATE,
        "number": _NUMBER,
        "person": _NAME,
        "duration": _DURATION,
        "reason": _REASON,
    }[kind]
    return [
        m.span()
        for m in pattern.finditer(text)
        if not {w.lower() for w in _WORDS.findall(m.group(0))} <= asked
    ]


def provides(kind: AnswerType | None, text: str, question: str) -> bool:
    """True when ``text`` holds a ``kind`` of answer that the question itself did not contain."""
    return bool(answers(kind, text, question))


def near(spans: list[tuple[int, int]], anchors: list[tuple[int, int]], chars: int = 40) -> bool:
    """Whether any answer span lies within ``chars`` of an anchor (a word of the question):
    "how many beds" is answered by a number next to "beds", not by any number.

    >>> near([(10, 12)], [(14, 18)]), near([(0, 2)], [(90, 95)])
    (True, False)
    """
    return any(
        a_start - chars <= end and start <= a_end + chars
        for start, end in spans
        for a_start, a_end in anchors
    )
