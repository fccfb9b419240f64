"""Every answer unit (sentence) of the committed store, searched for a question's best chunks.

Chunk vectors blur a chunk's sentences together; the sentence that answers a question (often
in the other language) can sit in a chunk whose mean vector is not in the top few. Ingestion
already embeds every sentence, so searching them costs no model call.

Up to ``IVF_MIN_ROWS`` sentences (``ingest.store.sentence_file``; 200,000, about 40,000
chunks) the index is one matrix in memory searched exhaustively, as it always was. Above that
the file written at ingest is searched through its inverted file: the question's nearest
clusters' int8 codes are scored, and the best candidates re-scored exactly on their float32
rows, both read from the files as needed (``MappedSentenceIndex``, ``ingest.store.row_file``);
the per-language background (``language_stats``) comes from a fixed sample of rows.

Example:
    >>> import numpy as np
    >>> index = SentenceIndex(
    ...     ["c1", "c1", "c2"], [0, 10, 0], [9, 20, 8],
    ...     np.eye(3, dtype=np.float32))
    >>> index.best_chunks(np.array([0, 0, 1], dtype=np.float32), k=1)
    [('c2', 1.0)]
    >>> [(s, e) for s, e, _ in index.units("c1")]
    [(0, 9), (10, 20)]
"""

from __future__ import annotations

import json
import logging
import mmap
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from assistant.language_balance import LanguageStats, background, standardised
from assistant.store_reader import Snapshot, SnapshotCache
from ingest.lexical import index_language
from ingest.store import sentence_file
from ingest.store.row_file import RowFile
from ingest.store.sentence_file import (
    in_use,
    plan_delta,
    read_meta,
    store_batches,
    sweep,
    write_sentence_file,
)

log = logging.getLogger("kva.store")
_BLOCK = 512


