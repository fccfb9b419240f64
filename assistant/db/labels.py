"""Evaluator labels: for a question, the passage (document and span) that answers it, or the
verdict that the material does not cover it. Evaluators turn these into test cases.

CPR numbers are masked in the question and the fact before storing; the quote is the
material's own text and is kept verbatim, so its offsets stay true.

Example:
    >>> import tempfile
    >>> from assistant.db import Database
    >>> from assistant.db.labels import LabelStore
    >>> store = LabelStore(Database(f"sqlite:///{tempfile.mkdtemp()}/app.sqlite"))
    >>> label = store.add(question="Hvad?", language="da", verdict="not_covered", author="eva")
    >>> [x.verdict for x in store.list()]
    ['not_covered']
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import insert, select

from assistant.db.engine import Database
from assistant.db.schema import labels, now, utc
from assistant.guard import mask_cpr


class Label(BaseModel):
    id: int | None = None
    created_at: datetime | None = None
    question: str = Field(min_length=1, max_length=5000)
    language: Literal["da", "en"]
    verdict: Literal["answer", "not_covered"]
    doc_id: str | None = Field(None, max_length=300)
    start: int | None = Field(None, ge=0)
    end: int | None = Field(None, ge=0)
    quote: str | None = None
    fact: str | None = None
    feedback_id: int | None = None
    author: str = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _answer_needs_a_span(self) -> Label:
        if self.verdict == "answer":
            if not self.doc_id or self.start is None or self.end is None:
                raise ValueError("an 'answer' label needs doc_id, start and end")
            if self.end <= self.start:
                raise ValueError("end must be after start")
        return self


class LabelStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, label: Label | None = None, **fields: object) -> Label:
        """Store a label (a ``Label`` or its fields); returns it with id and time."""
        label = label or Label.model_validate(fields)
        row = label.model_dump(exclude={"id", "created_at"})
        row["question"] = mask_cpr(row["question"])
        if row["fact"]:
            row["fact"] = mask_cpr(row["fact"])
        row["created_at"] = now()
        with self.db.write() as conn:
            new_id = conn.execute(insert(labels).values(**row).returning(labels.c.id)).scalar_one()
        return Label.model_validate({**row, "id": new_id})

    def list(
        self,
        *,
        feedback_id: int | None = None,
        author: str | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[Label]:
        """Labels, oldest first, optionally for one feedback row or one author."""
        query = select(labels).order_by(labels.c.id).limit(limit).offset(offset)
        if feedback_id is not None:
            query = query.where(labels.c.feedback_id == feedback_id)
        if author is not None:
            query = query.where(labels.c.author == author)
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [Label.model_validate({**row, "created_at": utc(row["created_at"])}) for row in rows]
