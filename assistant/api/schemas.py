"""Request bodies for the ``/api`` endpoints. Unknown fields in filters are refused (422).

Example:
    >>> from assistant.api.schemas import AskRequest
    >>> AskRequest(question="Hvad er kvalitet?", filters={"kind": ["news"]}).filters.kind
    ['news']
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.models import Filters, Language, Turn


class StrictFilters(Filters):
    # A misspelt filter ("lang") silently ignored would return unfiltered answers.
    model_config = ConfigDict(extra="forbid")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question; 1 to max_question_chars characters.")
    language: Language | None = Field(None, description="Answer language; detected if omitted.")
    history: list[Turn] = Field(default_factory=list, max_length=50)
    filters: StrictFilters | None = None


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=10_000)
    answer: str = Field(min_length=1, max_length=50_000)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=5_000)
    history: list[Turn] = Field(
        default_factory=list,
        max_length=50,
        description="The turns before the rated one, so a follow-up can become a test case.",
    )


class FeedbackResponse(BaseModel):
    id: int
    stored: bool = True