class SentenceIndex:
    """Unit vectors with their chunk ids and spans, in store order."""

    def __init__(
        self,
        chunk_ids: list[str],
        starts: list[int],
        ends: list[int],
        vectors: np.ndarray,
        neighbours: Mapping[str, tuple[str | None, str | None]] | None = None,
        languages: list[str] | None = None,
    ) -> None:
        if not (len(chunk_ids) == len(starts) == len(ends) == len(vectors)):
            raise ValueError("chunk_ids, starts, ends and vectors must have the same length")
        self.chunk_ids = np.asarray(chunk_ids, dtype=object)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.ends = np.asarray(ends, dtype=np.int64)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        langs = np.asarray(languages or ["en"] * len(chunk_ids), dtype=object)
        self._language_rows = {lang: langs == lang for lang in ("da", "en")}
        self.neighbours = neighbours or {}
        """chunk id -> (the chunk before it, the chunk after it) in its document"""
        self._rows: dict[str, tuple[int, int]] = {}
        for i, cid in enumerate(chunk_ids):
            first, _ = self._rows.get(cid, (i, i))
            self._rows[cid] = (first, i + 1)

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> SentenceIndex:
        if snap.records is None or not snap.chunks:
            return cls([], [], [], np.zeros((0, 1), dtype=np.float32))
        neighbours = snap.chunks.neighbours()
        try:
            folder = _folder(snap)
        except StaleSnapshot as exc:
            # The next question takes the new snapshot; this one is answered without
            # sentence search rather than read the whole store into memory.
            log.warning("sentence index not made (%s)", exc)
            return cls([], [], [], np.zeros((0, 1), dtype=np.float32))
        except OSError as exc:
            log.error("sentence index for generation %s not built (%s)", snap.generation, exc)
            folder = None
        if folder is not None:
            try:
                return cls.from_folder(folder, neighbours)
            except (OSError, ValueError) as exc:
                log.error("sentence index %s unreadable (%s); reading the records", folder, exc)
        units = snap.records.get_units(sorted(snap.chunks))
        if not units:
            return cls([], [], [], np.zeros((0, 1), dtype=np.float32))
        vectors = np.stack([np.frombuffer(u.vector, dtype=np.float32) for u in units])
        return cls(
            [u.chunk_id for u in units],
            [u.start for u in units],
            [u.end for u in units],
            vectors,
            neighbours,
            [index_language(snap.chunks.language(u.chunk_id)) for u in units],
        )

    @classmethod
    def from_folder(
        cls, folder: Path, neighbours: Mapping[str, tuple[str | None, str | None]] | None = None
    ) -> SentenceIndex:
        """The index written at ingest (``ingest.store.sentence_file``): read whole into
        memory when small, memory-mapped with its inverted file when large."""
        meta = read_meta(folder)
        if meta.get("base"):
            base = folder.parent / meta["base"]
            dead = json.loads((folder / "dead.json").read_text(encoding="utf-8"))
            return LayeredSentenceIndex(
                MappedSentenceIndex(base, read_meta(base), neighbours),
                cls._in_memory(folder, meta, neighbours),
                dead,
            )
        if meta["clusters"]:
            return MappedSentenceIndex(folder, meta, neighbours)
        return cls._in_memory(folder, meta, neighbours)

    @classmethod
    def _in_memory(
        cls,
        folder: Path,
        meta: dict,
        neighbours: Mapping[str, tuple[str | None, str | None]] | None,
    ) -> SentenceIndex:
        chunk_ids = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        first = np.load(folder / "chunk_first.npy")
        spans = np.load(folder / "spans.npy")
        rows, dim = meta["rows"], meta["dim"]
        vectors = np.fromfile(folder / "vectors.f32", dtype=np.float32).reshape(rows, dim)
        per_row = np.repeat(np.asarray(chunk_ids, dtype=object), np.diff(first))
        langs = np.where(np.load(folder / "lang.npy") == 0, "da", "en")
        return cls(
            list(per_row), list(spans[:, 0]), list(spans[:, 1]), vectors, neighbours, list(langs)
        )

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def similarities(self, query: np.ndarray) -> np.ndarray:
        if not len(self):
            return np.zeros(0, dtype=np.float32)
        return self.vectors @ np.asarray(query, dtype=np.float32)

    def language_stats(self, sims: np.ndarray) -> LanguageStats:
        """Per language, the mean and spread of a question's cosine to every sentence: what an
        unrelated sentence scores. Cross-lingual cosines run lower than same-language ones, so
        a sentence's similarity is only comparable to its own language's background."""
        return background(sims, self._language_rows)

    def balanced(self, sims: np.ndarray, stats: LanguageStats) -> np.ndarray:
        """``sims`` made comparable across languages: each row's distance from its own
        language's background (``language_stats``) in spreads. A Danish question's cosine to
        any Danish sentence runs higher than to any English one, so raw cosines bury the
        English sentence that answers it under loosely related Danish ones."""
        return standardised(sims, self._language_rows, stats)

    def best_chunks(
        self,
        query: np.ndarray,
        k: int,
        allowed: set[str] | None = None,
        sims: np.ndarray | None = None,
        stats: LanguageStats | None = None,
        language: str | None = None,
    ) -> list[tuple[str, float]]:
        """Chunks with the cosine of their best sentence to ``query``, ranked by it, or by its
        distance from its language's background when ``stats`` are given (``balanced``).
        ``language`` (a filter on the documents' language) leaves out the sentences of the
        other language before the search; ``allowed`` still decides."""
        sims = self.similarities(query) if sims is None else sims
        key = self.balanced(sims, stats) if stats else sims
        if language in self._language_rows:
            key = np.where(self._language_rows[language], key, -np.inf)
        # Sorting 100,000 cosines per question costs more than the product itself; the best
        # few hundred sentences almost always hold the best k chunks, so look there first.
        window = min(len(sims), max(40 * k, 400))
        while True:
            if window < len(sims):
                top = np.argpartition(-key, window - 1)[:window]
                order = top[np.argsort(-key[top])]
            else:
                order = np.argsort(-key)
            best: dict[str, float] = {}
            for i in order:
                cid = self.chunk_ids[i]
                if cid in best or (allowed is not None and cid not in allowed):
                    continue
                best[cid] = float(sims[i])
                if len(best) >= k:
                    return list(best.items())
            if window >= len(sims):
                return list(best.items())
            window = len(sims)

    def rank_chunks(self, chunk_ids: list[str], sims: np.ndarray) -> list[str]:
        """``chunk_ids`` best first by their best sentence's cosine in ``sims`` (chunks without
        sentences left out); for a few documents' chunks, cheaper than ``best_chunks``."""
        best = self.chunk_scores(chunk_ids, sims)
        return sorted(best, key=lambda c: (-best[c], c))

    def chunk_scores(self, chunk_ids: list[str], sims: np.ndarray) -> dict[str, float]:
        """chunk id -> its best sentence's cosine in ``sims``, for those that have sentences."""
        best = {}
        for cid in chunk_ids:
            first, stop = self._rows.get(cid, (0, 0))
            if stop > first:
                best[cid] = float(sims[first:stop].max())
        return best

    def language_of(self, chunk_id: str) -> str:
        """The language code of a chunk this index holds (``da`` or ``en``)."""
        first, _ = self._rows[chunk_id]
        return "da" if self._language_rows["da"][first] else "en"

    def holds(self, chunk_id: str) -> bool:
        return chunk_id in self._rows

    def units(self, chunk_id: str) -> Iterator[tuple[int, int, np.ndarray]]:
        first, stop = self._rows.get(chunk_id, (0, 0))
        for i in range(first, stop):
            yield int(self.starts[i]), int(self.ends[i]), self.vectors[i]


