"""Evaluators' labels: for a question, the sentence of the store that answers it, or the verdict
that the material does not cover it. ``python -m evals refit`` fits the answer model on them.

A label names a span of a stored document (``doc_id``, ``start``, ``end``); the API checks the
span against the store and keeps its text as the quote, so a label can never cite words the
store does not hold. Labelling needs the admin key (``KVA_API_KEY``): labels change how every
later question is answered.

Example (against a running server with an admin key)::

    import httpx
    auth = {"Authorization": "Bearer KEY"}
    httpx.post("http://127.0.0.1:8000/api/labels", headers=auth, json={
        "question": "Hvem udarbejdede litteraturstudierne?", "verdict": "answer",
        "doc_id": "nyhed-kvalitet-botilbud-bostoette-da", "start": 1203, "end": 1290})
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from assistant.api.auth import ADMIN_RESPONSES, require_admin
from assistant.api.database import app_database
from assistant.api.deps import get_assistant
from assistant.api.errors import ApiError
from assistant.db.labels import Label, LabelStore
from assistant.guard import question_language

router = APIRouter(prefix="/api/labels", tags=["labels"], dependencies=[Depends(require_admin)])


class LabelCreate(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    language: Literal["da", "en"] | None = Field(
        None, description="The question's language; detected when left out."
    )
    verdict: Literal["answer", "not_covered"] = Field(
        description="'answer': the span answers the question; 'not_covered': the material "
        "does not answer it (no span)."
    )
    doc_id: str | None = Field(None, max_length=300)
    start: int | None = Field(None, ge=0)
    end: int | None = Field(None, ge=0)
    fact: str | None = Field(
        None,
        max_length=500,
        description="The words of the span that answer (a number, a name); default: the span.",
    )
    feedback_id: int | None = Field(None, description="The feedback row this label answers.")
    author: str = Field("evaluator", min_length=1, max_length=100)


def _labels(request: Request) -> LabelStore:
    """The label store on the API's database (opened by the app at start, or by
    ``app_database`` when that failed, so a database that comes back needs no restart)."""
    return LabelStore(app_database(request.app.state))


StoreDep = Annotated[LabelStore, Depends(_labels)]


@router.post("", status_code=201, response_model=Label, responses=ADMIN_RESPONSES)
def create_label(
    body: LabelCreate, store: StoreDep, assistant: Annotated[Any, Depends(get_assistant)]
) -> Label:
    """Store a label; an 'answer' label's span is checked against the store."""
    language = body.language or ("en" if question_language(body.question) == "en" else "da")
    if body.verdict == "not_covered":
        if body.doc_id or body.start is not None or body.end is not None:
            raise ApiError(
                422, "invalid_label", "A 'not_covered' label names no document or span."
            )
        return store.add(
            question=body.question,
            language=language,
            verdict="not_covered",
            feedback_id=body.feedback_id,
            author=body.author,
        )
    if not body.doc_id or body.start is None or body.end is None:
        raise ApiError(422, "invalid_label", "An 'answer' label needs doc_id, start and end.")
    text = assistant.reader.snapshot().texts.get(body.doc_id)
    if text is None:
        raise ApiError(404, "document_not_found", f"No stored document has id {body.doc_id!r}.")
    if not body.start < body.end <= len(text):
        raise ApiError(
            422,
            "invalid_span",
            f"start and end must satisfy 0 <= start < end <= {len(text)} (the document's "
            "length in characters).",
        )
    quote = text[body.start : body.end]
    if not quote.strip():
        raise ApiError(422, "invalid_span", "The span holds no words.")
    if body.fact and _normal(body.fact) not in _normal(quote):
        raise ApiError(422, "invalid_fact", "The fact must be words of the labelled span.")
    return store.add(
        question=body.question,
        language=language,
        verdict="answer",
        doc_id=body.doc_id,
        start=body.start,
        end=body.end,
        quote=quote,
        fact=body.fact,
        feedback_id=body.feedback_id,
        author=body.author,
    )


@router.get("", response_model=list[Label], responses=ADMIN_RESPONSES)
def list_labels(
    store: StoreDep,
    feedback_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[Label]:
    """The labels, oldest first (optionally those of one feedback row)."""
    return store.list(feedback_id=feedback_id, limit=limit, offset=offset)


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())
