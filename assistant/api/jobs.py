"""Background ingestion: a queue, one worker thread, and job status kept in SQLite.

Uploads return at once with a job id; the worker runs ``Indexer(settings).run(paths)`` one job
at a time. The indexer commits atomically, so answering (which never waits for this queue) sees
either the old or the new state of a document. Job rows live in SQLite under the data dir, so
with ``--workers 2`` any worker can report on a job another worker accepted.

Example:
    >>> import tempfile, pathlib
    >>> from assistant.api.jobs import JobStore
    >>> store = JobStore(pathlib.Path(tempfile.mkdtemp()) / "jobs.sqlite")
    >>> job = store.create(["a.txt"])
    >>> store.get(job)["status"]
    'queued'
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.api.sqlite_file import SQLiteFile

log = logging.getLogger("kva.api.jobs")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    files TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    progress TEXT,
    report TEXT,
    error TEXT,
    owner INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0
)
"""
# A job whose process died while running it is re-queued once; dying again means the job
# itself takes the process down (or cannot finish), so it fails instead of looping forever.
MAX_ATTEMPTS = 2

# Progress callback as the Indexer calls it: (stage, done, total).
Progress = Callable[[str, int, int], None]
# What a job does with its files; returns a JSON-able report. The real one wraps the Indexer.
RunFn = Callable[[list[Path], Progress], dict[str, Any]]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobStore(SQLiteFile):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        with closing(self._connect()) as db, db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
            if "owner" not in columns:  # a jobs file from before owners were recorded
                db.execute("ALTER TABLE jobs ADD COLUMN owner INTEGER")
            if "attempts" not in columns:
                db.execute("ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")

    def create(self, files: list[str]) -> str:
        job_id = uuid.uuid4().hex
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO jobs (id, status, files, created_at, owner) "
                "VALUES (?, 'queued', ?, ?, ?)",
                (job_id, json.dumps(files), _now(), os.getpid()),
            )
        return job_id

    def orphaned(self) -> list[dict[str, Any]]:
        """Queued or running jobs whose worker process is gone (a crash, a kill), taken over
        by this process so that no other worker re-runs them too. A job already started
        ``MAX_ATTEMPTS`` times is marked failed here, not handed back."""
        taken = []
        with closing(self._connect()) as db, db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute(
                "SELECT id, files, owner, attempts FROM jobs "
                "WHERE status IN ('queued', 'running')"
            ).fetchall()
            for row in rows:
                if _alive(row["owner"]):
                    continue
                if row["attempts"] >= MAX_ATTEMPTS:
                    db.execute(
                        "UPDATE jobs SET owner = ?, status = 'failed', finished_at = ?, "
                        "error = ? WHERE id = ?",
                        (
                            os.getpid(),
                            _now(),
                            f"the server stopped during this job {row['attempts']} times; "
                            "not retried (check the files, then upload them again)",
                            row["id"],
                        ),
                    )
                    continue
                db.execute(
                    "UPDATE jobs SET owner = ?, status = 'queued', started_at = NULL WHERE id = ?",
                    (os.getpid(), row["id"]),
                )
                taken.append({"id": row["id"], "files": json.loads(row["files"])})
        return taken

    def start(self, job_id: str) -> None:
        """Mark a job running in this process and count the attempt."""
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE jobs SET status = 'running', started_at = ?, owner = ?, "
                "attempts = attempts + 1 WHERE id = ?",
                (_now(), os.getpid(), job_id),
            )

    def update(self, job_id: str, **fields: Any) -> None:
        for key in ("report", "progress"):
            if fields.get(key) is not None:
                fields[key] = json.dumps(fields[key], default=str)
        sets = ", ".join(f"{k} = ?" for k in fields)
        with closing(self._connect()) as db, db:
            db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*fields.values(), job_id))

    def get(self, job_id: str) -> dict[str, Any] | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        job = dict(row)
        job["files"] = json.loads(job["files"])
        job["report"] = json.loads(job["report"]) if job["report"] else None
        job["progress"] = json.loads(job["progress"]) if job["progress"] else None
        if job["status"] in ("done", "failed"):
            job["progress"] = {"stage": "finished", "done": 1, "total": 1}
        return job


class IngestQueue:
    """One worker thread draining a FIFO of job ids; ``start``/``stop`` from the app lifespan."""

    def __init__(
        self,
        store: JobStore,
        run: RunFn,
        on_done: Callable[[], None] | None = None,
        uploads_dir: Path | None = None,
    ):
        self.store = store
        self.uploads_dir = uploads_dir
        self._run = run
        self._on_done = on_done
        self._queue: queue.Queue[tuple[str, list[Path]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._resume_orphans()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="kva-ingest", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def submit(self, paths: list[Path]) -> str:
        job_id = self.store.create([p.name for p in paths])
        self._queue.put((job_id, paths))
        return job_id

    def _resume_orphans(self) -> None:
        """A job whose process died stays 'running' forever otherwise: re-queue it when its
        uploaded files are still there, mark it failed when they are not."""
        for job in self.store.orphaned():
            paths = [self.uploads_dir / n for n in job["files"]] if self.uploads_dir else []
            present = [p for p in paths if p.is_file()]
            if present:
                log.warning("re-queued an interrupted ingestion job", extra={"job_id": job["id"]})
                self._queue.put((job["id"], present))
            else:
                self.store.update(
                    job["id"],
                    status="failed",
                    finished_at=_now(),
                    error="interrupted by a server restart; its files are gone, upload again",
                )

    def pending(self) -> int:
        return self._queue.qsize()

    def _progress_writer(self, job_id: str) -> Progress:
        last = [0.0, ""]

        def write(stage: str, done: int, total: int) -> None:
            # Throttled: the indexer may report per chunk, SQLite writes are not free.
            now = time.monotonic()
            if stage != last[1] or done >= total or now - last[0] > 0.5:
                last[0], last[1] = now, stage
                progress = {"stage": stage, "done": done, "total": total}
                self.store.update(job_id, progress=progress)

        return write

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            job_id, paths = item
            self.store.start(job_id)
            try:
                report = self._run(paths, self._progress_writer(job_id))
            except Exception as exc:  # a bad job must not kill the worker
                log.exception("ingestion job failed", extra={"job_id": job_id})
                self.store.update(job_id, status="failed", finished_at=_now(), error=str(exc))
                continue
            failed = bool(report.get("failed"))
            self.store.update(
                job_id,
                status="failed" if failed and not _any_success(report) else "done",
                finished_at=_now(),
                report=report,
            )
            log.info("ingestion job finished", extra={"job_id": job_id, "report": report})
            if self._on_done is not None:
                try:
                    self._on_done()
                except Exception:
                    log.exception("refresh after ingestion failed")


def _any_success(report: dict[str, Any]) -> bool:
    return any(report.get(k) for k in ("added", "updated", "unchanged"))