class LazySims:
    """A question's cosines to the rows of a mapped index, computed for the rows asked for
    (``sims[first:stop]``) instead of for every row at once."""

    def __init__(self, index: MappedSentenceIndex, query: np.ndarray) -> None:
        self.index = index
        self.query = np.asarray(query, dtype=np.float32)

    def __getitem__(self, rows: slice) -> np.ndarray:
        return np.asarray(self.index.vectors[rows]) @ self.query

    def __len__(self) -> int:
        return len(self.index)


class MappedSentenceIndex(SentenceIndex):
    """The ingest-time index file of a large store: int8 codes of the nearest clusters scored
    first, the best candidates re-scored exactly on their float32 rows (both read with
    ``pread``; the smaller arrays memory-mapped)."""

    MIN_PROBE = 32
    PROBE_ROWS = 30_000
    """rows whose codes a question scores at first (more when filters leave too few chunks)"""
    RESCORE = 25
    """best rows by code re-scored exactly, per chunk asked for"""

    def __init__(
        self,
        folder: Path,
        meta: dict,
        neighbours: Mapping[str, tuple[str | None, str | None]] | None = None,
    ) -> None:
        rows, dim = meta["rows"], meta["dim"]
        self.folder = folder
        # Read, not mapped: mapped pages a question touched counted as the replica's memory
        # (``ingest.store.row_file``).
        self.vectors = RowFile(folder / "vectors.f32", np.float32, dim)
        self.codes = RowFile(folder / "codes.i8", np.int8, dim)
        if len(self.vectors) != rows or len(self.codes) != rows:
            raise ValueError(f"{folder}: the vector files do not hold the {rows} rows of meta")
        self.spans = np.load(folder / "spans.npy", mmap_mode="r")
        _random_access(self.spans)
        self.lang = np.load(folder / "lang.npy")
        self.ids = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        self.first = np.load(folder / "chunk_first.npy")
        self.ordinal = {cid: i for i, cid in enumerate(self.ids)}
        self.row_chunk = np.repeat(np.arange(len(self.ids), dtype=np.int32), np.diff(self.first))
        sample = np.load(folder / "sample.npy")
        self.sample_vectors = np.asarray(self.vectors[sample])
        self.sample_lang = self.lang[sample]
        self.centroids = np.load(folder / "centroids.npy")
        self.lists = np.load(folder / "lists.npy")
        self.list_rows = np.load(folder / "list_rows.npy", mmap_mode="r")
        self.scale = np.load(folder / "scale.npy")
        self.neighbours = neighbours or {}
        clusters = len(self.centroids)
        per_list = max(1.0, rows / clusters)
        self.probe = min(clusters, max(self.MIN_PROBE, int(np.ceil(self.PROBE_ROWS / per_list))))
        self.hidden = np.zeros(len(self.ids), dtype=bool)
        """by chunk ordinal: chunks a later generation no longer serves from this file"""
        self.hides = False

    def hide(self, chunk_ids: Iterable[str]) -> None:
        """Serve these chunks no more (a delta on this file removed or replaced them)."""
        found = [self.ordinal[c] for c in chunk_ids if c in self.ordinal]
        self.hidden[np.asarray(found, dtype=np.int64)] = True
        self.hides = self.hides or bool(found)

    def __len__(self) -> int:
        return len(self.vectors)

    def similarities(self, query: np.ndarray) -> LazySims:  # type: ignore[override]
        return LazySims(self, query)

    def language_stats(self, sims) -> LanguageStats:  # noqa: ANN001
        """As ``SentenceIndex.language_stats``, over the fixed sample of rows."""
        query = sims.query if isinstance(sims, LazySims) else None
        if query is None:
            return super().language_stats(sims)
        return background(self.sample_vectors @ query, _language_masks(self.sample_lang))

    def candidates(
        self, query: np.ndarray, probe: int, keep: int, language: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, exact cosines) of the ``keep`` best rows by code among the ``probe``
        clusters nearest to ``query``; with ``language``, its rows before any other."""
        clusters = len(self.centroids)
        near = self.centroids @ query
        if probe < clusters:
            chosen = np.sort(np.argpartition(-near, probe - 1)[:probe])
        else:
            chosen = np.arange(clusters)
        spans = [(int(self.lists[c]), int(self.lists[c + 1])) for c in chosen]
        spans = [(a, b) for a, b in spans if b > a]
        if not spans:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        # Codes widened to float32 a block of 512 rows at a time, into one buffer: widening
        # them all at once (and one large product, which wakes BLAS threads on a busy
        # machine) cost 5-10 times more than the arithmetic.
        weights = self.scale * query
        total = sum(b - a for a, b in spans)
        coarse = np.empty(total, dtype=np.float32)
        found = np.empty(total, dtype=np.int64)
        buffer = np.empty((_BLOCK, self.codes.shape[1]), dtype=np.float32)
        pos = 0
        for a, b in spans:
            found[pos : pos + b - a] = self.list_rows[a:b]
            for i in range(a, b, _BLOCK):
                n = min(b, i + _BLOCK) - i
                buffer[:n] = self.codes[i : i + n]
                coarse[pos : pos + n] = buffer[:n] @ weights
                pos += n
        if language is not None:
            coarse[self.lang[found] != (0 if language == "da" else 1)] = -np.inf
        if self.hides:
            coarse[self.hidden[self.row_chunk[found]]] = -np.inf
        if keep < len(coarse):
            found = found[np.argpartition(-coarse, keep - 1)[:keep]]
        found = np.sort(found)
        return found, np.asarray(self.vectors[found]) @ query

    def best_chunks(
        self,
        query: np.ndarray,
        k: int,
        allowed: set[str] | None = None,
        sims=None,  # noqa: ANN001 - a LazySims or None; the search reads the file itself
        stats: LanguageStats | None = None,
        language: str | None = None,
    ) -> list[tuple[str, float]]:
        """As ``SentenceIndex.best_chunks``. Balanced by language among the candidates the
        inverted file found, which it chose by raw cosine. A filter that allows fewer rows than
        a question's first probe scores its chunks' rows exactly instead: looking further and
        further through the inverted file for them read the whole index (a filter naming two
        documents of a million-chunk store took over a minute). ``language``: as in
        ``SentenceIndex.best_chunks``; without it, a filter on Danish documents looked through
        most of the inverted file for an English question (0.8 s at a million chunks)."""
        query = np.asarray(query, dtype=np.float32)
        if allowed is not None and len(allowed) * len(self) <= self.PROBE_ROWS * len(self.ids):
            return self._best_allowed(query, k, allowed, stats)
        probe, keep = self.probe, max(self.RESCORE * k, 400)
        while True:
            rows, exact = self.candidates(query, probe, keep, language)
            key = standardised(exact, _language_masks(self.lang[rows]), stats)
            best: dict[str, float] = {}
            for j in np.argsort(-key, kind="stable"):
                ordinal = self.row_chunk[rows[j]]
                cid = self.ids[ordinal]
                if cid in best or self.hidden[ordinal]:
                    continue
                if allowed is not None and cid not in allowed:
                    continue
                best[cid] = float(exact[j])
                if len(best) >= k:
                    return list(best.items())
            if probe >= len(self.centroids) and keep >= len(self):
                return list(best.items())
            # Filters left too few chunks among the candidates: look further.
            probe, keep = min(len(self.centroids), probe * 4), keep * 4

    def _best_allowed(
        self,
        query: np.ndarray,
        k: int,
        allowed: set[str],
        stats: LanguageStats | None,
    ) -> list[tuple[str, float]]:
        spans = [
            (int(self.first[i]), int(self.first[i + 1]))
            for i in sorted(self.ordinal[c] for c in allowed if c in self.ordinal)
            if not self.hidden[i]
        ]
        spans = [(a, b) for a, b in spans if b > a]
        if not spans:
            return []
        rows = np.concatenate([np.arange(a, b) for a, b in spans])
        exact = self.vectors[rows] @ query
        key = standardised(exact, _language_masks(self.lang[rows]), stats)
        best: dict[str, float] = {}
        for j in np.argsort(-key, kind="stable"):
            cid = self.ids[self.row_chunk[rows[j]]]
            if cid not in best:
                best[cid] = float(exact[j])
                if len(best) >= k:
                    break
        return list(best.items())

    def chunk_scores(self, chunk_ids: list[str], sims) -> dict[str, float]:  # noqa: ANN001
        query = sims.query if isinstance(sims, LazySims) else None
        best = {}
        for cid in chunk_ids:
            i = self.ordinal.get(cid)
            if i is None or self.hidden[i]:
                continue
            first, stop = int(self.first[i]), int(self.first[i + 1])
            if stop > first:
                row_sims = sims[first:stop] if query is None else self.vectors[first:stop] @ query
                best[cid] = float(np.max(row_sims))
        return best

    def language_of(self, chunk_id: str) -> str:
        return "da" if self.lang[self.first[self.ordinal[chunk_id]]] == 0 else "en"

    def holds(self, chunk_id: str) -> bool:
        i = self.ordinal.get(chunk_id)
        return i is not None and not self.hidden[i]

    def units(self, chunk_id: str) -> Iterator[tuple[int, int, np.ndarray]]:
        i = self.ordinal.get(chunk_id)
        if i is None or self.hidden[i]:
            return
        for row in range(int(self.first[i]), int(self.first[i + 1])):
            yield int(self.spans[row, 0]), int(self.spans[row, 1]), np.asarray(self.vectors[row])


class LayeredSims:
    """A question's cosines to a layered index: the base's (lazy) and the delta's."""

    def __init__(self, base: LazySims, delta: np.ndarray) -> None:
        self.base = base
        self.delta = delta

    def __len__(self) -> int:
        return len(self.base) + len(self.delta)


