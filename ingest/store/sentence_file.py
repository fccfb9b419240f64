"""The sentence (answer unit) index of one committed generation, written once and mapped by
every reader, so that a replica neither rebuilds it at start nor compares a question with
every sentence of a large store.

A folder ``gen-<generation>-<ms>`` under ``store/sentences/`` (embedded backend; written before
the commit and named in the committed meta ``sentence_index``, so a reader only ever opens a
complete one) or under the data dir's ``cache/sentences/`` (server backend: rebuilt from the
database once per generation; the database stays the only source). It holds, in store order
(``ORDER BY chunk_id, seq``, the order ``SentenceIndex`` has always used):

- ``vectors.f32``: the unit vectors, float32, rows x dim (read through ``np.memmap``);
- ``spans.npy`` (start, end), ``lang.npy`` (0 Danish, 1 English), ``chunks.json`` (chunk ids,
  sorted) with ``chunk_first.npy`` (each chunk's first row; one more entry at the end);
- ``sample.npy``: a fixed sample of rows, for the per-language background of a question's
  cosines (``language_stats``) without touching every row;
- above ``IVF_MIN_ROWS`` rows, an inverted file for the search: spherical k-means
  ``centroids.npy``, rows grouped by their nearest centroid (``list_rows.npy`` with offsets
  ``lists.npy``) and their int8 codes in that order (``codes.i8``, per-dimension ``scale.npy``).
  A question scores the codes of its nearest clusters, then re-scores the best candidates
  exactly on the float32 rows.
- ``meta.json`` last: rows, dim, chunks, clusters, format version. A folder without it (a run
  killed while writing) is never read, and a renamed-in-place folder is never half written.

A generation that changes few chunks of a large store is written as a **delta** on the last
full folder (``plan_delta``): the rows of its new and changed chunks only (searched
exhaustively, in memory), ``dead.json`` (the base's chunks it no longer serves) and the base's
name in its meta. Writing the whole index again took 296 s (embedded commit) to 861 s (a
PostgreSQL replica reading it from the database) at a million chunks, for every upload.

Example:
    >>> import tempfile, numpy as np
    >>> root = Path(tempfile.mkdtemp())
    >>> vecs = np.eye(3, dtype=np.float32)
    >>> batch = (["a", "a", "b"], [0, 5, 0], [4, 9, 7], vecs, ["da"] * 3)
    >>> name = write_sentence_file(root, 1, [batch])
    >>> read_meta(root / name)["rows"]
    3
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.records import Records
from ingest.store.row_file import RowFile

log = logging.getLogger("kva.store")

FORMAT = 1
IVF_MIN_ROWS = 200_000
"""Fewer rows than this are searched exhaustively (in memory, as before): at 200,000 rows one
matrix product costs ~20 ms here, and the ranking stays exactly what it always was."""
SAMPLE_ROWS = 20_000
META_KEY = "sentence_index"
DELTA_MAX_ROWS = 100_000
"""A new generation whose new and changed chunks hold at most this many rows is written as a
delta on the last full index (a delta is held in memory and searched exhaustively: 150 MB and
~10 ms a question at this size); more, and the whole index is written again."""

Batch = tuple[list[str], list[int], list[int], np.ndarray, list[str]]
"""chunk ids, starts, ends, vectors (rows x dim), chunk languages: consecutive rows."""


@dataclass(frozen=True)
class Delta:
    """How a new generation differs from a full index folder (``plan_delta``)."""

    base: str
    changed: list[str]
    """chunk ids, sorted, whose rows the delta holds (new, or their rows changed)"""
    dead: list[str]
    """chunk ids of the base that the new generation does not serve from it"""


def plan_delta(
    root: Path,
    previous: str | None,
    counts: Callable[[], Iterable[tuple[str, int]]],
    model: str | None = None,
) -> Delta | None:
    """The delta that turns the full folder behind ``previous`` (itself, or its base) into
    the generation whose (chunk id, number of rows) are ``counts``; None where the whole index
    is to be written: no previous folder, a base without an inverted file (a small store is
    written whole in seconds), a base of another embedding ``model`` (a rebuild for a new
    model keeps every chunk id), or more than ``DELTA_MAX_ROWS`` rows changed. A chunk id
    names its text and span, so a chunk with as many rows as in the base is served from it."""
    if not previous:
        return None
    try:
        meta = read_meta(root / previous)
        base = meta.get("base") or previous
        if base != previous:
            meta = read_meta(root / base)
        if not meta["clusters"] or meta.get("base") or meta.get("model") != model:
            return None
        ids = json.loads((root / base / "chunks.json").read_text(encoding="utf-8"))
        sizes = np.diff(np.load(root / base / "chunk_first.npy")).tolist()
    except (OSError, ValueError, KeyError) as exc:
        log.warning("sentence index %s unreadable (%s); writing it whole", previous, exc)
        return None
    in_base = dict(zip(ids, sizes, strict=True))
    changed: list[str] = []
    served: set[str] = set()
    rows = 0
    for chunk_id, n in counts():
        if in_base.get(chunk_id) == n:
            served.add(chunk_id)
            continue
        changed.append(chunk_id)
        rows += n
        if rows > DELTA_MAX_ROWS:
            return None
    return Delta(base, sorted(changed), [c for c in ids if c not in served])


def in_use(root: Path, names: Iterable[str | None]) -> set[str]:
    """``names`` and the full folders their deltas are written on: what a sweep keeps."""
    kept = {name for name in names if name}
    for name in list(kept):
        try:
            base = json.loads((root / name / "meta.json").read_text(encoding="utf-8")).get("base")
        except (OSError, ValueError):
            continue
        if base:
            kept.add(base)
    return kept


def write_sentence_file(
    root: Path,
    generation: int,
    batches: Iterable[Batch],
    *,
    ivf_min_rows: int | None = None,
    delta: Delta | None = None,
    model: str | None = None,
) -> str:
    """Write the index of ``batches`` (all the committed units, in store order; with
    ``delta``, the units of its changed chunks) into a new folder under ``root``; returns its
    name. The folder appears whole (renamed into place)."""
    root.mkdir(parents=True, exist_ok=True)
    name = f"gen-{generation}-{int(time.time() * 1000)}"
    tmp = root / f"tmp-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    chunk_ids: list[str] = []
    chunk_first: list[int] = []
    spans: list[np.ndarray] = []
    langs: list[np.ndarray] = []
    rows = 0
    dim = 0
    with open(tmp / "vectors.f32", "wb") as out:
        for ids, starts, ends, vectors, languages in batches:
            if not len(ids):
                continue
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
            dim = vectors.shape[1]
            out.write(vectors.tobytes())
            for i, cid in enumerate(ids):
                if not chunk_ids or chunk_ids[-1] != cid:
                    chunk_ids.append(cid)
                    chunk_first.append(rows + i)
            spans.append(np.stack([np.asarray(starts), np.asarray(ends)], axis=1).astype(np.int32))
            langs.append(np.asarray([0 if lang == "da" else 1 for lang in languages], np.int8))
            rows += len(ids)
        out.flush()
        os.fsync(out.fileno())
    chunk_first.append(rows)
    np.save(tmp / "spans.npy", np.concatenate(spans) if spans else np.zeros((0, 2), np.int32))
    np.save(tmp / "lang.npy", np.concatenate(langs) if langs else np.zeros(0, np.int8))
    np.save(tmp / "chunk_first.npy", np.asarray(chunk_first, dtype=np.int64))
    (tmp / "chunks.json").write_text(json.dumps(chunk_ids), encoding="utf-8")
    rng = np.random.default_rng(generation)
    sample = np.sort(rng.choice(rows, min(rows, SAMPLE_ROWS), replace=False)) if rows else []
    np.save(tmp / "sample.npy", np.asarray(sample, dtype=np.int64))
    clusters = 0
    threshold = IVF_MIN_ROWS if ivf_min_rows is None else ivf_min_rows
    if delta is not None:
        (tmp / "dead.json").write_text(json.dumps(delta.dead), encoding="utf-8")
    elif rows and rows >= threshold:
        # Read back with pread, not mapped: every mapped page counted as the writer's memory
        # (a replica writing a million chunks' index from PostgreSQL peaked at 9.2 GB).
        clusters = _write_ivf(tmp, RowFile(tmp / "vectors.f32", np.float32, dim), rng)
    meta = {"format": FORMAT, "rows": rows, "dim": dim, "chunks": len(chunk_ids)}
    meta |= {"clusters": clusters, "generation": generation, "model": model}
    if delta is not None:
        meta["base"] = delta.base
    # Written last: a folder with meta.json is complete.
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    os.rename(tmp, root / name)
    return name


def commit_sentence_file(conn, root: Path, generation: int) -> str:  # noqa: ANN001
    """Inside the records transaction about to commit ``generation``: write its sentence
    index from the transaction's own rows, name it in the meta (committed with the rest),
    and sweep the folders of older generations except the one still committed (readers of
    it may yet open it)."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (META_KEY,)).fetchone()
    previous = row[0] if row else None
    row = conn.execute("SELECT value FROM meta WHERE key='embedding_model'").fetchone()
    model = row[0] if row else None
    delta = plan_delta(root, previous, lambda: Records.count_units(conn), model)
    if delta is None:
        name = write_sentence_file(root, generation, sqlite_batches(conn), model=model)
    else:
        batches = sqlite_batches(conn, chunk_ids=delta.changed)
        name = write_sentence_file(root, generation, batches, delta=delta, model=model)
    sweep(root, keep=in_use(root, [name, previous]))
    conn.execute(
        "INSERT INTO meta(key, value) VALUES(?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        (META_KEY, name),
    )
    return name


