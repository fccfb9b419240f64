"""The first question after start against the tenth (issue 22 point 2), on a real server.

Ingests ``corpus/`` into a temporary data dir, starts ``python -m assistant serve`` as
``make run`` does, waits for ``/readyz`` 200 and times ten different ``POST /api/ask`` (the
first is the one a person waits for after a start), then restarts the server on the same data
and times ten again. Prints each start's first, tenth and median latency in seconds and the
time from start to ready.

    .venv/bin/python benchmarks/first_question.py [--starts 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Hvad er pejlemærkerne for bostøtten?",
    "Hvem har udarbejdet de nye litteraturstudier om kvalitet på botilbud og i bostøtte?",
    "What are the two tracks of the sub-initiatives?",
    "Hvilken tilgang tager Socialstyrelsen udgangspunkt i?",
    "Which paragraphs of the Social Services Act are mentioned?",
    "Hvad handler de to litteraturstudier om?",
    "Who can I contact about the literature studies?",
    "Hvad er recovery?",
    "What is quality in housing support?",
    "Hvordan tilmelder jeg mig nyhedsbrevet?",
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(data: Path) -> dict[str, float]:
    port = _port()
    env = dict(os.environ, KVA_DATA_DIR=str(data))
    env.pop("API_URL", None)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data / f"serve-{port}.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=120) as c:
            while True:
                try:
                    if c.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None:
                    raise SystemExit(f"server exited {proc.returncode}")
                time.sleep(0.05)
            ready = time.perf_counter() - started
            times = []
            for question in QUESTIONS:
                t0 = time.perf_counter()
                r = c.post("/api/ask", json={"question": question})
                times.append(time.perf_counter() - t0)
                r.raise_for_status()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    return {
        "ready_s": ready,
        "first_s": times[0],
        "tenth_s": times[-1],
        "median_s": statistics.median(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=2)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="kva-first-"))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ingest", str(ROOT / "corpus"), "--data-dir", str(data)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        print(f"{'start':>5} {'ready s':>8} {'first s':>8} {'tenth s':>8} {'median s':>9}")
        for n in range(1, args.starts + 1):
            f = one_start(data)
            print(
                f"{n:>5} {f['ready_s']:>8.2f} {f['first_s']:>8.3f} {f['tenth_s']:>8.3f} "
                f"{f['median_s']:>9.3f}"
            )
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