class LayeredSentenceIndex(SentenceIndex):
    """A generation written as a delta on a full index file (``sentence_file.plan_delta``):
    the base's inverted file serves the chunks the generation kept, the delta (in memory,
    searched exhaustively) its new and changed ones; each search asks both and merges them
    as one index would rank them."""

    def __init__(
        self, base: MappedSentenceIndex, delta: SentenceIndex, dead: Iterable[str]
    ) -> None:
        base.hide(dead)
        self.base = base
        self.delta = delta
        self.neighbours = base.neighbours

    def __len__(self) -> int:
        return len(self.base) + len(self.delta)

    def similarities(self, query: np.ndarray) -> LayeredSims:  # type: ignore[override]
        return LayeredSims(self.base.similarities(query), self.delta.similarities(query))

    def language_stats(self, sims) -> LanguageStats:  # noqa: ANN001
        """The base's background: the delta is at most ``DELTA_MAX_ROWS`` rows of a store
        with more than ``IVF_MIN_ROWS``, and the background is a sample anyway."""
        return self.base.language_stats(sims.base if isinstance(sims, LayeredSims) else sims)

    def best_chunks(
        self,
        query: np.ndarray,
        k: int,
        allowed: set[str] | None = None,
        sims=None,  # noqa: ANN001 - a LayeredSims or None
        stats: LanguageStats | None = None,
        language: str | None = None,
    ) -> list[tuple[str, float]]:
        query = np.asarray(query, dtype=np.float32)
        sims = self.similarities(query) if sims is None else sims
        found = self.base.best_chunks(query, k, allowed, sims.base, stats, language)
        found += self.delta.best_chunks(query, k, allowed, sims.delta, stats, language)
        scores = np.asarray([score for _, score in found], dtype=np.float32)
        langs = np.asarray([self.language_of(cid) for cid, _ in found], dtype=object)
        key = standardised(scores, {lang: langs == lang for lang in ("da", "en")}, stats)
        return [found[i] for i in np.argsort(-key, kind="stable")[:k]]

    def _layer(self, chunk_id: str) -> SentenceIndex:
        return self.delta if self.delta.holds(chunk_id) else self.base

    def chunk_scores(self, chunk_ids: list[str], sims) -> dict[str, float]:  # noqa: ANN001
        ours = [c for c in chunk_ids if self.delta.holds(c)]
        best = self.base.chunk_scores([c for c in chunk_ids if not self.delta.holds(c)], sims.base)
        return best | self.delta.chunk_scores(ours, sims.delta)

    def language_of(self, chunk_id: str) -> str:
        return self._layer(chunk_id).language_of(chunk_id)

    def holds(self, chunk_id: str) -> bool:
        return self.delta.holds(chunk_id) or self.base.holds(chunk_id)

    def units(self, chunk_id: str) -> Iterator[tuple[int, int, np.ndarray]]:
        return self._layer(chunk_id).units(chunk_id)


