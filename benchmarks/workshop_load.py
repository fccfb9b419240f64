"""Workshop load: participants asking within one minute while the trainer's page polls.

Issue 21's room: 60 participants each ask 3 questions at random moments of one minute (each
question is stored, then answered by the assistant before its POST returns), while the
trainer polls the full list with ``If-None-Match`` (as a page would). Printed: p50/p95 from a
question's POST to its first appearance in the trainer's list, the participants' POST
latency (which includes the answer), the trainer's poll latency, and errors (any refused
request, and any question the trainer never saw). Target on a 2-core machine: p95 <= 3 s,
0 errors.

Bounded (``--participants``, ``--questions``, ``--window-s``; the run stops at most
``--drain-s`` after the last POST) and loopback only. By default it ingests the corpus into a
temporary data dir and starts ``python -m assistant.serve --workers 2`` (both workers share
the SQLite app database), as benchmarks/load_api.py does.

Example:
    .venv/bin/python benchmarks/workshop_load.py
    .venv/bin/python benchmarks/workshop_load.py --participants 20 --window-s 20
    .venv/bin/python benchmarks/workshop_load.py --url http://127.0.0.1:8000   # a running server
    KVA_DATABASE_URL=postgresql://… .venv/bin/python benchmarks/workshop_load.py   # on PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_api import (  # noqa: E402
    LOOPBACK,
    QUESTIONS,
    free_port,
    percentile,
    prepare_data_dir,
    start_server,
    wait_ready,
)

MAX_PARTICIPANTS = 200
MAX_QUESTIONS = 10


def _summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"n={len(values)} p50={percentile(values, 50):.0f} ms "
        f"p95={percentile(values, 95):.0f} ms max={max(values):.0f} ms"
    )


async def run(url: str, args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    limits = httpx.Limits(max_connections=args.participants + 5)
    errors: dict[str, int] = {}
    posted: dict[str, float] = {}  # question text -> POST start (monotonic)
    post_ms: list[float] = []
    seen: dict[str, float] = {}  # question text -> first seen by the trainer
    poll_ms: list[float] = []
    polls = {"200": 0, "304": 0}

    def error(key: str) -> None:
        errors[key] = errors.get(key, 0) + 1

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        # The API warms its pipeline before /readyz says ready; --warmup N adds N rounds of
        # questions per worker first (fresh connections, so they spread over the workers).
        async def warm(i: int) -> None:
            async with httpx.AsyncClient(base_url=url, timeout=120) as fresh:
                question = f"{QUESTIONS[i % len(QUESTIONS)]} (deltager {i}, nr. 0)"
                await fresh.post("/api/ask", json={"question": question})

        for round_ in range(args.warmup):
            await asyncio.gather(*(warm(round_ * 10 + i) for i in range(2 * args.workers)))
        headers = {}
        if key := os.environ.get("KVA_API_KEY"):
            headers["Authorization"] = f"Bearer {key}"
        r = await client.post(
            "/api/workshops", json={"title": "Load test", "language": "da"}, headers=headers
        )
        r.raise_for_status()
        room = r.json()
        code, trainer = room["code"], {"Authorization": f"Bearer {room['trainer_token']}"}
        ids = []
        for _ in range(args.participants):
            joined = await client.post(f"/api/workshops/{code}/join")
            joined.raise_for_status()
            ids.append(joined.json()["participant_id"])
        client.cookies.clear()  # one client for everybody: identify by header only

        stop = asyncio.Event()

        async def poll() -> None:
            etag = None
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    h = {**trainer, **({"If-None-Match": etag} if etag else {})}
                    r = await client.get(f"/api/workshops/{code}/questions", headers=h)
                    at = time.monotonic()
                    poll_ms.append((time.perf_counter() - started) * 1000)
                    if r.status_code == 200:
                        polls["200"] += 1
                        etag = r.headers.get("ETag")
                        for q in r.json()["questions"]:
                            seen.setdefault(q["text"], at)
                    elif r.status_code == 304:
                        polls["304"] += 1
                    else:
                        error(f"poll {r.status_code}")
                except httpx.HTTPError as exc:
                    error(f"poll {type(exc).__name__}")
                await asyncio.sleep(args.poll_s)

        async def participant(n: int, pid: str) -> None:
            moments = sorted(rng.uniform(0, args.window_s) for _ in range(args.questions))
            begin = time.monotonic()
            for i, moment in enumerate(moments):
                await asyncio.sleep(max(0.0, begin + moment - time.monotonic()))
                text = f"{QUESTIONS[(n + i) % len(QUESTIONS)]} (deltager {n}, nr. {i + 1})"
                posted[text] = time.monotonic()
                started = time.perf_counter()
                try:
                    r = await client.post(
                        f"/api/workshops/{code}/questions",
                        json={"text": text},
                        headers={"X-Participant-Id": pid},
                    )
                    if r.status_code == 201:
                        post_ms.append((time.perf_counter() - started) * 1000)
                    else:
                        error(f"ask {r.status_code}")
                        posted.pop(text, None)
                except httpx.HTTPError as exc:
                    error(f"ask {type(exc).__name__}")
                    posted.pop(text, None)

        poller = asyncio.create_task(poll())
        started = time.perf_counter()
        await asyncio.gather(*(participant(n, pid) for n, pid in enumerate(ids)))
        asked_s = time.perf_counter() - started
        deadline = time.monotonic() + args.drain_s
        while set(posted) - set(seen) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await poller
        await client.delete(f"/api/workshops/{code}", headers=trainer)

    unseen = len(set(posted) - set(seen))
    if unseen:
        errors["never seen by the trainer"] = unseen
    to_trainer = [(seen[t] - posted[t]) * 1000 for t in posted if t in seen]
    return {
        "participants": args.participants,
        "questions": args.participants * args.questions,
        "window_s": args.window_s,
        "asked_in_s": round(asked_s, 1),
        "poll_s": args.poll_s,
        "post_to_trainer_ms": {
            "p50": percentile(to_trainer, 50) if to_trainer else None,
            "p95": percentile(to_trainer, 95) if to_trainer else None,
            "mean": statistics.fmean(to_trainer) if to_trainer else None,
        },
        "ask_ms": {
            "p50": percentile(post_ms, 50) if post_ms else None,
            "p95": percentile(post_ms, 95) if post_ms else None,
        },
        "poll_ms": {
            "p50": percentile(poll_ms, 50) if poll_ms else None,
            "p95": percentile(poll_ms, 95) if poll_ms else None,
        },
        "polls": polls,
        "errors": errors,
        "_lines": [
            f"POST -> trainer's list: {_summary(to_trainer)}",
            f"POST (stored + answered): {_summary(post_ms)}",
            f"trainer poll: {_summary(poll_ms)} ({polls['200']} x 200, {polls['304']} x 304)",
            f"errors: {sum(errors.values())} {errors if errors else ''}".rstrip(),
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="use a running server (loopback only)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--participants", type=int, default=60)
    parser.add_argument("--questions", type=int, default=3, help="per participant")
    parser.add_argument("--window-s", type=float, default=60, help="all questions within this")
    parser.add_argument("--poll-s", type=float, default=1.0, help="the trainer page's interval")
    parser.add_argument("--drain-s", type=float, default=30, help="wait for stragglers at most")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument(
        "--warmup", type=int, default=0, help="rounds of two /api/ask per worker, not measured"
    )
    parser.add_argument("--data-dir", type=Path, help="an ingested data dir (default: temp)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if not 1 <= args.participants <= MAX_PARTICIPANTS:
        parser.error(f"--participants must be 1..{MAX_PARTICIPANTS}")
    if not 1 <= args.questions <= MAX_QUESTIONS:
        parser.error(f"--questions must be 1..{MAX_QUESTIONS}")
    if not 1 <= args.window_s <= 600 or not 0.1 <= args.poll_s <= 10:
        parser.error("--window-s must be 1..600 and --poll-s 0.1..10")

    proc = None
    own_dir = None
    if args.url:
        if urlparse(args.url).hostname not in LOOPBACK:
            parser.error("--url must be a loopback address")
        url = args.url.rstrip("/")
    else:
        data_dir = prepare_data_dir(args.data_dir)
        own_dir = data_dir if args.data_dir is None else None
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(data_dir, args.workers, port)
        wait_ready(url, proc)
    try:
        result = asyncio.run(run(url, args))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)
    workers = f"{args.workers} workers" if proc is not None else "running server"
    print(
        f"workshop load: {result['participants']} participants x {args.questions} questions "
        f"within {args.window_s:.0f} s (asked in {result['asked_in_s']} s), trainer polls "
        f"every {args.poll_s} s; {workers} (warmed: {args.warmup} rounds), loopback"
    )
    for line in result.pop("_lines"):
        print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
