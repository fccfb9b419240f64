"""Feedback: thumbs up/down on answers, in the API's database (so every replica's feedback is
in one place). Evaluators later turn the thumbs-down into test cases (``python -m evals
from-feedback``). CPR numbers are masked before storing.

Example:
    >>> import tempfile
    >>> from assistant.db import Database
    >>> from assistant.db.feedback import FeedbackStore
    >>> store = FeedbackStore(Database(f"sqlite:///{tempfile.mkdtemp()}/app.sqlite"))
    >>> fid = store.add("Hvad?", "Svar", "up", None, request_id="r1")
    >>> store.get(fid)["rating"], store.count()
    ('up', 1)
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, insert, select

from assistant.db.engine import Database
from assistant.db.schema import feedback, now, utc
from assistant.guard import mask_cpr


class FeedbackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        question: str,
        answer: str,
        rating: str,
        comment: str | None,
        request_id: str | None = None,
        history: list[dict[str, str]] | None = None,
    ) -> int:
        turns = [
            {**turn, "content": mask_cpr(str(turn.get("content", "")))} for turn in history or []
        ]
        row = {
            "created_at": now(),
            "question": mask_cpr(question),
            "answer": mask_cpr(answer),
            "rating": rating,
            "comment": mask_cpr(comment) if comment else None,
            "request_id": mask_cpr(request_id) if request_id else None,
            "history": json.dumps(turns, ensure_ascii=False) if turns else None,
        }
        with self.db.write() as conn:
            return int(conn.execute(insert(feedback).returning(feedback.c.id), row).scalar_one())

    def get(self, feedback_id: int) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(select(feedback).where(feedback.c.id == feedback_id)).first()
        return _public(row._asdict()) if row else None

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(feedback)).scalar_one())

    def thumbs_down(self) -> list[dict[str, Any]]:
        """Thumbs-down rows, oldest first (what ``evals from-feedback`` drafts cases from)."""
        query = (
            select(feedback)
            .where(feedback.c.rating == "down")
            .order_by(feedback.c.created_at, feedback.c.id)
        )
        with self.db.read() as conn:
            return [_public(row._asdict()) for row in conn.execute(query)]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    # The ISO text the SQLite file of earlier versions held (seconds, with the UTC offset).
    row["created_at"] = utc(row["created_at"]).isoformat(timespec="seconds")
    return row