def _random_access(array: np.ndarray) -> None:
    """Tell the kernel a mapped array is read a row here and a row there: without it each
    row read pulls in the pages around it (a million-chunk replica had 1.4 GB of its
    vectors file resident before its first question)."""
    handle = getattr(array, "_mmap", None)
    if handle is not None and hasattr(mmap, "MADV_RANDOM"):
        handle.madvise(mmap.MADV_RANDOM)


def _folder(snap: Snapshot) -> Path | None:
    """The snapshot's index file: the one ingestion wrote for its generation (embedded), or
    one made from the database into the replica's local cache, once per generation (server
    backend; the database stays the only source). None: build in memory from the records."""
    if snap.sentence_dir is not None:
        return snap.sentence_dir if (snap.sentence_dir / "meta.json").exists() else None
    root = snap.sentence_cache
    if root is None or snap.records is None or len(snap.chunks) < sentence_file.IVF_MIN_ROWS // 5:
        # A small server store is read into memory as before (nothing on the local disk).
        return None
    done = _complete(root)
    if snap.generation in done:
        return done[snap.generation]
    store = snap.records
    languages = {cid: snap.chunks.language(cid) for cid in snap.chunks}
    with store.consistent():
        # The units read below must be this snapshot's: a commit since it was taken would
        # leave a file named for this generation that does not hold it (and later deltas
        # written on it would inherit the error).
        if store.state() != snap.key:
            raise StaleSnapshot(f"generation {snap.generation} was replaced while indexing")
        earlier = [g for g in done if g < snap.generation]
        previous = done[max(earlier)].name if earlier else None
        model = store.get_meta("embedding_model")
        delta = plan_delta(root, previous, store.unit_counts, model)
        chunk_ids = sorted(snap.chunks) if delta is None else delta.changed
        batches = store_batches(store, chunk_ids, languages)
        name = write_sentence_file(root, snap.generation, batches, delta=delta, model=model)
    # Every complete folder of this generation and the one before is kept, with what each is
    # a delta on: a replica may still serve the previous one (this one while it prepares the
    # next, another that shares the folder), and two replicas may have written this one.
    since = max(earlier) if earlier else snap.generation
    recent = [f.name for g, f in _complete_folders(root) if g >= since]
    sweep(root, keep=in_use(root, [name, *recent]), spare_writing=True)
    return root / name


class StaleSnapshot(Exception):
    """A newer generation was committed before this snapshot's index was made."""


def _complete(root: Path) -> dict[int, Path]:
    """generation -> its complete folder under a replica's cache (the newest if several)."""
    return dict(_complete_folders(root))


def _complete_folders(root: Path) -> list[tuple[int, Path]]:
    """(generation, folder) for every complete folder under a replica's cache, oldest first."""
    found: list[tuple[int, Path]] = []
    for folder in sorted(root.glob("gen-*")) if root.is_dir() else []:
        try:
            generation = int(folder.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if (folder / "meta.json").exists():
            found.append((generation, folder))
    return found


class SentenceIndexCache(SnapshotCache[SentenceIndex]):
    """One ``SentenceIndex`` per snapshot, rebuilt when ingestion commits a new one."""

    def __init__(self) -> None:
        super().__init__(SentenceIndex.from_snapshot)


def _language_masks(codes: np.ndarray) -> dict[str, np.ndarray]:
    """Rows per language from the files' language codes (0 Danish, 1 English)."""
    return {"da": codes == 0, "en": codes == 1}
