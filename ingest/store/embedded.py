"""The embedded store: today's SQLite records + embedded Chroma + BM25 folders, behind the
store seam (``ingest.store.base``). The layout on disk is the one ``Indexer`` writes and
``StoreReader`` and ``ingest.check`` read (the same meta keys, the same writers' lock file),
so both can work on one store while the write path moves onto the seam.

Example:
    >>> import tempfile
    >>> from ingest.settings import Settings
    >>> store = EmbeddedStore(Settings(data_dir=tempfile.mkdtemp()))
    >>> store.kind, store.generation()
    ('embedded', 0)
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np

from ingest.lexical import LEXICAL_VERSION, LexicalHit, LexicalIndex, index_language, tokenize
from ingest.lexical_delta import LayeredLexicalIndex, commit_folder, load_index, sweep_folders
from ingest.records import ChunkRecord, DocumentRecord, Records, SectionRecord, UnitRecord
from ingest.settings import Settings
from ingest.store.base import (
    ChunkFilter,
    DocumentRow,
    OnWait,
    UnitHit,
    chunk_vectors,
    unit_matrix,
)
from ingest.store.sentence_file import commit_sentence_file
from ingest.vector_store import VectorStore

_log = logging.getLogger("kva.ingest")


@contextlib.contextmanager
def writers_lock(settings: Settings, on_wait: OnWait) -> Iterator[None]:
    """The embedded store's one-writer lock (``store/ingest.lock``), across processes."""
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.store_dir / "ingest.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait(f"waiting for another ingestion run to finish (lock: {handle.name}) ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def chroma_where(where: ChunkFilter | None) -> dict | None:
    """The filter as a Chroma ``where`` (the metadata the chunks are stored with)."""
    if where is None or where.empty:
        return None
    clauses: list[dict] = []
    if where.language:
        clauses.append({"doc_language": where.language})
    if where.kinds:
        clauses.append({"kind": {"$in": list(where.kinds)}})
    if where.doc_ids:
        clauses.append({"doc_id": {"$in": list(where.doc_ids)}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class EmbeddedStore:
    kind = "embedded"

    def __init__(self, settings: Settings, model_id: str | None = None) -> None:
        self.settings = settings
        self.records = Records(settings.records_path)
        self._model_id = model_id
        self._lock = threading.Lock()
        # What searches load, kept per committed state (a commit makes new ones).
        self._cache: dict[str, tuple[tuple[str, int], object]] = {}

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            from ingest.embeddings import make_embeddings

            self._model_id = make_embeddings(self.settings).model_id
        return self._model_id

    # --- state and records --------------------------------------------------------------
    def state(self) -> tuple[str, int]:
        return self.records.state()

    def generation(self) -> int:
        return self.records.generation()

    def get_meta(self, key: str) -> str | None:
        return self.records.get_meta(key)

    def list_documents(self) -> list[DocumentRecord]:
        return self.records.list_documents()

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        return self.records.get_document(doc_id)

    def get_text(self, doc_id: str) -> str | None:
        return self.records.get_text(doc_id)

    def get_texts(self, doc_ids: list[str]) -> dict[str, str]:
        return self.records.get_texts(doc_ids)

    def get_sections(self, doc_id: str) -> list[SectionRecord]:
        return self.records.get_sections(doc_id)

    def get_chunks(self, doc_id: str | None = None) -> list[ChunkRecord]:
        return self.records.get_chunks(doc_id)

    def get_text_leads(self, chars: int) -> dict[str, str]:
        return self.records.get_text_leads(chars)

    def iter_chunk_rows(self, batch: int = 10_000) -> Iterator[tuple]:
        return self.records.iter_chunk_rows(batch)

    def iter_chunks(self, batch: int = 10_000) -> Iterator[ChunkRecord]:
        return self.records.iter_chunks(batch)

    def get_units(self, chunk_ids: list[str]) -> list[UnitRecord]:
        return self.records.get_units(chunk_ids)

    def unit_counts(self) -> Iterator[tuple[str, int]]:
        return self.records.unit_counts()

    def source_index(self) -> dict[str, tuple[str, str]]:
        return self.records.source_index()

    def chunk_ids_with_hash(self, text_hashes: list[str]) -> dict[str, str]:
        return self.records.chunk_ids_with_hash(text_hashes)

    @contextlib.contextmanager
    def consistent(self) -> Iterator[None]:
        """Reads in this thread inside the block come from one committed state: a deferred
        transaction on the thread's connection (WAL) pins a snapshot."""
        conn = self.records._connect()
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    # --- search -------------------------------------------------------------------------
    def _cached(self, name: str, build):  # noqa: ANN001, ANN202
        state = self.state()
        hit = self._cache.get(name)
        if hit is not None and hit[0] == state:
            return hit[1]
        with self._lock:
            hit = self._cache.get(name)
            if hit is None or hit[0] != state:
                hit = (state, build())
                self._cache[name] = hit
            return hit[1]

    def _vectors(self) -> VectorStore | None:
        def build() -> VectorStore | None:
            name = self.get_meta("collection")
            if not name:
                return None
            return VectorStore(self.settings, self.model_id, name, create=False)

        return self._cached("vectors", build)

    def dense(
        self, vector: Sequence[float], k: int, where: ChunkFilter | None = None
    ) -> list[tuple[str, float]]:
        vectors = self._vectors()
        if vectors is None:
            return []
        committed = self._cached("chunk_ids", lambda: {c.chunk_id for c in self.get_chunks()})
        # Vectors of a killed run may sit in the collection uncommitted: ask for as many more.
        extra = max(0, vectors.count() - len(committed))
        hits = vectors.query(list(map(float, vector)), k + extra, chroma_where(where))
        return [(cid, s) for cid, s in hits if cid in committed][:k]

    def dense_units(self, vector: Sequence[float], k: int) -> list[UnitHit]:
        def build() -> tuple[list[UnitRecord], np.ndarray]:
            units = self.get_units([c.chunk_id for c in self.get_chunks()])
            return units, unit_matrix(units)

        units, matrix = self._cached("units", build)
        if not units:
            return []
        sims = matrix @ np.asarray(vector, dtype=np.float32)
        top = np.argsort(-sims)[:k]
        return [
            UnitHit(units[i].chunk_id, units[i].start, units[i].end, float(sims[i])) for i in top
        ]

    def keyword(
        self, query: str, language: str, k: int, allowed: set[str] | None = None
    ) -> list[LexicalHit]:
        def build() -> LexicalIndex | LayeredLexicalIndex:
            folder = self.get_meta("bm25_dir")
            return load_index(self.settings.bm25_dir / folder) if folder else LexicalIndex({})

        lang = index_language(language)
        return self._cached("lexical", build).search(tokenize(query, lang), lang, k, allowed)

    # --- writing ------------------------------------------------------------------------
    @contextlib.contextmanager
    def run(self, on_wait: OnWait | None = None, *, bulk: bool = False) -> Iterator[EmbeddedRun]:
        # ``bulk`` changes nothing here: a run already writes its vectors and keyword index
        # once, at commit.
        with writers_lock(self.settings, on_wait or _log.warning):
            run = EmbeddedRun(self)
            yield run
            run.commit()

    def close(self) -> None:
        self._cache.clear()


class EmbeddedRun:
    """Changes collected in memory; ``commit`` writes them the way ``Indexer`` does: new
    vectors into Chroma and a new BM25 folder first, then one SQLite transaction that makes
    them the committed state, then the stale vectors and folders are removed."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store
        self.deleted: set[str] = set()
        self.puts: dict[str, tuple[DocumentRow, list, list, list]] = {}
        self.meta: dict[str, str] = {}

    def put_document(
        self,
        doc: DocumentRow,
        sections: Sequence[SectionRecord],
        chunks: Sequence[ChunkRecord],
        units: Sequence[UnitRecord],
    ) -> None:
        self.puts[str(doc["doc_id"])] = (dict(doc), list(sections), list(chunks), list(units))

    def delete_document(self, doc_id: str) -> None:
        self.puts.pop(doc_id, None)
        self.deleted.add(doc_id)

    def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value

    def commit(self) -> int | None:
        """The new generation, or None when the run changed nothing."""
        if not (self.puts or self.deleted or self.meta):
            return None
        store, settings = self.store, self.store.settings
        records = store.records
        sources = records.source_index()
        # A put replaces the document with its id and the one stored from its source path.
        dropped = set(self.deleted) | set(self.puts)
        dropped |= {
            sources[str(d["source_path"])][0]
            for d, *_ in self.puts.values()
            if str(d["source_path"]) in sources
        }
        old_chunks = records.get_chunks()
        stale = [c.chunk_id for c in old_chunks if c.doc_id in dropped]
        active = (
            records.get_meta("collection") or f"{settings.collection}-{int(time.time() * 1000)}"
        )
        vectors = VectorStore(settings, store.model_id, active)
        new_chunks = [(c, doc) for doc, _, chunks, _ in self.puts.values() for c in chunks]
        pooled = chunk_vectors([u for *_, units in self.puts.values() for u in units])
        vectors.upsert(
            [c.chunk_id for c, _ in new_chunks],
            [pooled[c.chunk_id] for c, _ in new_chunks],
            [
                {
                    "doc_id": c.doc_id,
                    "language": c.language,
                    "doc_language": str(doc["language"]),
                    "kind": str(doc["kind"]),
                    "seq": c.seq,
                }
                for c, doc in new_chunks
            ],
        )

        def triples(only: set[str] | None = None) -> Iterator[tuple[str, str, str]]:
            texts: dict[str, str] = {}
            for c in old_chunks:
                if c.doc_id in dropped or (only is not None and c.chunk_id not in only):
                    continue
                if c.doc_id not in texts:
                    texts[c.doc_id] = records.get_text(c.doc_id) or ""
                yield c.chunk_id, texts[c.doc_id][c.start : c.end], c.language
            for c, doc in new_chunks:
                if only is None or c.chunk_id in only:
                    yield c.chunk_id, str(doc["text"])[c.start : c.end], c.language

        current = {c.chunk_id for c in old_chunks if c.doc_id not in dropped}
        current |= {c.chunk_id for c, _ in new_chunks}
        # An index of another tokenizer is never extended.
        same = records.get_meta("lexical_version") == LEXICAL_VERSION
        generation = records.generation() + 1
        folder, lexical = commit_folder(
            settings.bm25_dir,
            generation,
            records.get_meta("bm25_dir") if same else None,
            current,
            triples,
            triples,
        )
        with records.transaction() as conn:
            for doc_id in sorted(self.deleted):
                Records.delete_document(conn, doc_id)
            for doc, sections, chunks, units in self.puts.values():
                Records.put_document(conn, doc, sections, chunks, units)
            for key, value in {
                **self.meta,
                "generation": str(generation),
                "bm25_dir": folder.name,
                "bm25_digest": lexical.digest(),
                "collection": vectors.name,
                "embedding_model": vectors.model_id,
                "lexical_version": LEXICAL_VERSION,
            }.items():
                Records.set_meta(conn, key, value)
            commit_sentence_file(conn, settings.store_dir / "sentences", generation)
        # After the commit nothing references these; a failure here is swept by the next run.
        new_ids = {c.chunk_id for c, _ in new_chunks}
        vectors.delete([c for c in stale if c not in new_ids])
        sweep_folders(settings.bm25_dir, keep=folder)
        from ingest.check import record_verified

        record_verified(settings, generation)
        return generation
