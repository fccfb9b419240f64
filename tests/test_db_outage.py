"""PostgreSQL stopped under a running API replica, then started again (issue 24, item 4):
``/readyz`` turns 503 naming the database, every request that needs the database gets a 503
``database_unavailable`` with Retry-After (an ask may still be answered from the snapshot in
memory; nothing is a 500), and once the server is back the same process is ready again, takes
feedback and runs an upload through its ingestion worker, with no restart.

The server is this module's own ``pgserver`` (stopping the session's would disturb other
tests); the documents are the seed corpus, copied into it as ``python -m ingest migrate`` does.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_fixtures import API_KEY, LogCapture, admin_headers, start_server
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ingest.settings import PROJECT_ROOT, Settings

DA_Q = "Hvad er kvalitet på botilbud og i bostøtte?"


class Postgres:
    """A pgserver of our own that can be stopped and started again."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        server = self.server
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()  # same data, same socket folder


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError:
            pytest.skip("pgserver is not installed (it is in the dev extra: requirements.lock)")
    pgdata = Path(tempfile.mkdtemp(prefix="kva-pgo-"))  # short: the socket lives in it
    try:
        server = pgserver.get_server(pgdata, cleanup_mode="delete")
    except Exception as exc:  # no useradd as root, no shared memory in a sandbox, ...
        shutil.rmtree(pgdata, ignore_errors=True)
        pytest.skip(f"PostgreSQL (pgserver) could not start here: {type(exc).__name__}: {exc}")
    yield Postgres(server)
    server.cleanup()


@pytest.fixture(scope="module")
def replica_url(postgres: Postgres, corpus_settings: Settings) -> str:
    """A database holding the seed corpus (copied from the session's embedded store)."""
    from ingest.store import open_store
    from ingest.store.copy import copy_store
    from ingest.store.embedded import EmbeddedStore
    from ingest.store.postgres import PostgresStore

    root = PostgresStore.url_for(postgres.server.get_uri())
    admin = create_engine(root, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "kva_outage"'))
    admin.dispose()
    url = make_url(root).set(database="kva_outage").render_as_string(hide_password=False)
    source = EmbeddedStore(corpus_settings)
    model = source.get_meta("embedding_model")
    target = open_store(
        Settings(data_dir=Path(tempfile.mkdtemp(prefix="kva-pgo-copy-")), database_url=url),
        model_id=model,
    )
    try:
        assert copy_store(source, target) == 1
    finally:
        target.close()
    return url


def _unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.json()["error"]["code"] == "database_unavailable", r.text
    assert r.headers.get("retry-after")


def test_postgresql_stopped_is_503_then_recovers_without_a_restart(
    postgres: Postgres, replica_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "replica",
        corpus_dir=PROJECT_ROOT / "corpus",
        api_key=API_KEY,
        database_url=replica_url,
    )
    logs = LogCapture()
    server = start_server(settings, logs)
    admin = admin_headers()
    feedback = {"question": DA_Q, "answer": "Svar", "rating": "up"}
    try:
        with server.client(timeout=30) as c:
            assert c.get("/readyz").status_code == 200
            assert c.post("/api/ask", json={"question": DA_Q}).status_code == 200
            assert c.post("/api/feedback", json=feedback).status_code == 201
            room = c.post("/api/workshops", json={"title": "Kursus"}, headers=admin)
            assert room.status_code == 201, room.text
            code = room.json()["code"]

            postgres.stop()
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["ready"] is False
            assert "the database postgresql" in ready.json()["error"], ready.json()
            assert "unreachable" in ready.json()["error"]
            assert "kva_outage" in ready.json()["error"]
            _unavailable(c.post("/api/feedback", json=feedback))
            _unavailable(c.get("/api/jobs/0123456789abcdef0123456789abcdef"))
            _unavailable(c.get(f"/api/workshops/{code}"))
            files = {"files": ("under-nedbrud.md", b"# Nedbrud\n\nKvalitet i bostotten.\n")}
            _unavailable(c.post("/api/documents", files=files, headers=admin))
            # An ask may be answered from the snapshot in memory, or refused: never a 500.
            asked = c.post("/api/ask", json={"question": DA_Q})
            print(f"an ask while PostgreSQL is down: {asked.status_code}")
            if asked.status_code != 200:
                _unavailable(asked)
            listing = c.get("/api/documents")
            if listing.status_code != 200:
                _unavailable(listing)
            assert all(r["status"] != 500 for r in logs.records() if "status" in r)

            # A replica started meanwhile waits for the database instead of giving up.
            late = _start_unready(settings.model_copy(update={"data_dir": tmp_path / "late"}))
            assert late.get("/readyz").status_code == 503

            postgres.start()
            started = time.monotonic()
            for replica in (c, late):
                deadline = time.monotonic() + 60
                while (ready := replica.get("/readyz")).status_code != 200:
                    assert time.monotonic() < deadline, ready.json()
                    time.sleep(0.25)
            print(f"both replicas ready {time.monotonic() - started:.1f} s after the restart")
            assert late.post("/api/ask", json={"question": DA_Q}).status_code == 200
            assert c.post("/api/ask", json={"question": DA_Q}).status_code == 200
            assert c.post("/api/feedback", json=feedback).status_code == 201
            assert c.get(f"/api/workshops/{code}").status_code == 200
            # The ingestion worker lived through the outage: an upload is ingested.
            files = {"files": ("efter-nedbrud.md", b"# Efter nedbrud\n\nKvalitet i bostotten.\n")}
            job = c.post("/api/documents", files=files, headers=admin)
            assert job.status_code == 202, job.text
            deadline = time.monotonic() + 120
            while (state := c.get(job.headers["location"]).json())["status"] in (
                "queued",
                "running",
            ):
                assert time.monotonic() < deadline, state
                time.sleep(0.25)
            assert state["status"] == "done", state
    finally:
        server.stop()
        for stop in _started:
            stop()


_started: list[Any] = []


def _start_unready(settings: Settings) -> httpx.Client:
    """A replica whose /readyz need not be 200 yet (start_server waits for that)."""
    import threading

    import uvicorn
    from api_fixtures import free_port

    from assistant.api.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

    def stop() -> None:
        client.close()
        server.should_exit = True
        thread.join(15)

    _started.append(stop)
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return client
