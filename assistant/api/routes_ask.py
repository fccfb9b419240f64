"""``POST /api/ask``, ``POST /api/ask/stream`` (server-sent events) and ``GET /api/search``.

Stream events, in order: ``citations`` (JSON list), several ``delta`` (``{"text": piece}``),
then ``done`` (the full Answer JSON). A failure after the stream started is an ``error`` event
with the usual error body.

Example (against a running server)::

    import httpx
    httpx.post("http://127.0.0.1:8000/api/ask", json={"question": "Hvad er kvalitet?"}).json()
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from assistant.api.answering import (
    answer_question,
    check_history,
    check_question,
    split_for_stream,
)
from assistant.api.deps import check_doc_ids, get_assistant, get_settings
from assistant.api.errors import ApiError, error_body
from assistant.api.faults import storage_error
from assistant.api.privacy import mask_cpr
from assistant.api.schemas import AskRequest
from assistant.models import Answer, Filters, Kind, Language, Passage
from ingest.settings import Settings

log = logging.getLogger("kva.api.ask")
router = APIRouter(prefix="/api", tags=["ask"])

AssistantDep = Annotated[Any, Depends(get_assistant)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


ASK_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "The request body is over 1 MB."},
    422: {
        "description": "Empty or too long question, too long history, unknown document ids, "
        "invalid text or fields."
    },
    503: {"description": "The assistant is still loading (Retry-After)."},
}


@router.post("/ask", response_model=Answer, responses=ASK_RESPONSES)
def ask(
    body: AskRequest, request: Request, assistant: AssistantDep, settings: SettingsDep
) -> Answer:
    """Answer a question with citations (the same JSON as ``assistant ask --json``)."""
    check_doc_ids(request, body.filters)
    check_history(body.history, settings)
    return answer_question(
        assistant,
        body.question,
        max_chars=settings.max_question_chars,
        language=body.language,
        history=body.history,
        filters=body.filters,
    )


@router.post("/ask/stream", response_class=EventSourceResponse, responses=ASK_RESPONSES)
async def ask_stream(
    body: AskRequest, request: Request, assistant: AssistantDep, settings: SettingsDep
) -> EventSourceResponse:
    """The same answer as server-sent events: citations, text deltas, then ``done``."""
    # Validation errors must be a plain 422, not an event inside a 200 stream.
    check_question(body.question, settings.max_question_chars)
    check_history(body.history, settings)
    await anyio.to_thread.run_sync(check_doc_ids, request, body.filters)

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            answer = await anyio.to_thread.run_sync(
                lambda: answer_question(
                    assistant,
                    body.question,
                    max_chars=settings.max_question_chars,
                    language=body.language,
                    history=body.history,
                    filters=body.filters,
                )
            )
        except ApiError as exc:
            yield ServerSentEvent(json.dumps(error_body(exc.code, exc.message)), event="error")
            return
        except Exception as exc:
            log.exception("streamed answer failed")
            fault = storage_error(exc)
            body_ = (
                error_body(fault.code, fault.message)
                if fault
                else error_body("internal_error", "The answer could not be produced.")
            )
            yield ServerSentEvent(json.dumps(body_), event="error")
            return
        citations = [c.model_dump() for c in answer.citations]
        yield ServerSentEvent(json.dumps(citations, ensure_ascii=False), event="citations")
        for piece in split_for_stream(answer.answer):
            yield ServerSentEvent(json.dumps({"text": piece}, ensure_ascii=False), event="delta")
        yield ServerSentEvent(answer.model_dump_json(), event="done")

    return EventSourceResponse(events(), ping=15)


@router.get("/search", response_model=list[Passage])
def search(
    assistant: AssistantDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="Search text.")],
    k: Annotated[int, Query(ge=1, le=50)] = 8,
    language: Language | None = None,
    kind: Annotated[list[Kind] | None, Query()] = None,
) -> list[Passage]:
    """Ranked passages with metadata and scores (hybrid retrieval, before answering)."""
    if not q.strip():
        raise ApiError(422, "empty_query", "The search text is empty.")
    filters = Filters(language=language, kind=kind) if language or kind else None
    try:
        return assistant.search(mask_cpr(q), k=k, filters=filters)
    except ValueError as exc:
        if getattr(exc, "code", None) is None:
            raise
        raise ApiError(422, f"query_{exc.code}", str(exc)) from exc
