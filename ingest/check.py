"""Store check and repair: every committed chunk must be present in every index.

What is checked, against the committed state in the record database:

- the record database itself (``PRAGMA quick_check``: garbled pages), and that it is the one
  the indexes belong to (a deleted or emptied database beside the indexes of a committed
  generation is a finding, not an empty store);
- answer units (sentence vectors) for every chunk, and chunk offsets inside their text;
- the BM25 folder the records name: present, loadable, holding exactly the committed ids;
- the Chroma collection the records name: present, holding every committed id with the vector
  its units pool to. This part runs in a child process, because a garbled HNSW file can crash
  (segfault) whoever opens it; a crash is then a finding, not a dead server. The child is
  skipped only when every Chroma file has the checksum recorded after the last commit or
  probe (``verified.json``): content, not size and mtime.

Repair rebuilds what is missing from what is stored: units are re-embedded from the stored
text, the BM25 index is rebuilt from the records, and vectors are re-written (pooled from the
units) into a fresh collection when the old one is broken; with the embedded Chroma, into a
fresh Chroma folder (Chroma's own database may be what is garbled). Each repair commits a new
generation, so running readers reload. A broken record database cannot be repaired from
itself: the report says to re-ingest with ``--rebuild``.

Example:
    >>> import tempfile
    >>> from ingest.check import check_store
    >>> from ingest.settings import Settings
    >>> check_store(Settings(data_dir=tempfile.mkdtemp())).ok
    True
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from ingest.settings import PROJECT_ROOT, Settings

# The child may load a large HNSW index; it never needs longer than this on our store sizes,
# plus the time it compares vectors: 238 s at a million chunks on these cores.
PROBE_TIMEOUT_S = 300
PROBE_S_PER_CHUNK = 0.0005
# Chunks whose vectors the probe compares at a time (its memory does not grow with the store).
PROBE_BATCH = 5000


class Problem(BaseModel):
    index: str  # records | units | bm25 | chroma | disk
    message: str
    chunk_ids: list[str] = Field(default_factory=list)
    # The vector store as a whole failed (its database or a file crashes whoever opens it),
    # not single vectors: repair starts a fresh vector store instead of a fresh collection.
    whole: bool = False


class CheckReport(BaseModel):
    generation: int = 0
    chunks: int = 0
    problems: list[Problem] = Field(default_factory=list)
    repaired: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"store ok: {self.chunks} chunks at generation {self.generation}"
        return "; ".join(p.message for p in self.problems)


class StoreCorrupt(RuntimeError):
    """The store fails its check and cannot be repaired in place."""


def _records_ok(path: Path, *, every_page: bool = True) -> str | None:
    """None when the database reads cleanly (every page, or its header and schema), else
    why not."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            if every_page:
                rows = conn.execute("PRAGMA quick_check").fetchall()
            else:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
                rows = [("ok",)]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"the record database {path} is unreadable ({exc})"
    if rows != [("ok",)]:
        lines = [x for x in str(rows[0][0]).splitlines() if x.strip() and "***" not in x]
        return f"the record database {path} is corrupt ({(lines or ['unreadable'])[0]})"
    return None


def _records_lost(settings: Settings, records_generation: int, store_id: str) -> str | None:
    """Why the record database is not the one the indexes on disk belong to, or None.

    The marker (``verified.json``) names the store id and generation of the last commit; a
    record database that is missing, or empty while the marker names a later generation,
    or another store's, lost the committed state: the indexes beside it cannot be read
    without it (Chroma and BM25 hold no text), and starting over would silently drop them.
    """
    marker = _read_marker(settings)
    generation = int(marker.get("generation") or 0)
    if generation < 1 or records_generation >= 1:
        return None
    if marker.get("store_id") not in (None, store_id) or records_generation == 0:
        return (
            f"the record database {settings.records_path} is missing or empty, but the indexes "
            f"of generation {generation} are still in {settings.store_dir}"
        )
    return None