def read_meta(folder: Path) -> dict:
    """The folder's meta.json, checked against its files; raises ValueError when they do not
    agree (a truncated or half-copied folder)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder}: format {meta.get('format')!r}, expected {FORMAT}")
    size = (folder / "vectors.f32").stat().st_size
    if size != meta["rows"] * meta["dim"] * 4:
        raise ValueError(f"{folder}: vectors.f32 holds {size} bytes, not {meta['rows']} rows")
    if meta["clusters"]:
        codes = (folder / "codes.i8").stat().st_size
        if codes != meta["rows"] * meta["dim"]:
            raise ValueError(f"{folder}: codes.i8 holds {codes} bytes, not {meta['rows']} rows")
    if meta.get("base") and not (folder.parent / meta["base"] / "meta.json").exists():
        raise ValueError(f"{folder}: the index it was written on, {meta['base']}, is gone")
    return meta


def sweep(root: Path, keep: set[str], *, spare_writing: bool = False) -> None:
    """Remove the folders under ``root`` not named in ``keep`` (older generations, and what a
    killed run left); readers that mapped one keep their open files. ``spare_writing``: where
    writers are not serialised (a replica's cache), leave another's ``tmp-`` folder alone
    unless it is an hour old."""
    if not root.is_dir():
        return
    for folder in root.iterdir():
        # Another process's folder being written is left alone unless an hour old.
        young = (
            spare_writing
            and folder.name.startswith("tmp-")
            and time.time() - folder.stat().st_mtime < 3600
        )
        if folder.name not in keep and not young:
            shutil.rmtree(folder, ignore_errors=True)


def sqlite_batches(
    conn,  # noqa: ANN001
    size: int = 20_000,
    chunk_ids: list[str] | None = None,
) -> Iterator[Batch]:
    """The committed (or, inside the writing transaction, about to be committed) units of a
    records database, in store order; with ``chunk_ids`` (sorted), those chunks' only."""
    select = (
        'SELECT u.chunk_id, u.start, u."end", u.vector, c.language FROM units u '
        "JOIN chunks c ON c.chunk_id = u.chunk_id"
    )
    if chunk_ids is None:
        cursors = iter([conn.execute(f"{select} ORDER BY u.chunk_id, u.seq")])
    else:
        cursors = (
            conn.execute(
                f"{select} WHERE u.chunk_id IN ({','.join('?' * len(part))}) "
                "ORDER BY u.chunk_id, u.seq",
                part,
            )
            for part in (chunk_ids[i : i + 500] for i in range(0, len(chunk_ids), 500))
        )
    for cursor in cursors:
        yield from _sqlite_rows(cursor, size)


def _sqlite_rows(cursor, size: int) -> Iterator[Batch]:  # noqa: ANN001
    while True:
        rows = cursor.fetchmany(size)
        if not rows:
            return
        yield (
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32).reshape(len(rows), -1),
            [_language(r[4]) for r in rows],
        )


