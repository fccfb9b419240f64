"""Ingestion jobs and the uploaded originals they ingest, in the API's database.

Any replica accepts an upload (the files and the job row commit together), any worker of any
replica claims it, and any replica reports on it. A claim is one write transaction: on
PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` (two workers never get the same row, neither
waits for the other), on SQLite the ``BEGIN IMMEDIATE`` write lock (one claimer at a time).
A claimed job carries a lease that its worker renews while it runs; a job whose lease ran out
(its worker was killed, its machine lost) is claimed again, up to ``MAX_ATTEMPTS`` starts,
then failed with the reason. So no job stays "running" after its worker is gone.

Example:
    >>> import tempfile
    >>> from assistant.db import Database
    >>> from assistant.db.jobs import JobStore
    >>> store = JobStore(Database(f"sqlite:///{tempfile.mkdtemp()}/app.sqlite"))
    >>> job = store.create([("a.txt", b"Kvalitet.")])
    >>> store.get(job)["status"], store.read_upload("a.txt")
    ('queued', b'Kvalitet.')
    >>> claimed = store.claim("worker-1")
    >>> claimed.id == job, store.get(job)["status"], store.claim("worker-2")
    (True, 'running', None)
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from assistant.db.engine import Database
from assistant.db.schema import jobs, now, uploads, utc

# A job whose worker died while running it is run once more; dying again means the job itself
# takes the worker down (or cannot finish), so it fails instead of looping forever.
MAX_ATTEMPTS = 2
LEASE_S = 30.0


@dataclass(frozen=True)
class Claimed:
    id: str
    files: list[str]
    attempts: int


def _iso(value: datetime | None) -> str | None:
    return utc(value).isoformat(timespec="milliseconds") if value is not None else None


class JobStore:
    """``db`` is a Database, or a callable that opens one (the app's, which may have been
    unreachable at start)."""

    def __init__(self, db: Database | Callable[[], Database], lease_s: float = LEASE_S) -> None:
        self._db = db if callable(db) and not isinstance(db, Database) else (lambda: db)
        self.lease_s = lease_s

    @property
    def db(self) -> Database:
        return self._db()  # type: ignore[operator]

    # --- uploads and new jobs -------------------------------------------------------------
    def create(self, files: Sequence[tuple[str, bytes | Path]] | Sequence[str]) -> str:
        """A queued job for ``files``: (name, content or a file to read) pairs, stored with it
        in one transaction; plain names refer to uploads stored before."""
        job_id = uuid.uuid4().hex
        names = []
        with self.db.write() as conn:
            for item in files:
                if isinstance(item, str):
                    names.append(item)
                    continue
                name, content = item
                data = content.read_bytes() if isinstance(content, Path) else content
                self._put_upload(conn, name, data)
                names.append(name)
            conn.execute(
                insert(jobs).values(
                    id=job_id, status="queued", files=json.dumps(names), created_at=now()
                )
            )
        return job_id

    @staticmethod
    def _put_upload(conn: Connection, name: str, data: bytes) -> None:
        # Delete, then insert: one statement pair that means "replace" on both backends.
        conn.execute(delete(uploads).where(uploads.c.name == name))
        conn.execute(
            insert(uploads).values(
                name=name,
                content=data,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                created_at=now(),
            )
        )

    def put_upload(self, name: str, data: bytes) -> None:
        with self.db.write() as conn:
            self._put_upload(conn, name, data)

    def uploaded(self, names: Sequence[str]) -> set[str]:
        """Which of ``names`` are stored uploads."""
        with self.db.read() as conn:
            rows = conn.execute(select(uploads.c.name).where(uploads.c.name.in_(list(names))))
            return {r[0] for r in rows}

    def read_upload(self, name: str) -> bytes | None:
        with self.db.read() as conn:
            row = conn.execute(select(uploads.c.content).where(uploads.c.name == name)).first()
        return bytes(row[0]) if row else None

    def upload_digest(self, name: str) -> str | None:
        with self.db.read() as conn:
            row = conn.execute(select(uploads.c.sha256).where(uploads.c.name == name)).first()
        return row[0] if row else None

    def delete_upload(self, name: str) -> bool:
        with self.db.write() as conn:
            return conn.execute(delete(uploads).where(uploads.c.name == name)).rowcount > 0

    # --- workers --------------------------------------------------------------------------
    def claimable(self) -> bool:
        """A cheap read before a claim's write lock: is anything queued or orphaned?"""
        with self.db.read() as conn:
            return conn.execute(self._claimable_query(now())).first() is not None

    @staticmethod
    def _claimable_query(at: datetime) -> Any:
        orphaned = and_(jobs.c.status == "running", jobs.c.lease_until < at)
        return (
            select(jobs.c.id, jobs.c.files, jobs.c.attempts, jobs.c.status)
            .where(or_(jobs.c.status == "queued", orphaned))
            .order_by(jobs.c.created_at, jobs.c.id)
            .limit(1)
        )

    def claim(self, worker: str) -> Claimed | None:
        """The oldest claimable job, now running under ``worker``'s lease; None when there is
        none. A job orphaned ``MAX_ATTEMPTS`` times is failed here, and the next one tried."""
        with self.db.write() as conn:
            while True:
                at = now()
                # SQLite renders no FOR UPDATE: its write transaction already excludes others.
                query = self._claimable_query(at).with_for_update(skip_locked=True)
                row = conn.execute(query).first()
                if row is None:
                    return None
                if row.status == "running" and row.attempts >= MAX_ATTEMPTS:
                    conn.execute(
                        update(jobs)
                        .where(jobs.c.id == row.id)
                        .values(
                            status="failed",
                            finished_at=at,
                            lease_until=None,
                            error=f"the worker running this job stopped {row.attempts} times "
                            "(killed, or its server lost); not retried: check the files, then "
                            "upload them again",
                        )
                    )
                    continue
                conn.execute(
                    update(jobs)
                    .where(jobs.c.id == row.id)
                    .values(
                        status="running",
                        worker=worker,
                        started_at=at,
                        attempts=jobs.c.attempts + 1,
                        lease_until=at + timedelta(seconds=self.lease_s),
                    )
                )
                return Claimed(row.id, json.loads(row.files), row.attempts + 1)

    def renew(self, job_id: str, worker: str, progress: dict[str, Any] | None = None) -> bool:
        """Extend ``worker``'s lease (and record progress); False when the job is no longer
        this worker's (its lease ran out and another worker took it)."""
        values: dict[str, Any] = {"lease_until": now() + timedelta(seconds=self.lease_s)}
        if progress is not None:
            values["progress"] = json.dumps(progress)
        with self.db.write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.worker == worker, jobs.c.status == "running")
                .values(**values)
            )
            return result.rowcount == 1

    def finish(
        self,
        job_id: str,
        worker: str,
        status: str,
        *,
        report: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Record the outcome, if the job is still ``worker``'s (False otherwise)."""
        with self.db.write() as conn:
            result = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.worker == worker, jobs.c.status == "running")
                .values(
                    status=status,
                    finished_at=now(),
                    lease_until=None,
                    report=json.dumps(report, default=str) if report is not None else None,
                    error=error,
                )
            )
            return result.rowcount == 1

    # --- status ---------------------------------------------------------------------------
    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            return None
        job = row._asdict()
        job.pop("lease_until")
        job["files"] = json.loads(job["files"])
        job["report"] = json.loads(job["report"]) if job["report"] else None
        job["progress"] = json.loads(job["progress"]) if job["progress"] else None
        for key in ("created_at", "started_at", "finished_at"):
            job[key] = _iso(job[key])
        if job["status"] in ("done", "failed"):
            job["progress"] = {"stage": "finished", "done": 1, "total": 1}
        return job

    def pending(self) -> int:
        """Jobs waiting for a worker, on every replica."""
        with self.db.read() as conn:
            count = select(func.count()).select_from(jobs).where(jobs.c.status == "queued")
            return int(conn.execute(count).scalar_one())