def check_store(
    settings: Settings, *, probe_vectors: bool = True, full: bool = True
) -> CheckReport:
    """Report every way the committed state is not fully present; changes nothing.

    ``full=False`` leaves out what reads every row of the record database: SQLite's
    ``quick_check`` of every page (11 GB at a million chunks) and every chunk's offsets and
    units against the sentence splitting of its text (about a minute a million chunks on
    these cores). A replica of a large store runs those after it is ready (``StoreReader``);
    SQLite answers a garbled page with an error, never a crash, so serving meanwhile is safe."""
    from ingest.lexical_delta import load_index
    from ingest.records import Records
    from ingest.units import answer_units

    report = CheckReport()
    if not settings.records_path.exists():
        lost = _records_lost(settings, 0, "")
        if lost:
            report.problems.append(Problem(index="records", message=lost))
        return report
    broken = _records_ok(settings.records_path, every_page=full)
    if broken:
        report.problems.append(_records_problem(settings, broken))
        return report
    # Chunks and their units' spans are streamed document by document, each text read once:
    # every unit with its vector at once is 7.7 GB of vectors alone at a million chunks, in
    # the replica that runs the check.
    committed: set[str] = set()
    bad_offsets: list[str] = []
    incomplete: list[str] = []
    try:
        records = Records(settings.records_path)
        store_id, report.generation = records.state()
        doc_id, text = None, ""
        if not full:
            committed.update(records.iter_chunk_ids())
        for chunk_doc, chunk_id, start, end, spans in records.iter_chunk_units() if full else ():
            committed.add(chunk_id)
            if chunk_doc != doc_id:
                doc_id, text = chunk_doc, records.get_text(chunk_doc) or ""
            if not 0 <= start < end <= len(text):
                bad_offsets.append(chunk_id)
            # Every sentence of every chunk has its vector (a chunk pooled from some of its
            # sentences would be silently worse, so a partial set counts as missing).
            elif sorted(spans) != answer_units(text, start, end):
                incomplete.append(chunk_id)
    except sqlite3.DatabaseError as exc:
        report.problems.append(
            _records_problem(settings, f"the record database is unreadable ({exc})")
        )
        return report
    report.chunks = len(committed)
    lost = _records_lost(settings, report.generation, store_id)
    if lost:
        report.problems.append(Problem(index="records", message=lost))
        return report
    if report.generation == 0:
        return report
    if bad_offsets:
        report.problems.append(
            Problem(
                index="records",
                message=f"{len(bad_offsets)} chunks point outside their document text",
                chunk_ids=bad_offsets,
            )
        )
    if incomplete:
        report.problems.append(
            Problem(
                index="units",
                message=f"{len(incomplete)} of {len(committed)} chunks miss sentence vectors",
                chunk_ids=sorted(incomplete),
            )
        )
    folder = records.get_meta("bm25_dir")
    path = settings.bm25_dir / folder if folder else None
    try:
        if path is None or not path.is_dir():
            raise FileNotFoundError(f"BM25 folder {path} is missing")
        lexical = load_index(path)
        ids = lexical.ids()
        if ids != committed or lexical.size() != len(committed):
            missing = sorted(committed - ids)
            raise ValueError(
                f"BM25 index holds {lexical.size()} ids, {len(missing)} of {len(committed)} "
                "committed chunks missing or misplaced"
            )
        digest = records.get_meta("bm25_digest")
        if digest and digest != lexical.digest():
            raise ValueError("its chunk-id files were changed since the commit (ids misplaced)")
    except Exception as exc:  # noqa: BLE001 - any failure to load is a broken index
        report.problems.append(Problem(index="bm25", message=f"keyword index: {exc}"))
    if probe_vectors:
        found = verify_vectors(settings, store_id, report.generation)
        report.problems.extend(found)
    return report


def verify_vectors(settings: Settings, store_id: str, generation: int) -> list[Problem]:
    """The vector files are the bytes a commit or a probe left (checksums in
    ``verified.json``), or a child process opened and searched them without crashing;
    findings otherwise. Call before any process that must not crash opens Chroma."""
    if _unchanged_since_verified(settings, store_id, generation):
        return []
    found = _probe_chroma(settings)
    if not found:
        record_verified(settings, generation, store_id)
    return found


# Hashing reads every vector file once: about 1 ms per MB here (BLAKE2b), far below the
# second it takes a child process to import Chroma and open the index.
def _digest(path: Path) -> str:
    import hashlib

    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "blake2b").hexdigest()[:32]


def _fingerprint(settings: Settings) -> list[list[object]] | None:
    """Every Chroma file with its size and a checksum of its content; None if unreadable.
    (Size and mtime alone let a file garbled with its mtime restored pass as verified.)"""
    root = settings.chroma_dir
    if not root.is_dir():
        return []
    try:
        return sorted(
            [str(p.relative_to(root)), p.stat().st_size, _digest(p)]
            for p in root.rglob("*")
            if p.is_file()
        )
    except OSError:  # a file vanished or cannot be read: not verified
        return None


def _verified_path(settings: Settings) -> Path:
    return settings.store_dir / "verified.json"


