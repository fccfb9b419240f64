"""Feedback, ingestion jobs and uploaded originals in the API's database (issue 24, item 4), on
both backends (SQLite in a temporary folder; PostgreSQL 16 from the session's ``pgserver``):
workers racing for jobs claim each exactly once, a job whose worker died is run again once its
lease runs out (and failed after ``MAX_ATTEMPTS``), a worker process killed with SIGKILL in the
middle of a real ingestion leaves no half-ingested document, and the files of earlier versions
(``feedback.sqlite``, ``jobs.sqlite``, ``uploads/``) are imported once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from test_db import db, db_url, pg_server_url  # noqa: F401 - both backends, as in test_db

from assistant.api.jobs import IngestQueue
from assistant.db import Database
from assistant.db.feedback import FeedbackStore
from assistant.db.jobs import MAX_ATTEMPTS, JobStore
from assistant.db.legacy import import_legacy
from ingest.pipeline import Indexer
from ingest.settings import PROJECT_ROOT, Settings


def test_feedback_is_stored_masked_and_read_back(db: Database) -> None:  # noqa: F811
    store = FeedbackStore(db)
    history = [{"role": "user", "content": "Mit cpr er 010203-1234"}]
    up = store.add("Hvad?", "Svar", "up", "god", request_id="r1")
    down = store.add("Og 010203-1234?", "Ved ikke", "down", None, history=history)
    assert down == up + 1 and store.count() == 2
    row = store.get(down)
    assert row is not None and "010203-1234" not in row["question"]
    assert json.loads(row["history"]) == [{"role": "user", "content": "Mit cpr er ******-****"}]
    assert row["created_at"].endswith("+00:00")
    assert [r["id"] for r in store.thumbs_down()] == [down]
    assert store.get(999) is None


def test_a_job_carries_its_files_and_reports_from_any_replica(db: Database) -> None:  # noqa: F811
    one, two = JobStore(db), JobStore(Database(db.url))  # two replicas' connections
    job = one.create([("a.txt", b"Kvalitet."), ("b.md", b"# B")])
    assert two.uploaded(["a.txt", "b.md", "c.txt"]) == {"a.txt", "b.md"}
    assert two.read_upload("b.md") == b"# B"
    seen = two.get(job)
    assert seen is not None and seen["status"] == "queued" and seen["files"] == ["a.txt", "b.md"]
    assert two.pending() == 1
    replaced = one.create([("a.txt", b"Anden version.")])  # replace=true: the newest wins
    assert two.read_upload("a.txt") == b"Anden version." and two.pending() == 2
    claimed = two.claim("replica-b")
    assert claimed is not None and claimed.id == job and claimed.attempts == 1
    assert two.renew(job, "replica-b", {"stage": "embed", "done": 1, "total": 4})
    assert one.get(job)["progress"] == {"stage": "embed", "done": 1, "total": 4}
    assert two.finish(job, "replica-b", "done", report={"added": ["a", "b"]})
    done = one.get(job)
    assert done["status"] == "done" and done["report"] == {"added": ["a", "b"]}
    assert done["progress"]["stage"] == "finished" and done["finished_at"]
    assert one.get(replaced)["status"] == "queued"
    assert one.delete_upload("b.md") and one.uploaded(["b.md"]) == set()
    two.db.dispose()


def test_racing_workers_claim_each_job_exactly_once(db: Database) -> None:  # noqa: F811
    """Four workers, each with its own engine (as four replicas would be), drain 24 jobs."""
    store = JobStore(db)
    created = [store.create([(f"f{i}.txt", b"x")]) for i in range(24)]
    claims: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        own = JobStore(Database(db.url))
        try:
            start.wait()
            while (job := own.claim(name)) is not None:
                claims.append((job.id, name))
                own.finish(job.id, name, "done", report={})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.db.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    counts = Counter(job for job, _ in claims)
    assert sorted(counts) == sorted(created) and set(counts.values()) == {1}
    assert all(store.get(j)["status"] == "done" for j in created)


def test_a_dead_workers_job_is_rerun_after_its_lease_then_failed(db: Database) -> None:  # noqa: F811
    store = JobStore(db, lease_s=0.3)
    job = store.create([("a.txt", b"Kvalitet.")])
    assert store.claim("dead-1") is not None  # a worker that will never renew
    assert store.claim("live") is None  # its lease still holds
    assert store.get(job)["status"] == "running"
    time.sleep(0.4)
    ran: list[list[str]] = []

    def run(paths: list[Path], progress: object) -> dict[str, list[str]]:
        ran.append([p.read_text() for p in paths])
        return {"added": ["a"]}

    queue = IngestQueue(store, run)
    assert queue.run_once(job)
    assert ran == [["Kvalitet."]]
    done = store.get(job)
    assert done["status"] == "done" and done["attempts"] == 2 and done["worker"] == queue.worker
    # The dead worker's late writes change nothing: the job is no longer its own.
    assert not store.renew(job, "dead-1") and not store.finish(job, "dead-1", "failed")
    assert store.get(job)["status"] == "done"

    doomed = store.create([("hang.docx", b"x")])
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claimed = store.claim(f"dead-{attempt}")
        assert claimed is not None and claimed.attempts == attempt
        time.sleep(0.4)
    assert store.claim("live") is None  # failed, not handed out a third time
    failed = store.get(doomed)
    assert failed["status"] == "failed" and f"{MAX_ATTEMPTS} times" in failed["error"], failed
    assert failed["finished_at"] and failed["attempts"] == MAX_ATTEMPTS


def test_files_of_an_earlier_version_are_imported_once(db: Database, tmp_path: Path) -> None:  # noqa: F811
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True)
    (data / "uploads" / "kept.txt").write_text("Kvalitet i bostøtten.")
    old = sqlite3.connect(data / "feedback.sqlite")
    old.execute(
        "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,"
        " question TEXT NOT NULL, answer TEXT NOT NULL, rating TEXT NOT NULL, comment TEXT,"
        " request_id TEXT, history TEXT)"
    )
    old.executemany(
        "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (3, "2026-11-01T10:00:00+00:00", "Hvad?", "Svar", "up", None, "r1", None),
            (7, "2026-11-02T10:00:00+00:00", "Og så?", "Nej", "down", "forkert", None, None),
        ],
    )
    old.commit()
    old.close()
    jobs = sqlite3.connect(data / "jobs.sqlite")
    jobs.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, files TEXT NOT NULL,"
        " created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, progress TEXT,"
        " report TEXT, error TEXT, owner INTEGER, attempts INTEGER NOT NULL DEFAULT 0)"
    )
    rows = [
        ("done1", "done", '["x.txt"]', '{"added": ["x"]}', 1),
        ("run1", "running", '["kept.txt"]', None, 1),
        ("lost1", "queued", '["gone.txt"]', None, 0),
    ]
    for job_id, status, files, report, attempts in rows:
        jobs.execute(
            "INSERT INTO jobs (id, status, files, created_at, report, owner, attempts)"
            " VALUES (?, ?, ?, '2026-11-01T10:00:00.000+00:00', ?, 1, ?)",
            (job_id, status, files, report, attempts),
        )
    jobs.commit()
    jobs.close()
    settings = Settings(data_dir=data)
    assert import_legacy(db, settings) == {"feedback": 2, "jobs": 3, "uploads": 1}
    assert import_legacy(db, settings) == {"feedback": 0, "jobs": 0, "uploads": 0}
    feedback = FeedbackStore(db)
    assert feedback.get(7)["comment"] == "forkert"  # ids kept: labels name feedback by id
    assert feedback.add("Ny?", "Ja", "up", None) == 8  # and new rows follow them
    store = JobStore(db)
    assert store.get("done1")["report"] == {"added": ["x"]}
    assert store.get("run1")["status"] == "queued"  # its file is there: run again
    assert store.read_upload("kept.txt") == "Kvalitet i bostøtten.".encode()
    lost = store.get("lost1")
    assert lost["status"] == "failed" and "upload again" in lost["error"]
    assert (data / "feedback.sqlite").exists()  # nothing deleted


# -- a worker process killed in the middle of a real ingestion ------------------------------

_WORKER = """
import sys
from assistant.api.jobs import IngestQueue
from assistant.db import Database
from assistant.db.jobs import JobStore
from ingest.pipeline import Indexer
from ingest.settings import Settings

