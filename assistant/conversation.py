"""Follow-up questions: fold the conversation so far into what is searched for.

"og hvad med botilbud?" after "Hvilken paragraf gælder for bostøtte?" means "which section
applies to botilbud?". A question that reads as a follow-up is searched together with the last
user question; its own words weigh more than the earlier ones.

Example:
    >>> from assistant.conversation import is_follow_up
    >>> is_follow_up("og hvad med botilbud?")
    True
    >>> is_follow_up("Hvem har skrevet litteraturstudierne om kvalitet?")
    False
"""

from __future__ import annotations

import re

from assistant.models import Turn

_FOLLOW_UP = re.compile(
    r"^\s*(og|men|også|hvad med|hvad så med|and|but|also|what about|how about)\b"
    r"|\b(den|det|dem|disse|dette|deres|it|its|they|them|those|these|this|that)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    return bool(_FOLLOW_UP.search(question)) or len(question.split()) <= 4


def previous_question(history: list[Turn] | None) -> str | None:
    for turn in reversed(history or []):
        if turn.role == "user" and turn.content.strip():
            return turn.content.strip()
    return None


def search_text(question: str, history: list[Turn] | None) -> tuple[str, str | None]:
    """(text to embed, the earlier question it leans on, if any)."""
    earlier = previous_question(history)
    if earlier and is_follow_up(question):
        return f"{earlier} {question}", earlier
    return question, None
