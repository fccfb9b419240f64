"""Background ingestion: one worker thread per process, taking jobs from the database.

Uploads return at once with a job id (the files and the job are stored in the API's
database, :mod:`assistant.db.jobs`). Each process's worker claims the oldest queued job (or
one whose worker died: its lease ran out), writes its files into this machine's uploads
folder (a working copy; the database holds the originals), and runs
``Indexer(settings).run(paths)``, renewing its lease meanwhile. The indexer commits
atomically, so answering (which never waits for this queue) sees either the old or the new
state of a document, and a worker killed mid-job leaves nothing half-ingested: the job is run
again by another worker once the lease expires.

Example:
    >>> import tempfile, pathlib
    >>> from assistant.db import Database
    >>> from assistant.api.jobs import IngestQueue, JobStore
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> store = JobStore(Database(f"sqlite:///{tmp}/app.sqlite"))
    >>> queue = IngestQueue(store, lambda paths, progress: {"added": [p.stem for p in paths]},
    ...                     uploads_dir=tmp / "uploads")
    >>> queue.run_once(store.create([("a.txt", b"Kvalitet.")]))
    True
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.db.jobs import MAX_ATTEMPTS, Claimed, JobStore

__all__ = ["MAX_ATTEMPTS", "IngestQueue", "JobStore", "Progress", "RunFn"]

log = logging.getLogger("kva.api.jobs")

# Progress callback as the Indexer calls it: (stage, done, total).
Progress = Callable[[str, int, int], None]
# What a job does with its files; returns a JSON-able report. The real one wraps the Indexer.
RunFn = Callable[[list[Path], Progress], dict[str, Any]]

POLL_S = 1.0  # an idle worker looks for jobs another replica accepted this often
RETRY_S = 2.0  # and waits this long after the database failed to answer


def worker_id() -> str:
    """Unique per process start: host, pid and a random part (a pid is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class IngestQueue:
    """One worker thread claiming jobs from ``store``; ``start``/``stop`` from the app lifespan."""

    def __init__(
        self,
        store: JobStore,
        run: RunFn,
        on_done: Callable[[], None] | None = None,
        uploads_dir: Path | None = None,
        poll_s: float = POLL_S,
    ):
        self.store = store
        self.uploads_dir = uploads_dir or Path(tempfile.mkdtemp(prefix="kva-uploads-"))
        self.worker = worker_id()
        self.poll_s = poll_s
        self._run = run
        self._on_done = on_done
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._work, name="kva-ingest", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join(timeout)
            self._thread = None

    def submit(self, paths: list[Path]) -> str:
        """Store the files and a queued job (one transaction); this worker wakes for it."""
        job_id = self.store.create([(p.name, p) for p in paths])
        self._wake.set()
        return job_id

    def pending(self) -> int:
        return self.store.pending()

    # --- the worker -----------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = self.store.claim(self.worker) if self.store.claimable() else None
            except Exception as exc:  # the database is down: wait, and try again
                log.warning("ingestion worker cannot reach the database: %s", _line(exc))
                self._stopping.wait(RETRY_S)
                continue
            if claimed is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()
                continue
            self._execute(claimed)

    def run_once(self, job_id: str | None = None) -> bool:
        """Claim and run one job in this thread (tests, tools); False when none was claimable.
        With ``job_id``, True only when that job was the one run."""
        claimed = self.store.claim(self.worker)
        if claimed is None:
            return False
        self._execute(claimed)
        return job_id is None or claimed.id == job_id

    def _execute(self, job: Claimed) -> None:
        extra = {"job_id": job.id, "attempt": job.attempts}
        log.info("ingestion job claimed", extra=extra)
        try:
            paths = self._working_copies(job)
        except Exception as exc:
            log.exception("ingestion job has no files", extra=extra)
            self._finish(job, "failed", error=str(exc))
            return
        renewing = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(job.id, renewing), name="kva-lease", daemon=True
        )
        beat.start()
        try:
            report = self._run(paths, self._progress_writer(job.id))
        except Exception as exc:  # a bad job must not kill the worker
            log.exception("ingestion job failed", extra=extra)
            renewing.set()
            self._finish(job, "failed", error=str(exc))
            return
        finally:
            renewing.set()
            beat.join(5)
        failed = bool(report.get("failed"))
        status = "failed" if failed and not _any_success(report) else "done"
        self._finish(job, status, report=report)
        log.info("ingestion job finished", extra={**extra, "report": report})
        if self._on_done is not None:
            try:
                self._on_done()
            except Exception:
                log.exception("refresh after ingestion failed")

    def _working_copies(self, job: Claimed) -> list[Path]:
        """The job's files from the database, written (atomically) into this machine's uploads
        folder unless an identical copy is there already (the replica that took the upload)."""
        paths = []
        for name in job.files:
            target = self.uploads_dir / name
            digest = self.store.upload_digest(name)
            if digest is None:
                raise RuntimeError(f"{name}: the uploaded file is no longer stored; upload again")
            if not (target.is_file() and _sha256(target) == digest):
                data = self.store.read_upload(name) or b""
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".job-", suffix=".part")
                try:
                    with os.fdopen(fd, "wb") as out:
                        out.write(data)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            paths.append(target)
        return paths

    def _heartbeat(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(self.store.lease_s / 3):
            try:
                if not self.store.renew(job_id, self.worker):
                    log.warning("ingestion job lease lost", extra={"job_id": job_id})
                    return
            except Exception as exc:  # a blip: the next beat tries again
                log.warning("could not renew an ingestion lease: %s", _line(exc))

    def _finish(self, job: Claimed, status: str, **fields: Any) -> None:
        """Record the outcome; while the database is down, keep trying (until stopped: then
        the lease runs out and another worker runs the job again, which changes nothing)."""
        while True:
            try:
                if not self.store.finish(job.id, self.worker, status, **fields):
                    log.warning("ingestion job was taken over", extra={"job_id": job.id})
                return
            except Exception as exc:
                log.warning("could not record an ingestion job's outcome: %s", _line(exc))
                if self._stopping.wait(RETRY_S):
                    return

    def _progress_writer(self, job_id: str) -> Progress:
        last = [0.0, ""]

        def write(stage: str, done: int, total: int) -> None:
            # Throttled: the indexer may report per chunk, database writes are not free.
            now = time.monotonic()
            if stage != last[1] or done >= total or now - last[0] > 0.5:
                last[0], last[1] = now, stage
                try:
                    self.store.renew(
                        job_id, self.worker, {"stage": stage, "done": done, "total": total}
                    )
                except Exception as exc:  # progress is a courtesy; the ingestion goes on
                    log.warning("could not record ingestion progress: %s", _line(exc))

        return write


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _any_success(report: dict[str, Any]) -> bool:
    return any(report.get(k) for k in ("added", "updated", "unchanged"))