def _read_marker(settings: Settings) -> dict[str, object]:
    try:
        data = json.loads(_verified_path(settings).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_verified(settings: Settings, generation: int, store_id: str | None = None) -> None:
    """Remember the vector files as they are now, known good (after a probe or a commit), so
    the next check skips the child process unless their content changed. Also the marker
    of the last committed generation (see :func:`_records_lost`), with a Chroma server too.
    Best effort: a full disk must not turn a good commit or check into a failure."""
    if store_id is None:
        from ingest.records import Records

        try:
            store_id = Records(settings.records_path).store_id()
        except sqlite3.Error:
            store_id = ""
    files = None if settings.chroma_url else _fingerprint(settings)
    data = {"store_id": store_id, "generation": generation, "files": files}
    tmp = _verified_path(settings).with_suffix(".tmp")
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps(data))
        tmp.replace(_verified_path(settings))


def _unchanged_since_verified(settings: Settings, store_id: str, generation: int) -> bool:
    data = _read_marker(settings)
    if settings.chroma_url or data.get("files") is None:
        return False
    return (
        data.get("generation") == generation
        and data.get("store_id") in (store_id, None)
        and data.get("files") == _fingerprint(settings)
    )


# Below this much free space a failed vector-store open or write is put down to a full disk.
LOW_DISK_MB = 64.0
_DISK_FULL = ("disk is full", "No space left", "File too large", "Disk quota", "disk I/O")


def free_mb(path: Path) -> float | None:
    """Free space under ``path`` (or its nearest existing parent) in MB; None if unknown."""
    import shutil

    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free / 1024 / 1024
            except OSError:
                return None
    return None


def _disk_full(settings: Settings, text: str, what: str = "the vector index") -> Problem | None:
    """A finding that blames the disk, not the store, when the failure says so or the disk
    is (nearly) full: SQLite cannot even open a database read-only without room for its
    shared-memory file, and a full disk must never be advised away by deleting the store."""
    free = free_mb(settings.data_dir)
    if any(m in text for m in _DISK_FULL) or (free is not None and free < LOW_DISK_MB):
        where = f"{free:.1f} MB free under {settings.data_dir}" if free is not None else "?"
        return Problem(
            index="disk",
            message=f"the disk is full or failing ({where}): {what} could not be "
            f"opened ({text[:160]}); free space, then check again",
        )
    return None


def _records_problem(settings: Settings, message: str) -> Problem:
    return _disk_full(settings, message, "the record database") or Problem(
        index="records", message=message
    )


def _probe_chroma(settings: Settings) -> list[Problem]:
    """Runs :func:`probe_in_this_process` in a child process and reads its verdict."""
    from ingest.records import Records

    cmd = [sys.executable, "-m", "ingest.check", "--data-dir", str(settings.data_dir)]
    try:
        chunks = Records(settings.records_path).chunk_count()
    except sqlite3.Error:
        chunks = 0  # the child reports what is wrong with the records
    try:
        done = subprocess.run(
            cmd,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S + PROBE_S_PER_CHUNK * chunks,
            env=_child_env(settings),
        )
    except subprocess.TimeoutExpired:
        return [Problem(index="chroma", message="the vector index did not open in time")]
    except OSError as exc:  # cannot even start the child (no memory, no processes)
        return [_disk_full(settings, str(exc)) or Problem(index="chroma", message=str(exc))]
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return [
            Problem(
                index="chroma",
                message=f"the vector index crashes the process that opens it ({name}): "
                "its files are corrupt",
                whole=True,
            )
        ]
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        disk = _disk_full(settings, tail[0])
        if disk:
            return [disk]
        return [
            Problem(
                index="chroma", message=f"the vector index cannot be read: {tail[0]}", whole=True
            )
        ]
    problems = [Problem(**p) for p in found["problems"]]
    for i, problem in enumerate(problems):
        if problem.index == "chroma" and problem.whole:
            problems[i] = _disk_full(settings, problem.message) or problem
    return problems


def _child_env(settings: Settings) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["KVA_DATA_DIR"] = str(settings.data_dir)
    if settings.chroma_url:
        env["KVA_CHROMA_URL"] = settings.chroma_url
    return env


