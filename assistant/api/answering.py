"""The one path from a question to an :class:`Answer`, shared by ``/api/ask``, the SSE stream
and ``/v1/chat/completions``: length checks, CPR masking and warning, error mapping.

Example:
    >>> from assistant.api.answering import check_question
    >>> check_question("  ", 2000)
    Traceback (most recent call last):
    ...
    assistant.api.errors.ApiError: The question is empty.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from assistant.api.errors import ApiError
from assistant.api.privacy import contains_cpr, cpr_warning, mask_cpr
from assistant.markup import neutralise
from assistant.models import Answer, Filters, Turn
from ingest.settings import Settings

if TYPE_CHECKING:
    from assistant.pipeline import Assistant

log = logging.getLogger("kva.api.ask")

_QUESTION_CODES = {"empty": "empty_question", "too_long": "question_too_long"}


def check_question(question: str, max_chars: int) -> None:
    """Refuse empty and over-long questions before any work is done (422)."""
    if not question.strip():
        raise ApiError(422, "empty_question", "The question is empty.")
    if len(question) > max_chars:
        raise ApiError(
            422,
            "question_too_long",
            f"The question has {len(question)} characters; the limit is {max_chars}.",
        )


def check_history(history: list[Turn] | None, settings: Settings) -> None:
    """Refuse (422) a history that would make the model read more than a question's worth:
    earlier questions are embedded with a follow-up, so they get the question limit."""
    turns = history or []
    if len(turns) > settings.max_history_turns:
        raise ApiError(
            422,
            "history_too_long",
            f"The history has {len(turns)} turns; the limit is {settings.max_history_turns}.",
        )
    for i, turn in enumerate(turns):
        limit = (
            settings.max_question_chars if turn.role == "user" else settings.max_answer_turn_chars
        )
        if len(turn.content) > limit:
            raise ApiError(
                422,
                "history_too_long",
                f"History turn {i} ({turn.role}) has {len(turn.content)} characters; "
                f"the limit is {limit}.",
            )


def answer_question(
    assistant: Assistant,
    question: str,
    *,
    max_chars: int,
    language: str | None = None,
    history: list[Turn] | None = None,
    filters: Filters | None = None,
) -> Answer:
    """Blocking: call from a worker thread (FastAPI runs plain ``def`` routes in one)."""
    check_question(question, max_chars)
    settings = getattr(assistant, "settings", None)
    if isinstance(settings, Settings):
        check_history(history, settings)
    had_cpr = contains_cpr(question) or any(contains_cpr(t.content) for t in history or [])
    if had_cpr:
        # The number is useless for retrieval and must not travel further (core logs, caches).
        question = mask_cpr(question)
        history = [Turn(role=t.role, content=mask_cpr(t.content)) for t in history or []]
    log.info("ask", extra={"question": question[:300], "language": language, "cpr": had_cpr})
    try:
        answer = assistant.ask(question, language=language, history=history, filters=filters)
    except ValueError as exc:
        code = getattr(exc, "code", None)
        if code is None:
            raise
        raise ApiError(422, _QUESTION_CODES.get(code, str(code)), str(exc)) from exc
    if had_cpr:
        answer.warnings.append(cpr_warning(answer.language))
    # The composer writes plain text already; whatever composed this answer (the generative
    # one too), no endpoint hands a client markup it would render (HTML, script links).
    answer.answer = neutralise(answer.answer)
    return answer


def split_for_stream(text: str, words_per_piece: int = 4) -> list[str]:
    """Pieces whose concatenation is exactly ``text`` (whitespace kept with the next word).

    >>> split_for_stream("a b  c d e", 2)
    ['a b', '  c d', ' e']
    """
    pieces: list[str] = []
    start = 0
    count = 0
    for i, ch in enumerate(text):
        if ch.isspace() and i > 0 and not text[i - 1].isspace():
            count += 1
            if count == words_per_piece:
                pieces.append(text[start:i])
                start, count = i, 0
    if start < len(text):
        pieces.append(text[start:])
    return pieces
