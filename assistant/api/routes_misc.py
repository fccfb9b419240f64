"""``GET /healthz`` (process up), ``GET /readyz`` (database answering, store opened, models
loaded) and ``POST /api/feedback`` (thumbs up/down stored in the API's database).

Example (against a running server)::

    import httpx
    httpx.get("http://127.0.0.1:8000/readyz").json()["ready"]  # True once loaded
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from assistant.answer_model import model_summary
from assistant.api.database import app_database, database_problem
from assistant.api.errors import ApiError
from assistant.api.schemas import FeedbackRequest, FeedbackResponse
from assistant.db.feedback import FeedbackStore

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """The process is up (says nothing about the models)."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"])
def readyz(request: Request) -> JSONResponse:
    """200 once the database answers, the store is open and passes its check and the models
    are loaded; 503 with ``error`` saying why otherwise (it turns 200 again on its own when
    the database is back)."""
    state = request.app.state
    database = database_problem(state)
    assistant: Any = getattr(state, "assistant", None)
    opened = assistant is not None and bool(getattr(assistant, "ready", True))
    # Asked even when the store did not open: it says why (a truncated records file ...).
    problem = getattr(assistant, "store_problem", None) if assistant is not None else None
    if assistant is not None and not opened and not problem:
        problem = "the store could not be opened; run `python -m ingest check`"
    ready = opened and not problem and not database
    # Jobs waiting for a worker on any replica (unknown while the database is down).
    body: dict[str, Any] = {
        "ready": ready,
        "ingest_queue": None if database else state.jobs.pending(),
    }
    # Which composer answers: the extractive default or the organisation's own model.
    settings = state.settings
    body["composer"] = getattr(assistant, "composer_name", None) or settings.composer
    # The Danish-English dictionaries the answers were bridged with (answers differ without).
    glossary = getattr(assistant, "glossary", None)
    if glossary is not None:
        body["lexicon"] = glossary.lexicon.description
    if body["composer"] == "generative":
        body["llm"] = {"base_url": settings.llm_base_url, "model": settings.llm_model}
    # Which fitted answer model answers, and where it came from (``python -m evals refit``
    # installs one fitted on the organisation's labels too).
    model = getattr(assistant, "model", None)
    if model is not None:
        body["answer_model"] = model_summary(model, settings)
    # Which committed generation this replica answers from, and whether it is preparing a
    # newer one beside it (a large store's replica; ``StoreReader.snapshot``).
    reader = getattr(assistant, "reader", None)
    if reader is not None and opened:
        body["store"] = reader.serving()
    if database:  # first: a replica that started while it was down has a load error too
        body["error"] = database
    elif getattr(state, "load_error", None):
        body["error"] = state.load_error
    elif problem:
        body["error"] = problem
    return JSONResponse(body, status_code=200 if ready else 503)


@router.post(
    "/api/feedback",
    tags=["feedback"],
    status_code=201,
    response_model=FeedbackResponse,
    responses={
        413: {"description": "The entry is over KVA_MAX_FEEDBACK_KB."},
        429: {"description": "Over KVA_FEEDBACK_PER_MINUTE posts from this client (Retry-After)."},
        503: {"description": "The database is unreachable (Retry-After); nothing was stored."},
    },
)
def feedback(body: FeedbackRequest, request: Request) -> FeedbackResponse:
    """Store a rating of an answer; evaluators turn these into test cases."""
    limit = request.app.state.settings.max_feedback_kb * 1024
    texts = [body.question, body.answer, body.comment or "", *(t.content for t in body.history)]
    size = sum(len(text.encode()) for text in texts)
    if size > limit:
        raise ApiError(
            413,
            "feedback_too_large",
            f"The feedback entry is {size // 1024} KB (question, answer, comment and history "
            f"together); the limit is {limit // 1024} KB.",
        )
    feedback_id = FeedbackStore(app_database(request.app.state)).add(
        body.question,
        body.answer,
        body.rating,
        body.comment,
        history=[turn.model_dump() for turn in body.history],
        request_id=getattr(request.state, "request_id", None),
    )
    return FeedbackResponse(id=feedback_id)
