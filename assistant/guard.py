"""Checks on a question before it is answered: length, emptiness, language, personal data.

Example:
    >>> from assistant.guard import contains_cpr, mask_cpr
    >>> contains_cpr("Borgeren har cpr 010190-1234")
    True
    >>> mask_cpr("cpr 0101901234")
    'cpr ******-****'
"""

from __future__ import annotations

from ingest.cpr import CPR_MASK, contains_cpr, mask_cpr
from ingest.language import detect_language


class QuestionError(ValueError):
    """A question that cannot be answered as asked. ``code``: ``empty`` or ``too_long``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# The CPR pattern and the one masking function live in ingest.cpr, so ingestion can mask the
# document ids it derives from file names without importing the assistant.
__all__ = ["CPR_MASK", "QuestionError", "contains_cpr", "mask_cpr", "question_language"]


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
