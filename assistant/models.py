"""Typed objects that cross module boundaries: questions in, answers and passages out.

``Answer.model_dump()`` is exactly the JSON printed by ``python -m assistant ask --json`` and
returned by ``POST /api/ask``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

# The kinds of document are the manifest's: ingestion defines them, questions filter by them.
from ingest.manifest import KINDS as KINDS  # re-exported beside Kind
from ingest.manifest import Kind as Kind

Language = Literal["da", "en"]


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class Filters(BaseModel):
    language: Language | None = None
    kind: list[Kind] | None = None
    doc_ids: list[str] | None = None


class Passage(BaseModel):
    """A retrieved chunk with its provenance and score."""

    chunk_id: str
    doc_id: str
    title: str
    language: str
    kind: str
    section: str | None = None
    page: int | None = None
    start: int
    end: int
    text: str
    score: float


class Citation(BaseModel):
    n: int
    doc_id: str
    title: str
    language: str
    section: str | None = None
    page: int | None = None
    quote: str = Field(description="An exact span of the document text: text[start:end].")
    start: int
    end: int
    score: float
    role: Literal["lead", "support"] | None = Field(
        None,
        description="The extractive answer card: 'lead' is the one lead excerpt (a contiguous "
        "run of one document), 'support' a supporting quote from another document; None for "
        "composers that do not build a card (generative).",
    )
    focus_start: int | None = Field(
        None,
        description="Lead excerpt only: where the sentence the engine chose starts in the "
        "document (start <= focus_start < focus_end <= end); the UI marks it.",
    )
    focus_end: int | None = None


class OtherVersion(BaseModel):
    """A translation of a cited document, in the other language."""

    doc_id: str
    title: str
    language: str


class Answer(BaseModel):
    answer: str
    language: Language
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    related: list[Passage] = Field(
        default_factory=list, description="Closest passages, offered when abstaining."
    )
    warnings: list[str] = Field(default_factory=list)
    other_versions: list[OtherVersion] = Field(
        default_factory=list,
        description="Translations of the cited documents (shown discreetly, not in the answer).",
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)
    composer: str = Field(
        "extractive", description="Which composer produced the answer: extractive or generative."
    )
    fell_back: bool = Field(
        False, description="A generative answer was replaced by the extractive one."
    )
    fallback_reason: str | None = Field(
        None,
        description="Why it fell back: llm_unavailable, llm_timeout, llm_rate_limited, "
        "llm_error, format_ignored, wrong_language, model_abstained, too_little_verified, "
        "internal_error.",
    )
    verification: dict[str, Any] | None = Field(
        None,
        description="Generative answers: sentences generated, kept, and why others were dropped.",
    )
    degraded: list[str] = Field(
        default_factory=list,
        description="Parts of the search that were unavailable for this answer: "
        "'vector_index' means the vector index failed its check or a query, so the dense "
        "ranking came from an exact scan of the stored sentence vectors beside the keyword and "
        "sentence rankings (run `python -m ingest check --repair`).",
    )
