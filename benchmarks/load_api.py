"""Load test for ``POST /api/ask``: requests/s and p50/p95/p99 at 1, 10 and 50 clients.

Bounded in count (``--requests`` per level) and time (``--max-seconds`` per level), and
loopback only. By default it ingests the corpus into a temporary data dir, starts
``python -m assistant.serve --workers 2`` on a free port, measures, and stops the server.

Example:
    .venv/bin/python benchmarks/load_api.py                       # own server, 2 workers
    .venv/bin/python benchmarks/load_api.py --requests 200 --levels 1,10,50
    .venv/bin/python benchmarks/load_api.py --url http://127.0.0.1:8000   # a running server
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_REQUESTS = 2000
QUESTIONS = [
    "Hvad er kvalitet på botilbud og i bostøtte?",
    "What is quality in housing support?",
    "Hvilken paragraf i serviceloven gælder for bostøtte?",
    "What are the sub-initiatives on enhanced quality in social psychiatry?",
    "Hvordan arbejder man med recovery i socialpsykiatrien?",
]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile.

    >>> percentile([1, 2, 3, 4], 50)
    2
    """
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


async def run_level(url: str, clients: int, requests: int, max_seconds: float) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = 0
    deadline = time.monotonic() + max_seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal issued
        while issued < requests and time.monotonic() < deadline:
            n = issued
            issued += 1
            started = time.perf_counter()
            try:
                r = await client.post("/api/ask", json={"question": QUESTIONS[n % len(QUESTIONS)]})
                key = None if r.status_code == 200 else str(r.status_code)
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            if key is None:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors[key] = errors.get(key, 0) + 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    ok = len(latencies)
    return {
        "clients": clients,
        "requests": ok + sum(errors.values()),
        "ok": ok,
        "errors": errors,
        "seconds": round(elapsed, 2),
        "rps": round(ok / elapsed, 2) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1) if ok else None,
        "p95_ms": round(percentile(latencies, 95), 1) if ok else None,
        "p99_ms": round(percentile(latencies, 99), 1) if ok else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if ok else None,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_data_dir(data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir
    sys.path.insert(0, str(ROOT))
    from ingest.pipeline import Indexer
    from ingest.settings import Settings

    path = Path(tempfile.mkdtemp(prefix="kva-load-"))
    settings = Settings(data_dir=path)
    report = Indexer(settings).run([settings.corpus_dir])
    print(f"ingested {len(report.added)} documents into {path} in {report.seconds:.1f} s")
    return path


def start_server(data_dir: Path, workers: int, port: int) -> subprocess.Popen:
    env = {**os.environ, "KVA_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "assistant.serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers)]
    log = open(data_dir / "server.log", "w")  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen | None, timeout: float = 180) -> None:
    # With several workers each loads its own models: wait for a run of ready answers.
    deadline, streak = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and streak < 10:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            streak = streak + 1 if httpx.get(f"{url}/readyz", timeout=5).status_code == 200 else 0
        except httpx.TransportError:
            streak = 0
        time.sleep(0.1 if streak else 0.5)
    if streak < 10:
        raise SystemExit("server not ready in time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="use a running server (loopback only)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--levels", default="1,10,50", help="concurrent clients per level")
    parser.add_argument("--requests", type=int, default=100, help="requests per level")
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per level")
    parser.add_argument("--data-dir", type=Path, help="an ingested data dir (default: temp)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be 1..{MAX_REQUESTS}")
    levels = [int(x) for x in args.levels.split(",")]
    if any(not 1 <= c <= 200 for c in levels):
        parser.error("levels must be 1..200 clients")

    proc = None
    own_dir: Path | None = None
    url = args.url
    if url:
        if urlparse(url).hostname not in LOOPBACK:
            parser.error("--url must point at a loopback address")
    else:
        data_dir = prepare_data_dir(args.data_dir)
        own_dir = None if args.data_dir else data_dir
        url = f"http://127.0.0.1:{free_port()}"
        proc = start_server(data_dir, args.workers, int(url.rsplit(":", 1)[1]))
    try:
        wait_ready(url, proc)
        asyncio.run(run_level(url, min(4, max(levels)), 8, 30))  # warm-up, not reported
        results = [asyncio.run(run_level(url, c, args.requests, args.max_seconds)) for c in levels]
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)

    workers = args.workers if proc is not None else "?"
    print(f"\nPOST /api/ask on {url}, workers={workers}, cpus={os.cpu_count()}")
    header = ("clients", "ok", "err", "req/s", "p50 ms", "p95 ms", "p99 ms")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (7, 5, 4, 7, 8, 8, 8), strict=True)))
    for r in results:
        print(
            f"{r['clients']:>7} {r['ok']:>5} {sum(r['errors'].values()):>4} {r['rps']:>7} "
            f"{r['p50_ms']!s:>8} {r['p95_ms']!s:>8} {r['p99_ms']!s:>8}"
        )
    if args.json:
        args.json.write_text(json.dumps({"url": url, "workers": workers, "levels": results}))
    return 0 if all(not r["errors"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
