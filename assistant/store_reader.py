"""A read-only snapshot of the committed store, swapped whole when ingestion commits.

Readers trust only chunk ids listed in the record database at the snapshot's generation, so a
query never sees half of an ingestion run: vectors of an uncommitted run are skipped.

Example:
    >>> import tempfile
    >>> from ingest.settings import Settings
    >>> from assistant.store_reader import StoreReader
    >>> StoreReader(Settings(data_dir=tempfile.mkdtemp())).snapshot().chunk_count
    0
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from ingest.check import check_store
from ingest.embeddings import make_embeddings
from ingest.lexical import LexicalIndex, tokenize
from ingest.records import ChunkRecord, DocumentRecord, Records
from ingest.settings import Settings
from ingest.vector_store import StoreModelMismatch, VectorStore

log = logging.getLogger("kva.store")


@dataclass
class Snapshot:
    generation: int
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    chunks: dict[str, ChunkRecord] = field(default_factory=dict)
    lexical: LexicalIndex = field(default_factory=lambda: LexicalIndex({}))
    vectors: VectorStore | None = None
    idf: dict[str, dict[str, float]] = field(default_factory=dict)

    records: Records | None = None
    # Why the committed state failed its check (None: it passed); readiness reports it.
    problem: str | None = None
    # Uncommitted vectors a killed run left in the collection: asked for on top of k, so
    # that filtering them out does not shorten the dense ranking.
    orphans: int = 0
    reopen: Callable[[], VectorStore] | None = None
    _vector_lock: threading.Lock = field(default_factory=threading.Lock)

    def dense(
        self, vector: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Dense hits; never raises for an id the records list (it reopens Chroma once, then
        falls back to keyword-only retrieval with a log line rather than failing the ask)."""
        if self.vectors is None:
            return []
        k += self.orphans
        try:
            return self.vectors.query(vector, k, where)
        except Exception as first:  # noqa: BLE001 - any Chroma failure gets one fresh retry
            if self.reopen is None:
                raise
            log.warning("dense query failed (%s); reopening the vector store", first)
            try:
                with self._vector_lock:
                    self.vectors = self.reopen()
                return self.vectors.query(vector, k, where)
            except Exception as second:  # noqa: BLE001
                log.error(
                    "dense query failed again (%s); answering from keyword search only; "
                    "run `python -m ingest check --repair`",
                    second,
                )
                return []

    def unit_vectors(self, chunk_ids: list[str]) -> dict[str, list[tuple[int, int, np.ndarray]]]:
        """chunk id -> [(start, end, vector)] of its answer units."""
        out: dict[str, list[tuple[int, int, np.ndarray]]] = {}
        if self.records is None:
            return out
        for u in self.records.get_units(chunk_ids):
            out.setdefault(u.chunk_id, []).append(
                (u.start, u.end, np.frombuffer(u.vector, dtype=np.float32))
            )
        return out

    @property
    def chunk_count(self) -> int:
        return len(self.chunks)

    def chunk_text(self, chunk: ChunkRecord) -> str:
        return self.texts[chunk.doc_id][chunk.start : chunk.end]

    def term_weight(self, stem: str, language: str) -> float:
        """Inverse document frequency of a stemmed term among the chunks of ``language``."""
        table = self.idf.get(language)
        if not table:
            return 1.0
        return table.get(stem, table.get("\0max", 1.0))


T = TypeVar("T")


class SnapshotCache(Generic[T]):
    """What ``build`` makes of a snapshot, kept until ingestion commits a new one.

    >>> cache = SnapshotCache(lambda snap: snap.generation * 10)
    >>> snap = Snapshot(generation=2)
    >>> cache.get(snap), cache.get(snap) is cache.get(snap)
    (20, True)
    """

    def __init__(self, build: Callable[[Snapshot], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._cached: tuple[Snapshot, T] | None = None

    def get(self, snap: Snapshot) -> T:
        # Keyed on the snapshot object itself: a new commit gives a new snapshot, and two
        # stores (an evaluation over two corpora) never share one.
        cached = self._cached
        if cached is not None and cached[0] is snap:
            return cached[1]
        with self._lock:
            if self._cached is None or self._cached[0] is not snap:
                self._cached = (snap, self._build(snap))
            return self._cached[1]


class StoreReader:
    """Opens the store for reading and keeps a current snapshot (cheap to check, thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.records = Records(settings.records_path)
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        generation = self.records.generation()
        current = self._snapshot
        if current is not None and current.generation == generation:
            return current
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != generation:
                self._snapshot = self._load(generation)
            return self._snapshot

    def _load(self, generation: int) -> Snapshot:
        records = self.records
        snap = Snapshot(generation=generation, records=records)
        if generation == 0:
            return snap
        model_id = make_embeddings(self.settings).model_id
        stored = records.get_meta("embedding_model")
        if stored != model_id:
            raise StoreModelMismatch(
                f"the store was built with embedding model {stored!r}, but the settings ask for "
                f"{model_id!r}; query with the same model or re-ingest with --rebuild"
            )
        check = check_store(self.settings)
        if not check.ok:
            snap.problem = (
                f"store check failed: {check.summary()}; run `python -m ingest check --repair`"
            )
            log.error(snap.problem)
        if any(p.index == "records" for p in check.problems):
            return snap
        snap.documents = {d.doc_id: d for d in records.list_documents()}
        snap.texts = {doc_id: records.get_text(doc_id) or "" for doc_id in snap.documents}
        snap.chunks = {c.chunk_id: c for c in records.get_chunks()}
        folder = records.get_meta("bm25_dir")
        if folder and not any(p.index == "bm25" for p in check.problems):
            snap.lexical = LexicalIndex.load(self.settings.bm25_dir / folder)
        collection = records.get_meta("collection")

        def reopen() -> VectorStore:
            return VectorStore(self.settings, model_id, collection, create=False)

        if any(p.index == "chroma" for p in check.problems):
            # Opening a collection whose files crash the process would take the server down.
            snap.idf = _idf(snap)
            return snap
        snap.reopen = reopen
        snap.vectors = reopen()
        snap.orphans = max(0, snap.vectors.count() - len(snap.chunks))
        snap.idf = _idf(snap)
        return snap


def _idf(snap: Snapshot) -> dict[str, dict[str, float]]:
    counts: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for chunk in snap.chunks.values():
        lang = chunk.language if chunk.language in ("da", "en") else "en"
        counts.setdefault(lang, Counter()).update(set(tokenize(snap.chunk_text(chunk), lang)))
        totals[lang] += 1
    tables = {}
    for lang, counter in counts.items():
        n = totals[lang]
        table = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in counter.items()}
        table["\0max"] = math.log(1 + (n + 0.5) / 0.5)
        tables[lang] = table
    return tables
