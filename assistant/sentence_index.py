"""Every answer unit (sentence) of the committed store as one matrix, searched exhaustively.

Chunk vectors blur a chunk's sentences together; the sentence that answers a question (often
in the other language) can sit in a chunk whose mean vector is not in the top few. Ingestion
already embeds every sentence, so searching them all costs one matrix product per question
(about 70,000 × 384 floats at 20,000 chunks) and no model call.

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

from collections.abc import Iterator

import numpy as np

from assistant.store_reader import Snapshot, SnapshotCache
from ingest.lexical import index_language


class SentenceIndex:
    """Unit vectors with their chunk ids and spans, in store order."""

    def __init__(
        self,
        chunk_ids: list[str],
        starts: list[int],
        ends: list[int],
        vectors: np.ndarray,
        neighbours: dict[str, tuple[str | None, str | None]] | None = None,
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
        units = snap.records.get_units(sorted(snap.chunks))
        if not units:
            return cls([], [], [], np.zeros((0, 1), dtype=np.float32))
        vectors = np.stack([np.frombuffer(u.vector, dtype=np.float32) for u in units])
        by_doc: dict[str, list[tuple[int, str]]] = {}
        for chunk in snap.chunks.values():
            by_doc.setdefault(chunk.doc_id, []).append((chunk.seq, chunk.chunk_id))
        neighbours: dict[str, tuple[str | None, str | None]] = {}
        for chunks in by_doc.values():
            ids = [cid for _, cid in sorted(chunks)]
            for i, cid in enumerate(ids):
                neighbours[cid] = (
                    ids[i - 1] if i else None,
                    ids[i + 1] if i + 1 < len(ids) else None,
                )
        return cls(
            [u.chunk_id for u in units],
            [u.start for u in units],
            [u.end for u in units],
            vectors,
            neighbours,
            [index_language(snap.chunks[u.chunk_id].language) for u in units],
        )

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def similarities(self, query: np.ndarray) -> np.ndarray:
        if not len(self):
            return np.zeros(0, dtype=np.float32)
        return self.vectors @ np.asarray(query, dtype=np.float32)

    def language_stats(self, sims: np.ndarray) -> dict[str, tuple[float, float]]:
        """Per language, the mean and spread of a question's cosine to every sentence: what an
        unrelated sentence scores. Cross-lingual cosines run lower than same-language ones, so
        a sentence's similarity is only comparable to its own language's background."""
        stats = {}
        for lang, rows in self._language_rows.items():
            mine = sims[rows]
            if len(mine) >= 2:
                stats[lang] = (float(mine.mean()), float(mine.std()) or 1e-3)
        return stats

    def best_chunks(
        self,
        query: np.ndarray,
        k: int,
        allowed: set[str] | None = None,
        sims: np.ndarray | None = None,
    ) -> list[tuple[str, float]]:
        """Chunks ranked by their best sentence's cosine to ``query``."""
        sims = self.similarities(query) if sims is None else sims
        # Sorting 100,000 cosines per question costs more than the product itself; the best
        # few hundred sentences almost always hold the best k chunks, so look there first.
        window = min(len(sims), max(40 * k, 400))
        while True:
            if window < len(sims):
                top = np.argpartition(-sims, window - 1)[:window]
                order = top[np.argsort(-sims[top])]
            else:
                order = np.argsort(-sims)
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
        best = {}
        for cid in chunk_ids:
            first, stop = self._rows.get(cid, (0, 0))
            if stop > first:
                best[cid] = float(sims[first:stop].max())
        return sorted(best, key=lambda c: (-best[c], c))

    def units(self, chunk_id: str) -> Iterator[tuple[int, int, np.ndarray]]:
        first, stop = self._rows.get(chunk_id, (0, 0))
        for i in range(first, stop):
            yield int(self.starts[i]), int(self.ends[i]), self.vectors[i]


class SentenceIndexCache(SnapshotCache[SentenceIndex]):
    """One ``SentenceIndex`` per snapshot, rebuilt when ingestion commits a new one."""

    def __init__(self) -> None:
        super().__init__(SentenceIndex.from_snapshot)
