"""A real API server on a loopback port, shared by all ``tests/test_api*.py`` modules.

The corpus is ingested once into a temporary data dir, the Assistant is loaded once, and the
app runs under uvicorn in a background thread. Import the fixtures into a test module:

    from api_fixtures import api, admin_off, log_lines  # noqa: F401

The server is memoised at module level (not only by fixture scope) because pytest would start a
"session" fixture once per importing module otherwise.
"""

from __future__ import annotations

import atexit
import io
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # lets `pytest tests/...` import the packages without installing
    sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402

from assistant.api.app import create_app  # noqa: E402
from assistant.api.logging import configure_logging  # noqa: E402
from ingest.settings import Settings  # noqa: E402

API_KEY = "test-admin-key"
UPLOAD_LIMIT_MB = 0.05  # small, so the 413 case needs only ~60 KB


class LogCapture(io.TextIOBase):
    """A thread-safe text sink for the JSON log handler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
        return len(text)

    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]


@dataclass
class Server:
    url: str
    settings: Settings
    app: Any
    server: uvicorn.Server
    thread: threading.Thread
    logs: LogCapture
    extra: list[Any] = field(default_factory=list)

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kw.pop("timeout", 60), **kw)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    settings: Settings, logs: LogCapture, assistant: Any = None, ready: bool = True
) -> Server:
    """Serve on a free loopback port; wait for /readyz 200 (or, with ``ready=False``, for the
    process to answer /healthz: a server whose database is down is up but not ready)."""
    app = create_app(settings, assistant=assistant)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if not ready and httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return Server(url, settings, app, server, thread, logs)
            r = httpx.get(f"{url}/readyz", timeout=5)
            if r.status_code == 200:
                return Server(url, settings, app, server, thread, logs)
            if r.json().get("error"):
                raise RuntimeError(f"assistant failed to load: {r.json()['error']}")
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.should_exit = True
    raise RuntimeError("API server did not become ready in 180 s")


_lock = threading.Lock()
_servers: dict[str, Server] = {}


def _shared(name: str) -> Server:
    with _lock:
        if name in _servers:
            return _servers[name]
        if "main" not in _servers:
            _servers["main"] = _start_main()
        if name == "admin_off":
            main = _servers["main"]
            # Same data and Assistant object, but no API key: admin endpoints must be off.
            settings = main.settings.model_copy(update={"api_key": None})
            _servers[name] = start_server(settings, main.logs, assistant=main.app.state.assistant)
        return _servers[name]


def _start_main() -> Server:
    from ingest.pipeline import Indexer

    data_dir = Path(tempfile.mkdtemp(prefix="kva-api-test-"))
    atexit.register(shutil.rmtree, data_dir, True)
    settings = Settings(
        data_dir=data_dir,
        corpus_dir=ROOT / "corpus",
        api_key=API_KEY,
        max_upload_mb=UPLOAD_LIMIT_MB,
    )
    report = Indexer(settings).run([settings.corpus_dir])
    assert report.ok and report.added, report
    logs = LogCapture()
    configure_logging(logs)
    server = start_server(settings, logs)
    atexit.register(_stop_all)
    return server


def _stop_all() -> None:
    for server in reversed(list(_servers.values())):
        server.stop()


@pytest.fixture(scope="session")
def api(request: pytest.FixtureRequest) -> Server:
    """The main server: corpus ingested, admin key ``API_KEY`` configured."""
    # Stopped at the end of the session, not at exit: uvicorn logs its shutdown, and after the
    # session pytest has closed the stream it captured, which printed "Logging error" tracebacks.
    request.addfinalizer(_stop_all)
    return _shared("main")


@pytest.fixture(scope="session")
def admin_off(request: pytest.FixtureRequest) -> Server:
    """A second server on the same data with no API key configured."""
    request.addfinalizer(_stop_all)
    return _shared("admin_off")


@pytest.fixture()
def client(api: Server) -> Iterator[httpx.Client]:
    with api.client() as c:
        yield c


def admin_headers(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def parse_sse(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs from a server-sent-events body."""
    events: list[tuple[str, str]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events
