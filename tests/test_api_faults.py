"""Issue 23 point 7: storage faults under a real server are 503/507 with a reason, not 500.

- a records database truncated under a running API: every ask 503 ``store_unavailable``
  and ``/readyz`` 503 saying why;
- a corrupt records database at start: ``/api/documents`` 503, ``/readyz`` says why;
- a full disk (a real tmpfs, filled, in a user namespace, skipped where those are off; and
  the server's file size limit lowered, which works everywhere): feedback, upload and delete
  507 ``insufficient_storage``, and what was stored is unchanged.

Each case runs on its own copy of the corpus store.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from api_fixtures import LogCapture, Server

from assistant.api.app import create_app
from ingest.settings import PROJECT_ROOT, Settings

API_KEY = "fault-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy(corpus_settings: Settings, tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    shutil.copytree(corpus_settings.data_dir, data)
    return Settings(data_dir=data, corpus_dir=PROJECT_ROOT / "corpus", api_key=API_KEY)


def _serve(settings: Settings, want_ready: bool = True) -> Server:
    """A server on loopback; returns once /readyz answers (200, or any answer if not
    ``want_ready``)."""
    app = create_app(settings)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{url}/readyz", timeout=5)
            if r.status_code == 200 or (not want_ready and not app.state.loading):
                return Server(url, settings, app, server, thread, LogCapture())
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.should_exit = True
    raise AssertionError("server did not answer /readyz in 120 s")


def _error(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "request_id"}, body
    assert body["error"]["code"] == code, body
    return body["error"]["message"]


@pytest.fixture()
def served(corpus_settings: Settings, tmp_path: Path) -> Iterator[Server]:
    server = _serve(_copy(corpus_settings, tmp_path))
    yield server
    server.stop()


def test_truncated_records_under_a_running_api(served: Server) -> None:
    with served.client() as c:
        assert c.post("/api/ask", json={"question": "Hvad er kvalitet?"}).status_code == 200
        # Cut to its first pages, and its write-ahead log with it (a copy of a store the
        # tests opened may hold its pages there). The shared-memory index keeps its size
        # (SQLite maps it: cut, it is a bus error) but loses its header, so every open
        # connection reads the files again instead of trusting its page cache.
        store = served.settings.store_dir
        for path in (store / "records.sqlite", store / "records.sqlite-wal"):
            if path.exists():
                with path.open("r+b") as f:
                    f.truncate(min(path.stat().st_size, 8192))
        shm = store / "records.sqlite-shm"
        if shm.exists():
            with shm.open("r+b") as f:
                f.write(b"\0" * 136)
        for _ in range(2):
            r = c.post("/api/ask", json={"question": "Hvad er kvalitet i bostøtten?"})
            message = _error(r, 503, "store_unavailable")
            assert "ingest check" in message and r.headers["retry-after"]
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["error"], ready.json()
        # Not an empty list: the documents are not gone, their database is broken.
        _error(c.get("/api/documents"), 503, "store_unavailable")


def test_corrupt_records_at_start(corpus_settings: Settings, tmp_path: Path) -> None:
    settings = _copy(corpus_settings, tmp_path)
    # Everything into the main file first: a page still in the WAL would be read from there,
    # past the garbled header.
    with closing(sqlite3.connect(settings.records_path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with settings.records_path.open("r+b") as f:
        f.write(b"\x00garbage" * 16)  # over the SQLite header
    server = _serve(settings, want_ready=False)
    try:
        with server.client() as c:
            _error(c.get("/api/documents"), 503, "store_unavailable")
            _error(c.get("/api/documents/x"), 503, "store_unavailable")
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.json().get("error"), ready.json()
    finally:
        server.stop()


_TMPFS_SCRIPT = r"""
set -e
mount -t tmpfs -o size=24m tmpfs "$MNT"
cp -a "$DATA" "$MNT/data"
KVA_DATA_DIR="$MNT/data" "$PY" -m assistant serve --port "$PORT" 2> "$LOG" &
pid=$!
while [ ! -e "$TRIGGER" ]; do sleep 0.1; done
avail=$(df -B1 --output=avail "$MNT" | tail -1)
fallocate -l $((avail - 8192)) "$MNT/filler" || true
dd if=/dev/zero of="$MNT/filler2" bs=1024 2> /dev/null || true
touch "$FILLED"
while [ ! -e "$STOP" ]; do sleep 0.2; done
kill -INT $pid
wait $pid || true
"""


def _namespaces_work() -> bool:
    if not shutil.which("unshare") or not shutil.which("fallocate"):
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True
    )
    return probe.returncode == 0


@contextmanager
def _tmpfs_server(data: Path, tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """The API in a user namespace over a 24 MB tmpfs; ``fill()`` fills that disk."""
    if not _namespaces_work():
        pytest.skip("needs unshare -Urm (unprivileged user namespaces) and fallocate")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    port = _free_port()
    env = _server_env(
        MNT=str(mnt),
        DATA=str(data),
        PY=sys.executable,
        PORT=str(port),
        LOG=str(tmp_path / "serve.log"),
        TRIGGER=str(tmp_path / "fill"),
        FILLED=str(tmp_path / "filled"),
        STOP=str(tmp_path / "stop"),
    )
    proc = subprocess.Popen(
        ["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", _TMPFS_SCRIPT],
        cwd=PROJECT_ROOT,
        env=env,
    )

    def fill() -> None:
        (tmp_path / "fill").touch()
        deadline = time.monotonic() + 30
        while not (tmp_path / "filled").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (tmp_path / "filled").exists()

    try:
        yield f"http://127.0.0.1:{port}", fill
    finally:
        (tmp_path / "stop").touch()
        _stop(proc)


@contextmanager
def _rlimit_server(data: Path, tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """The API as a child process; ``fill()`` lowers its file size limit (RLIMIT_FSIZE) to
    what its files hold: a write that grows a file then fails as on a full disk (EFBIG;
    Python ignores SIGXFSZ). Works where user namespaces are off."""
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=_server_env(KVA_DATA_DIR=str(copy)),
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"),
    )

    def fill() -> None:
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (1, 1))

    try:
        yield f"http://127.0.0.1:{port}", fill
    finally:
        _stop(proc)


def _server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, KVA_API_KEY=API_KEY, **extra)
    env.pop("API_URL", None)
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("disk", ["tmpfs", "rlimit"])
def test_full_disk_is_507_and_loses_nothing(
    corpus_settings: Settings, tmp_path: Path, disk: str
) -> None:
    server = _tmpfs_server if disk == "tmpfs" else _rlimit_server
    admin = {"Authorization": f"Bearer {API_KEY}"}
    with (
        server(corpus_settings.data_dir, tmp_path) as (url, fill),
        httpx.Client(base_url=url, timeout=60) as c,
    ):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if c.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError((tmp_path / "serve.log").read_text()[-2000:])
        before = c.get("/api/documents").json()["documents"]
        fill()
        feedback = {"question": "Hvad?", "answer": "Svar " * 2000, "rating": "up"}
        _error(c.post("/api/feedback", json=feedback), 507, "insufficient_storage")
        files = {"files": ("ny.md", b"# Ny\n\n" + b"Kvalitet i bostotten. " * 2000)}
        r = c.post("/api/documents", files=files, headers=admin)
        _error(r, 507, "insufficient_storage")
        r = c.delete(f"/api/documents/{before[0]['doc_id']}", headers=admin)
        _error(r, 507, "insufficient_storage")
        # Nothing stored was lost: the same documents, still answered from.
        assert c.get("/api/documents").json()["documents"] == before
        r = c.post("/api/ask", json={"question": "Hvad er kvalitet i bostøtten?"})
        assert r.status_code == 200 and r.json()["citations"], r.text
