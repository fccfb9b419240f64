"""Checks on a question before it is answered: length, emptiness, language, personal data.

Example:
    >>> from assistant.guard import contains_cpr, mask_cpr
    >>> contains_cpr("Borgeren har cpr 010190-1234")
    True
    >>> mask_cpr("cpr 0101901234")
    'cpr ******-****'
"""

from __future__ import annotations

import re

from ingest.language import detect_language


class QuestionError(ValueError):
    """A question that cannot be answered as asked. ``code``: ``empty`` or ``too_long``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


CPR_MASK = "******-****"

# A Danish CPR number: day, month, year, then four digits, with a plausible day and month.
# Written in many ways: 0102031234, 010203-1234, 010203 1234, 01.02.03-1234, 01-02-03-1234,
# 010203/1234, 010203_1234 (file names), and with an en/em dash, a non-breaking or Unicode
# hyphen, a minus sign or a non-breaking space. Digits directly before or after make it part
# of a longer number, except the hex digits of a URL escape ("%20" + number, as in a logged
# query string). A false positive costs a masked number; a miss would leak personal data, so
# the pattern errs on the side of masking.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_SPACES = " \u00a0\u2007\u202f\t"
_DATE_SEP = f"[-./{_DASHES}{_SPACES}]?"
_LAST_SEP = f"(?:[{_SPACES}]?[-/_.{_DASHES}][{_SPACES}]?|[{_SPACES}])?"
_CPR = re.compile(
    r"(?:(?<!\d)|(?<=%[0-9A-Fa-f]{2}))"
    rf"(?:0[1-9]|[12]\d|3[01]){_DATE_SEP}(?:0[1-9]|1[0-2]){_DATE_SEP}\d{{2}}{_LAST_SEP}\d{{4}}(?!\d)"
)


def contains_cpr(text: str) -> bool:
    return _CPR.search(text) is not None


def mask_cpr(text: str) -> str:
    """THE masking function: every place that stores or logs text calls it.

    >>> mask_cpr("01.02.03-1234, 010203\u20131234, 010203/1234 og 010203 1234")
    '******-****, ******-****, ******-**** og ******-****'
    """
    return _CPR.sub(CPR_MASK, text)


def validate_question(question: object, max_chars: int) -> str:
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("empty", "The question is empty. / Spørgsmålet er tomt.")
    if len(question) > max_chars:
        raise QuestionError(
            "too_long",
            f"The question is {len(question)} characters; the limit is {max_chars}. / "
            f"Spørgsmålet er på {len(question)} tegn; grænsen er {max_chars}.",
        )
    return question.strip()


def question_language(question: str, fallback: str | None = None) -> str:
    """'da', 'en' or 'other'; a question too short to tell follows ``fallback`` (else Danish)."""
    return detect_language(question, default=None) or fallback or "da"