settings = Settings(data_dir=sys.argv[1])
store = JobStore(Database.from_settings(settings), lease_s=float(sys.argv[2]))
run = lambda paths, progress: Indexer(settings, progress=progress).run(paths).model_dump()
IngestQueue(store, run, uploads_dir=settings.uploads_dir).run_once()
"""


def _long_document() -> bytes:
    paragraphs = "\n\n".join(
        f"Afsnit {i}: Borgeren og bostøttemedarbejderen aftaler mål nummer {i} for ugen. "
        f"Kvaliteten følges op på mødet hver måned, og aftalen nummer {i} skrives ned. "
        f"Evalueringen af forløb {i} viste mere indflydelse på hverdagen."
        for i in range(24)
    )
    return f"# Langt dokument om bostøtte\n\n{paragraphs}\n".encode()


def _documents(settings: Settings) -> list[str]:
    from ingest.store import open_store

    if not settings.records_path.exists():
        return []
    store = open_store(settings)
    try:
        return [d.doc_id for d in store.list_documents()]
    finally:
        store.close()


def test_a_worker_killed_mid_ingestion_leaves_nothing_and_the_job_reruns(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=PROJECT_ROOT / "corpus")
    database = Database.from_settings(settings)
    store = JobStore(database, lease_s=2.0)
    job = store.create([("langt.md", _long_document())])
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(settings.data_dir), "2.0"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        # Killed once it is embedding: loaded and chunked, nothing committed yet.
        while (state := store.get(job))["status"] != "running" or (
            (state["progress"] or {}).get("stage") != "embed"
        ):
            if worker.poll() is not None:
                raise AssertionError(worker.communicate()[1].decode()[-2000:])
            assert time.monotonic() < deadline, state
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert store.get(job)["status"] == "running"  # until its lease runs out
    assert "langt-dokument-om-bostoette" not in " ".join(_documents(settings))
    assert _documents(settings) == []  # nothing half-ingested became visible

    queue = IngestQueue(
        store,
        lambda paths, progress: Indexer(settings, progress=progress).run(paths).model_dump(),
        uploads_dir=settings.uploads_dir,
    )
    deadline = time.monotonic() + 30
    while not queue.run_once(job):  # the lease (2 s) must run out first
        assert time.monotonic() < deadline
        time.sleep(0.2)
    done = store.get(job)
    assert done["status"] == "done" and done["attempts"] == 2, done
    assert len(done["report"]["added"]) == 1
    assert _documents(settings) == done["report"]["added"]
    database.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_replacement_ingested_by_another_replica_keeps_the_id(
    db_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Two replicas (own data dirs, one KVA_UPLOADS_FOLDER) on one PostgreSQL: the new version
    of an upload taken by A is ingested by B's worker and replaces the document."""
    shared = tmp_path / "uploads"

    def replica(name: str) -> tuple[Settings, IngestQueue]:
        settings = Settings(data_dir=tmp_path / name, database_url=db_url, uploads_folder=shared)
        store = JobStore(Database.from_settings(settings))
        run = lambda paths, progress: Indexer(settings).run(paths).model_dump()  # noqa: E731
        return settings, IngestQueue(store, run, uploads_dir=settings.uploads_dir)

    (_, a), (_, b) = replica("a"), replica("b")
    first = a.store.create([("ny-metode.md", b"# Ny metode\n\nVersion et om bostotte.\n")])
    assert a.run_once(first)
    added = a.store.get(first)["report"]["added"]
    second = a.store.create([("ny-metode.md", b"# Ny metode\n\nVersion to om bostotte.\n")])
    assert b.run_once(second)
    report = b.store.get(second)["report"]
    assert report["updated"] == added and report["added"] == [], report
    for queue in (a, b):
        queue.store.db.dispose()


def test_shared_state_doctests() -> None:
    import doctest

    import assistant.api.database
    import assistant.api.faults
    import assistant.api.jobs
    import assistant.db.feedback
    import assistant.db.jobs
    import assistant.db.legacy

    for module in (
        assistant.api.database,
        assistant.api.faults,
        assistant.api.jobs,
        assistant.db.feedback,
        assistant.db.jobs,
        assistant.db.legacy,
    ):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
        assert result.attempted > 0, module.__name__
