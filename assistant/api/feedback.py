"""Feedback store: thumbs up/down on answers, in SQLite under the data dir.

Evaluators later turn these rows into test cases. CPR numbers are masked before storing.
One short-lived connection per call keeps it safe across threads and uvicorn workers; WAL lets
readers and a writer work side by side.

Example:
    >>> import tempfile, pathlib
    >>> from assistant.api.feedback import FeedbackStore
    >>> store = FeedbackStore(pathlib.Path(tempfile.mkdtemp()) / "feedback.sqlite")
    >>> fid = store.add("Hvad?", "Svar", "up", None, request_id="r1")
    >>> store.get(fid)["rating"]
    'up'
"""

from __future__ import annotations

import json
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.api.privacy import mask_cpr
from assistant.api.sqlite_file import SQLiteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT,
    request_id TEXT,
    history TEXT
)
"""


class FeedbackStore(SQLiteFile):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        with closing(self._connect()) as db, db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(feedback)")}
            if "history" not in columns:  # a file written before follow-ups kept their history
                db.execute("ALTER TABLE feedback ADD COLUMN history TEXT")

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
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            mask_cpr(question),
            mask_cpr(answer),
            rating,
            mask_cpr(comment) if comment else None,
            mask_cpr(request_id) if request_id else None,
            json.dumps(turns, ensure_ascii=False) if turns else None,
        )
        with closing(self._connect()) as db, db:
            cur = db.execute(
                "INSERT INTO feedback (created_at, question, answer, rating, comment, request_id,"
                " history) VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cur.lastrowid or 0)

    def get(self, feedback_id: int) -> dict[str, Any] | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM feedback WHERE id = ?", (feedback_id,)).fetchone()
        return dict(row) if row else None

    def count(self) -> int:
        with closing(self._connect()) as db:
            return int(db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])
