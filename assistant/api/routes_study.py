"""Study material for preparing a session (``assistant.study``): key points, an FAQ and a quiz
for a document, a section of one, or a topic of the trainers' question bank.

Example (against a running server)::

    import httpx
    httpx.get("http://127.0.0.1:8000/api/study",
              params={"doc_id": "news-quality-housing-support-en", "language": "en"}).json()
    httpx.get("http://127.0.0.1:8000/api/study", params={"topic": "Quality and recovery"}).json()
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from assistant.api.deps import get_assistant
from assistant.api.errors import ApiError
from assistant.models import Citation
from assistant.question_bank import BankError, bank_topics
from assistant.study import Scope, StudyError, build_study

router = APIRouter(prefix="/api/study", tags=["study"])

_STATUS = {"topic_unanswered": 404}


class KeyPoint(BaseModel):
    text: str = Field(description="The sentence, exactly as the document has it.")
    score: float = Field(description="Cosine to the mean of the material's sentence vectors.")
    citation: Citation


class FaqItem(BaseModel):
    question: str
    origin: Literal["question_bank", "heading"]
    answer: str
    citations: list[Citation]


class QuizItem(BaseModel):
    prompt: str = Field(description="The cited sentence with the answer blanked (_____).")
    kind: Literal["number", "name", "term"]
    answer: str
    options: list[str] = Field(description="The answer and distractors of the same kind.")
    answer_start: int = Field(description="Where the answer stands in the document.")
    answer_end: int
    citation: Citation


class StudyScope(BaseModel):
    kind: Literal["document", "section", "topic"]
    title: str
    language: Literal["da", "en"]
    doc_id: str | None
    section: str | None
    topic: str | None
    documents: list[str] = Field(description="The documents the material comes from.")


class StudyMaterial(BaseModel):
    scope: StudyScope
    key_points: list[KeyPoint]
    faq: list[FaqItem]
    quiz: list[QuizItem]


class BankTopic(BaseModel):
    n: int
    title: dict[str, str]
    questions: dict[str, list[str]]


@router.get(
    "",
    response_model=StudyMaterial,
    responses={
        404: {"description": "No such document, section or topic."},
        422: {"description": "Give exactly one of doc_id and topic (section needs doc_id)."},
        503: {"description": "The assistant is loading, or the question bank is unreadable."},
    },
)
async def study(
    request: Request,
    doc_id: Annotated[str | None, Query(description="A document id.")] = None,
    section: Annotated[
        str | None, Query(description="With doc_id: a section heading (its last part will do).")
    ] = None,
    topic: Annotated[
        str | None, Query(description="A question-bank topic: its title or its number.")
    ] = None,
    language: Annotated[
        Literal["da", "en"] | None,
        Query(description="Language of the FAQ answers (default: the document's, or Danish)."),
    ] = None,
) -> dict[str, Any]:
    """Key points (the most central sentences), an FAQ (questions the material answers, with
    cited answers) and a short quiz (cited sentences with a number, name or term blanked)."""
    if (doc_id is None) == (topic is None):
        raise ApiError(
            422,
            "study_scope",
            "Give exactly one of doc_id (optionally with section) and topic.",
        )
    if section is not None and doc_id is None:
        raise ApiError(422, "study_scope", "section needs doc_id: the document it belongs to.")
    assistant = await get_assistant(request)
    scope = Scope(doc_id=doc_id, section=section, topic=topic, language=language)
    try:
        return await anyio.to_thread.run_sync(build_study, assistant, scope)
    except StudyError as exc:
        raise ApiError(_STATUS.get(exc.code, 404), exc.code, exc.message) from exc
    except BankError as exc:
        raise _unreadable(exc) from exc


@router.get("/topics", response_model=list[BankTopic])
def topics() -> list[dict[str, Any]]:
    """The question bank's topics, for ``GET /api/study?topic=…``."""
    try:
        return bank_topics()
    except BankError as exc:
        raise _unreadable(exc) from exc


def _unreadable(exc: BankError) -> ApiError:
    # The message names the file and what is wrong with it, for whoever edits the bank.
    return ApiError(503, "question_bank_unreadable", f"The question bank: {exc}")
