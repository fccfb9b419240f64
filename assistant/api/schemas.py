"""Request bodies for the ``/api`` endpoints. Unknown fields in filters are refused (422).

Example:
    >>> from assistant.api.schemas import AskRequest
    >>> AskRequest(question="Hvad er kvalitet?", filters={"kind": ["news"]}).filters.kind
    ['news']
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.models import Filters, Language, Turn

_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_lone_surrogates(value: Any, where: str = "") -> None:
    """JSON may carry ``"\\ud800"``: a string no UTF-8 encoder (logs, SQLite, the model) can
    write. Refused as a client error (422) before it reaches any of them."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise ValueError(f"{where or 'text'}: contains an unpaired surrogate (invalid text)")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            refuse_lone_surrogates(getattr(value, name), f"{where}.{name}".lstrip("."))
        for name, extra in (value.model_extra or {}).items():
            refuse_lone_surrogates(extra, f"{where}.{name}".lstrip("."))
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_lone_surrogates(key, where)
            refuse_lone_surrogates(item, f"{where}.{key}".lstrip("."))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            refuse_lone_surrogates(item, f"{where}[{i}]")


class _ValidText(BaseModel):
    @model_validator(mode="after")
    def _valid_text(self) -> Any:
        refuse_lone_surrogates(self)
        return self


class StrictFilters(Filters):
    # A misspelt filter ("lang") silently ignored would return unfiltered answers.
    model_config = ConfigDict(extra="forbid")


class AskRequest(_ValidText):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question; 1 to max_question_chars characters.")
    language: Language | None = Field(None, description="Answer language; detected if omitted.")
    history: list[Turn] = Field(
        default_factory=list,
        description="Earlier turns, oldest first: at most max_history_turns (50); questions "
        "up to max_question_chars, answers up to max_answer_turn_chars characters each.",
    )
    filters: StrictFilters | None = None


class FeedbackRequest(_ValidText):
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