def store_batches(
    store,  # noqa: ANN001 - a DocumentStore (or Records)
    chunk_ids: list[str],
    languages: dict[str, str],
    size: int = 2_000,
) -> Iterator[Batch]:
    """The units of ``chunk_ids`` (sorted) read through the store seam, a batch at a time;
    ``languages``: chunk id -> its language."""
    from ingest.lexical import index_language

    for i in range(0, len(chunk_ids), size):
        units = store.get_units(chunk_ids[i : i + size])
        if units:
            yield (
                [u.chunk_id for u in units],
                [u.start for u in units],
                [u.end for u in units],
                np.stack([np.frombuffer(u.vector, dtype=np.float32) for u in units]),
                [index_language(languages.get(u.chunk_id, "en")) for u in units],
            )


def _language(language: str) -> str:
    from ingest.lexical import index_language

    return index_language(language)


def _write_ivf(folder: Path, vectors: RowFile, rng: np.random.Generator) -> int:
    rows, dim = vectors.shape
    clusters = max(16, int(math.sqrt(rows)))
    centroids = _kmeans(vectors, clusters, rng)
    assign = np.empty(rows, dtype=np.int32)
    for i in range(0, rows, 50_000):
        assign[i : i + 50_000] = np.argmax(vectors[i : i + 50_000] @ centroids.T, axis=1)
    order = np.argsort(assign, kind="stable").astype(np.int32)
    offsets = np.zeros(clusters + 1, dtype=np.int64)
    np.cumsum(np.bincount(assign, minlength=clusters), out=offsets[1:])
    sample = vectors[np.sort(rng.choice(rows, min(rows, 50_000), replace=False))]
    scale = np.maximum(np.abs(sample).max(axis=0), 1e-6).astype(np.float32) / 127.0
    with open(folder / "codes.i8", "wb") as codes:
        for i in range(0, rows, 50_000):
            block = vectors[order[i : i + 50_000]]
            codes.write(np.clip(np.rint(block / scale), -127, 127).astype(np.int8).tobytes())
        codes.flush()
        os.fsync(codes.fileno())
    np.save(folder / "centroids.npy", centroids)
    np.save(folder / "lists.npy", offsets)
    np.save(folder / "list_rows.npy", order)
    np.save(folder / "scale.npy", scale)
    return clusters


def _kmeans(vectors: RowFile, clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Spherical k-means on a sample of the rows (cosine; a few rounds are enough to group
    the rows for probing: the exact re-score decides the ranking)."""
    rows = len(vectors)
    sample = np.asarray(
        vectors[np.sort(rng.choice(rows, min(rows, 40 * clusters), replace=False))]
    )
    centroids = sample[rng.choice(len(sample), clusters, replace=False)].copy()
    for _ in range(6):
        assign = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, sample)
        counts = np.bincount(assign, minlength=clusters)
        empty = counts == 0
        sums[empty] = sample[rng.choice(len(sample), int(empty.sum()), replace=False)]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
    return centroids
