"""A snapshot of a server store (PostgreSQL, through the store seam), loaded whole at each
committed generation, as ``StoreReader`` loads the embedded one.

What a replica holds in memory: documents, texts, chunks, and the BM25 keyword index rebuilt
from the records (the embedded store's tokenizer and scorer, so keyword ranking is the same
on both backends; the store's own ``tsvector`` search stays available for the measurement
issue 24 asks for). Dense chunk search is asked of the server (pgvector HNSW); sentence
vectors are read from it for the sentence index. Nothing is read from the local disk.

Example:
    >>> chunk_filter({"$and": [{"doc_language": "da"}, {"kind": {"$in": ["news"]}}]})
    ChunkFilter(language='da', kinds=('news',), doc_ids=())
"""

from __future__ import annotations

from typing import Any

from ingest.lexical import LexicalIndex
from ingest.store.base import ChunkFilter, DocumentStore


def chunk_filter(where: dict[str, Any] | None) -> ChunkFilter | None:
    """The retriever's filter (written for Chroma's ``where``) as the seam's ``ChunkFilter``."""
    if not where:
        return None
    clauses = where.get("$and", [where])
    fields: dict[str, Any] = {}
    for clause in clauses:
        for key, value in clause.items():
            values = tuple(value["$in"]) if isinstance(value, dict) else (value,)
            if key == "doc_language":
                fields["language"] = values[0]
            elif key == "kind":
                fields["kinds"] = values
            elif key == "doc_id":
                fields["doc_ids"] = values
            else:
                raise ValueError(f"no chunk filter for {key!r}")
    return ChunkFilter(**fields)


class ServerVectors:
    """What ``Snapshot.dense`` asks of a vector index, answered by the store's dense search."""

    def __init__(self, store: DocumentStore, count: int) -> None:
        self.store = store
        self._count = count

    def count(self) -> int:
        return self._count

    def query(
        self, vector: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        return self.store.dense(vector, k, chunk_filter(where))


def load_server_snapshot(store: DocumentStore, store_id: str, generation: int):  # noqa: ANN201
    """The committed state of ``store``: (store id, generation) as asked, or a newer one when
    a commit landed since (the caller keys the snapshot on what it got)."""
    from assistant.store_reader import Snapshot, _idf

    with store.consistent():
        # Keyed on the state these reads see (a commit since the caller asked is taken whole).
        store_id, generation = store.state()
        snap = Snapshot(generation=generation, store_id=store_id, records=store)  # type: ignore[arg-type]
        if generation <= 0:
            return snap
        snap.documents = {d.doc_id: d for d in store.list_documents()}
        snap.texts = {doc_id: store.get_text(doc_id) or "" for doc_id in snap.documents}
        snap.chunks = {c.chunk_id: c for c in store.get_chunks()}
    snap.lexical = LexicalIndex.build(
        [(c.chunk_id, snap.chunk_text(c), c.language) for c in snap.chunks.values()]
    )
    snap.vectors = ServerVectors(store, len(snap.chunks))  # type: ignore[assignment]
    snap.idf = _idf(snap)
    return snap
