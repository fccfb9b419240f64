"""Fault injection against the store: kill, interrupt, corrupt, fill the disk; then recover.

Every case starts from a copy of one store holding the bundled corpus (in a temp dir, loopback
only, nothing outside it touched), injects one fault, runs the next ingestion (`python -m
ingest corpus/ NEW`, as an operator would) and `python -m ingest check`, and compares the
committed documents before and after. Printed as a table:

    fault | outcome | data lost | message

"data lost" must be "none" in every row: every document committed before the fault is still
committed and whole (every chunk in Chroma, BM25 and the sentence units) afterwards.

    .venv/bin/python benchmarks/fault_injection.py [--only NAME ...] [--json FILE]

About 20 s per case on 2 shared cores (each CLI call loads the embedding model).

Disk full is made two ways: RLIMIT_FSIZE (any file write past 64 KB fails), and for real on a
small tmpfs mounted in a user namespace (``unshare -Urm``, no root needed; the rows say
"skipped" where unprivileged user namespaces are off). The HNSW faults (folder deleted, files
or graph garbled) run on the corpus store (under 1,000 vectors: Chroma keeps them in its log
and never reads the HNSW files) and on a store of 1,019 chunks whose HNSW files are read
("persisted"); there the graph is also garbled with the file's size and mtime put back, which
only a check of the content finds. "store replaced under a reader" holds a reader open (as the
API does) across `rm -rf store` and an ingest of other files, and says whether it followed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PY = sys.executable
NEW_DOC = (
    "# Zebraer på botilbud\n\nZebraprojektet handler om striber og kvalitet i botilbud. "
    "Zebraer måles hvert år af kommunen med et særligt zebraskema.\n"
)


def cli(data: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "ingest", *args, "--data-dir", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        **kw,  # type: ignore[arg-type]
    )


def committed(data: Path) -> dict[str, int]:
    """doc id -> chunk count of the committed state ({} when unreadable)."""
    try:
        with sqlite3.connect(data / "store" / "records.sqlite") as db:
            rows = db.execute("SELECT doc_id, count(*) FROM chunks GROUP BY doc_id").fetchall()
        return dict(rows)
    except sqlite3.DatabaseError:
        return {}


def _meta(data: Path, key: str) -> str:
    with sqlite3.connect(data / "store" / "records.sqlite") as db:
        return db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()[0]


# --- faults: each changes the store in ``data`` (or runs an ingest and breaks it) ----------
def signal_during_ingest(sig: int, after_s: float) -> Callable[[Path, Path], str]:
    def inject(data: Path, new: Path) -> str:
        proc = subprocess.Popen(
            [PY, "-m", "ingest", str(new), "--data-dir", str(data)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A background shell starts children with SIGINT ignored; Ctrl-C must reach it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        time.sleep(after_s)
        if proc.poll() is None:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=300)
        line = next((x for x in err.splitlines() if x.strip()), "")
        return f"exit {proc.returncode}" + (f": {line[:120]}" if line else "")

    return inject


def delete_bm25(data: Path, new: Path) -> str:
    shutil.rmtree(data / "store" / "bm25" / _meta(data, "bm25_dir"))
    return "BM25 folder deleted"


def delete_chroma(data: Path, new: Path) -> str:
    shutil.rmtree(data / "store" / "chroma")
    return "Chroma folder deleted"


def delete_hnsw(data: Path, new: Path) -> str:
    for folder in (data / "store" / "chroma").iterdir():
        if folder.is_dir():
            shutil.rmtree(folder)
    return "HNSW segment folder deleted"


def shift_chunk_ids(data: Path, new: Path) -> str:
    path = next((data / "store" / "bm25" / _meta(data, "bm25_dir")).glob("*/chunk_ids.json"))
    ids = json.loads(path.read_text())
    path.write_text(json.dumps(ids[1:] + ids[:1]))
    return "chunk-id file shifted by one"


def garble_hnsw(data: Path, new: Path) -> str:
    for path in (data / "store" / "chroma").glob("*/*.bin"):
        with path.open("r+b") as f:
            f.write(os.urandom(min(path.stat().st_size, 4096)))
    return "HNSW files garbled"


def garble_hnsw_graph(data: Path, new: Path) -> str:
    """The middle third of the vectors-and-links file: the header still reads, a search crashes."""
    for path in (data / "store" / "chroma").glob("*/data_level0.bin"):
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.seek(size // 3)
            f.write(os.urandom(size // 3))
    return "HNSW graph garbled"


def _garble_keeping_mtime(path: Path, start: float, share: float) -> None:
    st = path.stat()
    with path.open("r+b") as f:
        f.seek(int(st.st_size * start))
        f.write(os.urandom(int(st.st_size * share)))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def garble_hnsw_keep_mtime(data: Path, new: Path) -> str:
    """The graph garbled as above, with size and mtime put back: only content tells."""
    for path in (data / "store" / "chroma").glob("*/data_level0.bin"):
        _garble_keeping_mtime(path, 1 / 3, 1 / 3)
    done = cli(data, "check")
    return f"check exit {done.returncode}"


def garble_chroma_db(data: Path, new: Path) -> str:
    _garble_keeping_mtime(data / "store" / "chroma" / "chroma.sqlite3", 0.25, 0.5)
    return "half of chroma.sqlite3 garbled"


def delete_records(data: Path, new: Path) -> str:
    for path in (data / "store").glob("records.sqlite*"):
        path.unlink()
    done = cli(data, "check")
    return f"check exit {done.returncode}"


def replace_store(data: Path, new: Path) -> str:
    """The README's recovery advice under a reader that stays open: `rm -rf store` and a new
    ingest of other files; the reader (as the API holds it) must serve the new store."""
    from assistant.store_reader import StoreReader
    from ingest.settings import Settings

    reader = StoreReader(Settings(data_dir=data))
    before = set(reader.snapshot().documents)
    shutil.rmtree(data / "store")
    gone = reader.snapshot().problem or ""
    done = cli(data, str(new))
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stderr.strip()[:100]}"
    after = set(reader.snapshot().documents)
    followed = after == {"zebra"} and not (after & before)
    return (
        f"reader {'followed' if followed else 'STALE'}: {len(before)} -> {sorted(after)}"
        + ("; 'removed' while gone" if "removed" in gone else "")
    )


def garble_records(data: Path, new: Path) -> str:
    path = data / "store" / "records.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with path.open("r+b") as f:
        f.seek(path.stat().st_size // 2)
        f.write(b"\xa5" * 4096)
    return "a page of the record database garbled"


def drop_units(data: Path, new: Path) -> str:
    with sqlite3.connect(data / "store" / "records.sqlite") as db:
        db.execute("DELETE FROM units WHERE rowid % 3 = 0")
    return "a third of the sentence vectors deleted"


def disk_full(data: Path, new: Path) -> str:
    def limit() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    done = cli(data, str(new), preexec_fn=limit)
    line = next((x for x in done.stderr.splitlines() if x.strip()), "")
    return f"exit {done.returncode}: {line[:120]}"


class Skipped(Exception):
    """The fault cannot be made on this machine; the row says why."""


# The store is copied onto a small tmpfs mounted in a user namespace (no root needed), the
# free space is filled up to LEAVE_KB, the ingestion runs, the filler is removed and the store
# is copied back as that run left it: the next run (outside) is the recovery, as after an
# operator freed space.
_TMPFS_SCRIPT = r"""
set -e
mount -t tmpfs -o size=64m tmpfs "$MNT"
cp -a "$DATA" "$MNT/data"
avail=$(df -B1 --output=avail "$MNT" | tail -1)
fallocate -l $((avail - LEAVE_KB * 1024)) "$MNT/filler"
set +e
"$PY" -m ingest "$NEW" --data-dir "$MNT/data" > "$OUTFILE" 2>&1
echo $? > "$OUTFILE.rc"
set -e
rm "$MNT/filler"
rm -rf "$DATA"
cp -a "$MNT/data" "$DATA"
"""


def tmpfs_full(leave_kb: int) -> Callable[[Path, Path], str]:
    def inject(data: Path, new: Path) -> str:
        if not shutil.which("unshare") or not shutil.which("fallocate"):
            raise Skipped("needs unshare and fallocate (util-linux)")
        probe = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True
        )
        if probe.returncode != 0:
            raise Skipped("unprivileged user namespaces are off here (unshare -Urm failed)")
        mnt = data.parent / "tmpfs"
        mnt.mkdir()
        out = data.parent / "tmpfs-run.txt"
        env = dict(
            os.environ,
            MNT=str(mnt),
            DATA=str(data),
            NEW=str(new),
            PY=PY,
            OUTFILE=str(out),
            LEAVE_KB=str(leave_kb),
        )
        done = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", _TMPFS_SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not out.with_suffix(".txt.rc").exists():
            raise Skipped(f"could not mount a tmpfs: {(done.stderr.strip() or '?')[:80]}")
        rc = out.with_suffix(".txt.rc").read_text().strip()
        lines = [x for x in out.read_text().splitlines() if x.strip()]
        line = next((x for x in lines if x.startswith("error:")), lines[-1] if lines else "")
        return f"exit {rc}: {line[:64]}"

    return inject


# Chroma reads a collection's HNSW files only once it holds 1,000 vectors or more; below that
# it rebuilds the graph from its log, so these faults need the larger store (PERSISTED_HNSW).
PERSISTED = {
    "HNSW folder deleted (persisted)",
    "HNSW files garbled (persisted)",
    "HNSW graph garbled (persisted)",
    "HNSW graph garbled, mtime kept (persisted)",
}

CASES: dict[str, Callable[[Path, Path], str]] = {
    "kill -9 at 2 s": signal_during_ingest(signal.SIGKILL, 2),
    "kill -9 at 6 s": signal_during_ingest(signal.SIGKILL, 6),
    "kill -9 at 10 s": signal_during_ingest(signal.SIGKILL, 10),
    "SIGINT at 1 s": signal_during_ingest(signal.SIGINT, 1),
    "SIGINT at 6 s": signal_during_ingest(signal.SIGINT, 6),
    "SIGINT at 10 s": signal_during_ingest(signal.SIGINT, 10),
    "BM25 folder deleted": delete_bm25,
    "Chroma folder deleted": delete_chroma,
    "HNSW folder deleted (under 1,000 vectors)": delete_hnsw,
    "chunk-id file shifted": shift_chunk_ids,
    "HNSW files garbled (under 1,000 vectors)": garble_hnsw,
    "records page garbled": garble_records,
    "sentence vectors deleted": drop_units,
    "disk full (RLIMIT_FSIZE)": disk_full,
    "disk full (tmpfs, 16 KB left)": tmpfs_full(16),
    "disk full (tmpfs, 32 KB left)": tmpfs_full(32),
    "disk full (tmpfs, 64 KB left)": tmpfs_full(64),
    "HNSW folder deleted (persisted)": delete_hnsw,
    "HNSW files garbled (persisted)": garble_hnsw,
    "HNSW graph garbled (persisted)": garble_hnsw_graph,
    "HNSW graph garbled, mtime kept (persisted)": garble_hnsw_keep_mtime,
    "chroma.sqlite3 garbled": garble_chroma_db,
    "records database deleted": delete_records,
    "store replaced under a reader": replace_store,
}
LINE = "Kvalitet i bostøtten handler om at borgeren bliver hørt og inddraget i sin plan.\n"


def build_persisted(root: Path) -> Path:
    """The corpus plus 1,001 one-line files of one sentence (embedded once, then reused)."""
    data = root / "pristine-hnsw"
    seed, copies = root / "hnsw-seed", root / "hnsw-copies"
    seed.mkdir()
    copies.mkdir()
    (seed / "seed.txt").write_text(LINE)
    for i in range(1001):
        (copies / f"copy-{i:04d}.txt").write_text(LINE)
    for paths in ([str(ROOT / "corpus"), str(seed)], [str(copies)]):
        done = cli(data, *paths)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
    return data


def run_case(name: str, pristine: Path, work: Path) -> dict[str, str]:
    data = work / "data"
    shutil.copytree(pristine, data)
    new = work / "new"
    new.mkdir()
    (new / "zebra.txt").write_text(NEW_DOC)
    before = committed(data)
    try:
        injected = CASES[name](data, new)
    except Skipped as why:
        return {
            "fault": name,
            "injected": "-",
            "outcome": f"skipped: {why}",
            "data lost": "none (not run)",
            "message": "",
        }
    # Recovery as an operator would do it: the next ingestion, then a check.
    after_run = cli(data, str(ROOT / "corpus"), str(new))
    check = cli(data, "check")
    after = committed(data)
    lost = sorted(d for d, n in before.items() if after.get(d) != n)
    # What the operator saw: the faulty run's own line (signals, disk full), else what the
    # next run said about the damage (repaired: ..., error: ...).
    message = next((x for x in (after_run.stderr + after_run.stdout).splitlines() if x.strip()), "")
    if injected.startswith(("exit ", "check exit", "reader ")):
        message = f"{injected}; next run: {message[:60]}"
    if after_run.returncode == 2:
        outcome = "refused, exit 2"
        lost_text = "none (refused; restore or rebuild)" if not lost or not after else str(lost)
        if not after:
            lost_text = "none written; store unreadable as injected"
    else:
        whole = check.returncode == 0
        outcome = f"ingest exit {after_run.returncode}, " + ("store whole" if whole else "BROKEN")
        lost_text = "none" if not lost and whole else f"{len(lost)} documents: {lost}"
        if not whole:  # what the check says is still broken
            found = [x for x in (check.stdout + check.stderr).splitlines() if x.strip()]
            message = f"{message[:60]}; check: {(found or ['?'])[0][:70]}"
    return {
        "fault": name,
        "injected": injected,
        "outcome": outcome,
        "data lost": lost_text,
        "message": message[:140],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="cases to run")
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kva-faults-"))
    try:
        pristine = root / "pristine"
        done = cli(pristine, str(ROOT / "corpus"))
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 2
        rows = []
        persisted: Path | None = None
        for i, name in enumerate(args.only or CASES):
            work = root / f"case-{i}"
            work.mkdir()
            started = time.perf_counter()
            if name in PERSISTED and persisted is None:
                persisted = build_persisted(root)
            row = run_case(name, persisted if name in PERSISTED else pristine, work)
            row["seconds"] = f"{time.perf_counter() - started:.0f}"
            rows.append(row)
            print(" | ".join(row.values()), flush=True)
            shutil.rmtree(work, ignore_errors=True)
        print()
        cols = ["fault", "outcome", "data lost", "message"]
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for row in rows:
            print("| " + " | ".join(row[c].replace("|", "/") for c in cols) + " |")
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2, ensure_ascii=False))
        bad = [r for r in rows if not r["data lost"].startswith("none")]
        return 1 if bad else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