def probe_in_this_process(settings: Settings) -> list[Problem]:
    """Compare Chroma with the units' pooled vectors; may crash on garbled files (hence the
    child process)."""
    from ingest.records import Records
    from ingest.vector_store import VectorStore, make_client

    records = Records(settings.records_path)
    chunk_ids = sorted(records.iter_chunk_ids())
    if not chunk_ids:
        return []
    name = records.get_meta("collection")
    model = records.get_meta("embedding_model") or ""
    try:
        names = [getattr(c, "name", c) for c in make_client(settings).list_collections()]
    except Exception as exc:  # noqa: BLE001 - Chroma's own database does not open
        return [
            Problem(
                index="chroma",
                message=f"the vector store's database cannot be opened ({_first_line(exc)})",
                whole=True,
            )
        ]
    try:
        if name not in names:
            raise LookupError(name)
        store = VectorStore(settings, model, name, create=False)
    except Exception as exc:  # noqa: BLE001 - a missing collection is a finding
        return [
            Problem(
                index="chroma",
                message=f"vector collection {name!r} is missing ({type(exc).__name__})",
                chunk_ids=chunk_ids,
            )
        ]
    missing: list[str] = []
    wrong: list[str] = []
    probe: np.ndarray | None = None
    # In batches: every chunk's expected and stored vector at once was more than this
    # machine's 24 GB at a million chunks (the child was killed, the store called corrupt).
    for i in range(0, len(chunk_ids), PROBE_BATCH):
        expected = expected_vectors(records, chunk_ids[i : i + PROBE_BATCH])
        got = store.get_vectors(sorted(expected))
        missing.extend(cid for cid in expected if cid not in got)
        wrong.extend(
            cid
            for cid, vec in got.items()
            if float(np.dot(np.asarray(vec, dtype=np.float32), expected[cid])) < 0.999
        )
        if probe is None and got:
            probe = next(iter(expected.values()))
    problems = []
    if missing or wrong:
        problems.append(
            Problem(
                index="chroma",
                message=f"vector index: {len(missing)} of {len(chunk_ids)} committed chunks "
                f"missing, {len(wrong)} with a wrong vector",
                chunk_ids=sorted(missing) + sorted(wrong),
            )
        )
    elif probe is not None:
        # A nearest-neighbour search reads the HNSW graph itself, which ``get`` does not.
        store.query(list(map(float, probe)), k=min(5, len(chunk_ids)))
    return problems


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def expected_vectors(records, chunk_ids: list[str]) -> dict[str, np.ndarray]:  # noqa: ANN001
    from ingest.units import pooled

    by_chunk: dict[str, list] = {}
    for u in records.get_units(chunk_ids):
        by_chunk.setdefault(u.chunk_id, []).append(u)
    out = {}
    for cid, units in by_chunk.items():
        vec = pooled(
            [np.frombuffer(u.vector, dtype=np.float32) for u in units],
            [u.end - u.start for u in units],
        )
        out[cid] = np.asarray(vec, dtype=np.float32)
    return out


def repair_store(settings: Settings, report: CheckReport | None = None) -> CheckReport:
    """Check, rebuild what is missing, check again. Call under the ingest lock."""
    from ingest.pipeline import Indexer

    report = report or check_store(settings)
    if report.ok:
        return report
    disk = [p for p in report.problems if p.index == "disk"]
    if disk:
        # Rebuilding needs space; the store itself may be whole.
        raise StoreCorrupt(f"{disk[0].message}; nothing was changed")
    if any(p.index == "records" for p in report.problems):
        raise StoreCorrupt(
            f"{report.summary()}; restore a backup, or delete {settings.store_dir} and "
            "ingest again with --rebuild (it re-reads the files uploaded through the API)"
        )
    done = Indexer(settings).repair(report)
    after = check_store(settings)
    after.repaired = done
    if not after.ok:
        raise StoreCorrupt(f"repair did not succeed: {after.summary()}")
    return after


def check_in_child(settings: Settings) -> CheckReport:
    """``check_store`` without the vector probe, in a child process at low priority: what a
    replica of a large store runs after it is ready, without taking its interpreter (the
    per-chunk sentence splitting is pure Python) or its memory."""
    cmd = [sys.executable, "-m", "ingest.check", "--data-dir", str(settings.data_dir), "--rows"]
    try:
        done = subprocess.run(
            cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, env=_child_env(settings)
        )
    except OSError as exc:
        raise RuntimeError(f"the store check did not start: {exc}") from exc
    try:
        return CheckReport.model_validate_json(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError) as exc:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"the store check failed: {tail[0]}") from exc


def main(argv: list[str] | None = None) -> int:
    """Child-process entry: print the Chroma probe's findings as one JSON line (``--rows``:
    the whole check without the probe, as a ``CheckReport``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ingest.check")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--rows", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings(data_dir=Path(args.data_dir))
    if args.rows:
        os.nice(10)  # behind the replica that started it
        print(check_store(settings, probe_vectors=False).model_dump_json())
        return 0
    started = time.perf_counter()
    try:
        problems = probe_in_this_process(settings)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a finding
        problems = [
            Problem(
                index="chroma",
                message=f"the vector index cannot be read ({_first_line(exc)})",
                whole=True,
            )
        ]
    out = {"problems": [p.model_dump() for p in problems], "seconds": time.perf_counter() - started}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
