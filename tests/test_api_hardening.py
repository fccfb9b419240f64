"""Issue 23, API side: what `python -m assistant serve` itself must hold (a real process).

- a worker killed with SIGKILL is replaced within seconds (it took 120 s), even when the
  supervisor was waiting for that worker's answer to a health ping;
- a request head that never completes is closed after ``KVA_HEAD_TIMEOUT_S`` (slowloris).

The server runs over an empty data dir: /healthz answers without a store, and nothing here
needs one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAD_TIMEOUT_S = 2


@dataclass
class Served:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _workers(parent: int) -> set[int]:
    """Pids of the uvicorn workers (spawned children) of ``parent``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def _wait(predicate, timeout: float, step: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("hardening")
    port = _free_port()
    env = dict(
        os.environ,
        KVA_DATA_DIR=str(data),
        KVA_HEAD_TIMEOUT_S=str(HEAD_TIMEOUT_S),
        # No models to load for these checks: the assistant's load fails fast on no store.
        OMP_NUM_THREADS="1",
    )
    env.pop("API_URL", None)
    log = data / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--workers", "2", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    server = Served(port, proc, log)

    def healthy() -> bool:
        try:
            return httpx.get(server.url + "/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        assert _wait(healthy, 120, 0.2), log.read_text(errors="replace")[-2000:]
        assert _wait(lambda: len(_workers(proc.pid)) == 2, 60)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_killed_worker_is_replaced_within_seconds(served: Served) -> None:
    """Issue 23 point 8: the worker is stopped first so the supervisor is left waiting for its
    ping answer, then killed: uvicorn waited out its 120 s health-check timeout there."""
    before = _workers(served.proc.pid)
    victim = min(before)
    os.kill(victim, signal.SIGSTOP)
    time.sleep(1.5)  # the supervisor pings every 0.5 s: it is now waiting on the victim
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    replaced = _wait(lambda: (_workers(served.proc.pid) - before) or None, 10)
    assert replaced, f"no new worker within 10 s of killing {victim}"
    took = time.monotonic() - killed_at
    assert victim not in _workers(served.proc.pid)
    assert len(_workers(served.proc.pid)) == 2
    # The workers serve again (generous timeout: a starting worker loads its models).
    for _ in range(4):
        assert httpx.get(served.url + "/healthz", timeout=120).status_code == 200
    print(f"worker {victim} killed; replacement {sorted(replaced)} after {took:.1f} s")


def test_slow_request_heads_are_closed(served: Served) -> None:
    """Issue 23 point 13: connections that send a partial head and then trickle or stop are
    closed after the head timeout; a normal request still works meanwhile."""
    socks = []
    for i in range(40):
        s = socket.create_connection(("127.0.0.1", served.port), timeout=30)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        if i % 2:
            s.sendall(b"X-Slow: 1\r\n")  # one more header line: still no end of head
        socks.append(s)
    started = time.monotonic()
    assert httpx.get(served.url + "/healthz", timeout=120).status_code == 200
    closed = 0
    for s in socks:
        s.settimeout(max(0.1, started + HEAD_TIMEOUT_S + 8 - time.monotonic()))
        try:
            closed += s.recv(1024) == b""  # EOF: the server closed it
        except (TimeoutError, ConnectionResetError) as exc:
            closed += isinstance(exc, ConnectionResetError)
        finally:
            s.close()
    assert closed == len(socks), f"{len(socks) - closed} slow connections still open"
    # A kept-alive connection that starts a second head and stalls is closed too.
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b'{"status":"ok"}' not in first:  # head and body may come in two reads
            chunk = s.recv(4096)
            assert chunk, first
            first += chunk
        assert first.startswith(b"HTTP/1.1 200"), first
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        s.settimeout(HEAD_TIMEOUT_S + 8)
        assert s.recv(1024) == b""
