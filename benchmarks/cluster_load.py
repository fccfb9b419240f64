"""Load through the balancer of ``make cluster`` on loopback: 1 and 2 API replicas behind nginx.

Starts a temporary cluster (scripts/cluster.py: PostgreSQL from pgserver, the seed corpus, two
replicas, nginx), plus a second nginx in front of replica a alone for the one-replica rows.
For each of 1 and 2 replicas and 50 and 100 concurrent clients it sends ``POST /api/ask`` (the
seed questions, in turn) until ``--requests`` are done or ``--max-seconds`` pass, and prints
requests/s, p50/p95/p99 latency and errors. Then 100 clients on 2 replicas again, replica b
killed with SIGKILL a third of the way in: how many requests failed, and whether every failed
one had started before b was gone (in flight on it). Bounded, loopback only.

On a 2-core machine the replicas share the same two cores, so a second replica adds
availability, not throughput.

Example:
    nice -n 10 .venv/bin/python benchmarks/cluster_load.py
    .venv/bin/python benchmarks/cluster_load.py --requests 200 --clients 50,100 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from cluster import Cluster, find_nginx, free_port, render_nginx_conf  # noqa: E402
from load_api import QUESTIONS, percentile  # noqa: E402 - the same questions and percentile


async def run_level(
    url: str,
    clients: int,
    requests: int,
    max_seconds: float,
    kill_at: float | None = None,
    kill: object = None,
) -> dict:
    """``clients`` concurrent askers until ``requests`` are issued or ``max_seconds`` pass.
    With ``kill_at`` (a fraction of ``requests``), ``kill()`` runs once that many are done."""
    done: list[tuple[float, float, int]] = []  # (start, end, status; 0 = no answer)
    errors: dict[str, int] = {}
    issued = 0
    gone: float | None = None
    deadline = time.monotonic() + max_seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal issued, gone
        while issued < requests and time.monotonic() < deadline:
            question = QUESTIONS[issued % len(QUESTIONS)]
            issued += 1
            started = time.monotonic()
            try:
                status = (await client.post("/api/ask", json={"question": question})).status_code
            except httpx.HTTPError as exc:
                status = 0
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            done.append((started, time.monotonic(), status))
            if status != 200 and status:
                errors[str(status)] = errors.get(str(status), 0) + 1
            if kill_at is not None and gone is None and len(done) >= kill_at * requests:
                gone = -1.0  # claimed: one worker kills
                await asyncio.to_thread(kill)  # type: ignore[arg-type]
                gone = time.monotonic()

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        began = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.monotonic() - began
    ok = [end - start for start, end, status in done if status == 200]
    failed = [(start, status) for start, _, status in done if status != 200]
    row = {
        "clients": clients,
        "requests": len(done),
        "seconds": round(elapsed, 1),
        "req_per_s": round(len(ok) / elapsed, 1),
        "p50_ms": round(percentile(ok, 50) * 1000) if ok else None,
        "p95_ms": round(percentile(ok, 95) * 1000) if ok else None,
        "p99_ms": round(percentile(ok, 99) * 1000) if ok else None,
        "errors": sum(1 for _, s in failed),
        "error_kinds": errors,
    }
    if kill_at is not None and gone and gone > 0:
        row["failed_after_kill"] = sum(1 for start, _ in failed if start > gone)
        row["failed_in_flight"] = sum(1 for start, _ in failed if start <= gone)
        row["succeeded_after_kill"] = sum(1 for start, _, s in done if start > gone and s == 200)
    return row


def start_single_balancer(nginx: Path, cluster: Cluster, run_dir: Path) -> tuple[str, object]:
    """nginx in front of replica a alone (the same config, one server line)."""
    port = free_port()
    conf = render_nginx_conf(run_dir, port, [f"127.0.0.1:{cluster.nodes[0].port}"])
    proc = subprocess.Popen(
        [str(nginx), "-p", str(run_dir), "-c", str(conf), "-e", str(run_dir / "error.log")],
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the one-replica nginx did not answer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per row (at most 2,000)")
    parser.add_argument("--max-seconds", type=float, default=90, help="per row")
    parser.add_argument("--clients", default="50,100")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    requests = min(args.requests, 2000)
    levels = [int(x) for x in args.clients.split(",")]
    nginx = find_nginx()
    if nginx is None:
        print("error: nginx is not installed and could not be fetched", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="kva-bench-cluster-"))
    cluster = Cluster(root, replicas=2, temporary=True, env={"OMP_NUM_THREADS": "1"})
    single = None
    rows: list[dict] = []
    try:
        began = time.monotonic()
        cluster.start()
        print(f"cluster ready in {time.monotonic() - began:.0f} s", file=sys.stderr)
        one_url, single = start_single_balancer(nginx, cluster, root / "nginx-one")
        for replicas, url in ((1, one_url), (2, cluster.balancer_url)):
            asyncio.run(run_level(url, 4, 12, 60))  # warm-up, not reported
            for clients in levels:
                row = asyncio.run(run_level(url, clients, requests, args.max_seconds))
                rows.append({"replicas": replicas, **row})
                print(json.dumps(rows[-1]), file=sys.stderr)

        def kill() -> None:
            cluster.kill_replica(1, signal.SIGKILL)

        row = asyncio.run(
            run_level(cluster.balancer_url, max(levels), requests, args.max_seconds, 1 / 3, kill)
        )
        rows.append({"replicas": "2, b killed", **row})
    finally:
        if single is not None:
            single.terminate()  # type: ignore[attr-defined]
            single.wait(10)  # type: ignore[attr-defined]
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"POST /api/ask through nginx, seed corpus, {requests} requests per row (bounded)")
    print(f"{'replicas':<12} {'clients':>7} {'req':>5} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'errors':>6}")
    for r in rows:
        print(f"{r['replicas']!s:<12} {r['clients']:>7} {r['requests']:>5} {r['req_per_s']:>6} "
              f"{r['p50_ms']!s:>7} {r['p95_ms']!s:>7} {r['p99_ms']!s:>7} {r['errors']:>6}")
    last = rows[-1]
    if "failed_in_flight" in last:
        print(f"replica b killed after a third of the last row: {last['errors']} failed "
              f"({last['failed_in_flight']} in flight on it, {last['failed_after_kill']} started "
              f"after it was gone); {last['succeeded_after_kill']} succeeded after the kill; "
              f"kinds {last['error_kinds']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
