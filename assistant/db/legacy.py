"""Earlier versions kept feedback (``feedback.sqlite``), ingestion jobs (``jobs.sqlite``) and
uploaded originals (``uploads/``) under the data dir. The first start of this version copies
them into the API's database, once (``legacy_imports`` records each source by its absolute
path), and leaves the files where they were: nothing is deleted, and the import does not run
again, so feedback given since is never duplicated.

Feedback keeps its ids when the table is still empty (labels name feedback by id); imported
into a database that already has feedback (a second replica's old file), rows get new ids.
Finished jobs keep their status and report; a job that was queued or running when the old
server stopped is queued again when its files are still there, failed otherwise.

Example:
    >>> import tempfile
    >>> from assistant.db import Database
    >>> from ingest.settings import Settings
    >>> tmp = tempfile.mkdtemp()
    >>> import_legacy(Database(f"sqlite:///{tmp}/app.sqlite"), Settings(data_dir=tmp))
    {'feedback': 0, 'jobs': 0, 'uploads': 0}
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from assistant.db.engine import Database
from assistant.db.schema import feedback, jobs, legacy_imports, now, uploads, utc
from ingest.settings import Settings

log = logging.getLogger("kva.db")


def import_legacy(db: Database, settings: Settings) -> dict[str, int]:
    """Copy what the data dir's old files hold that was not copied before; counts per kind."""
    counts = {"feedback": 0, "jobs": 0, "uploads": 0}
    steps = (
        ("uploads", settings.uploads_dir, _uploads),
        ("feedback", settings.feedback_path, _feedback),
        ("jobs", settings.data_dir / "jobs.sqlite", _jobs),
    )
    for kind, path, copy in steps:
        if not path.exists():
            continue
        source = f"{kind}:{path.resolve()}"
        try:
            with db.write() as conn:
                done = select(legacy_imports.c.source).where(legacy_imports.c.source == source)
                if conn.execute(done).first() is not None:
                    continue
                counts[kind] = copy(conn, path, settings)
                conn.execute(
                    insert(legacy_imports).values(
                        source=source, rows=counts[kind], imported_at=now()
                    )
                )
        except IntegrityError:  # another process of this replica imported it just now
            counts[kind] = 0
            continue
        if counts[kind]:
            log.warning(
                "imported %d %s row(s) of an earlier version from %s", counts[kind], kind, path
            )
    return counts


def _rows(path: Path, table: str) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY rowid")]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise


def _time(value: Any) -> datetime | None:
    return utc(datetime.fromisoformat(value)) if value else None


def _feedback(conn: Connection, path: Path, _settings: Settings) -> int:
    rows = _rows(path, "feedback")
    keep_ids = conn.execute(select(func.count()).select_from(feedback)).scalar_one() == 0
    for row in rows:
        values = {
            "created_at": _time(row["created_at"]) or now(),
            "question": row["question"],
            "answer": row["answer"],
            "rating": row["rating"],
            "comment": row.get("comment"),
            "request_id": row.get("request_id"),
            "history": row.get("history"),
        }
        if keep_ids:
            values["id"] = row["id"]
        conn.execute(insert(feedback).values(**values))
    if keep_ids and rows and conn.dialect.name == "postgresql":
        # Ids given explicitly do not move the sequence; the next new row must follow them.
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('feedback', 'id'), MAX(id)) FROM feedback")
        )
    return len(rows)


def _jobs(conn: Connection, path: Path, settings: Settings) -> int:
    rows = _rows(path, "jobs")
    for row in rows:
        if conn.execute(select(jobs.c.id).where(jobs.c.id == row["id"])).first() is not None:
            continue
        files = json.loads(row["files"])
        status, error = row["status"], row.get("error")
        if status in ("queued", "running"):
            present = all((settings.uploads_dir / name).is_file() for name in files)
            status = "queued" if present else "failed"
            if not present:
                error = "interrupted by a server restart; its files are gone, upload again"
        finished = _time(row.get("finished_at")) or (now() if status == "failed" else None)
        conn.execute(
            insert(jobs).values(
                id=row["id"],
                status=status,
                files=row["files"],
                created_at=_time(row["created_at"]) or now(),
                started_at=_time(row.get("started_at")),
                finished_at=finished,
                progress=row.get("progress"),
                report=row.get("report"),
                error=error,
                attempts=row.get("attempts") or 0,
            )
        )
    return len(rows)


def _uploads(conn: Connection, folder: Path, _settings: Settings) -> int:
    count = 0
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):  # a half-written .upload-*.part
            continue
        if conn.execute(select(uploads.c.name).where(uploads.c.name == path.name)).first():
            continue
        data = path.read_bytes()
        conn.execute(
            insert(uploads).values(
                name=path.name,
                content=data,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                created_at=now(),
            )
        )
        count += 1
    return count
