"""A snapshot of a server store (PostgreSQL, through the store seam), loaded whole at each
committed generation, as ``StoreReader`` loads the embedded one.

What a replica holds in memory: documents, the chunk table, the texts (a large store's read
on demand), and the BM25 keyword index rebuilt from the records (the embedded store's
tokenizer and scorer, so keyword ranking is the same on both backends; the store's own
``tsvector`` search stays available for the measurement issue 24 asks for). Dense chunk
search is asked of the server (pgvector HNSW); sentence vectors are read from it for the
sentence index. The database is the only source: what a replica keeps on its local disk is
what it derived from it for a large store (the keyword index and the sentence index file),
once per generation, in its cache.

Example:
    >>> chunk_filter({"$and": [{"doc_language": "da"}, {"kind": {"$in": ["news"]}}]})
    ChunkFilter(language='da', kinds=('news',), doc_ids=())
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.chunk_table import ChunkTable
from assistant.document_texts import DocumentTexts
from ingest.lexical import LEXICAL_VERSION, LexicalIndex
from ingest.lexical_delta import LayeredLexicalIndex, base_of, load_index, write_next
from ingest.store.base import ChunkFilter, DocumentStore
from ingest.store.sentence_file import sweep

if TYPE_CHECKING:
    from assistant.store_reader import Snapshot


log = logging.getLogger("kva.store")

# A server store this large gets its keyword index saved in the replica's cache (smaller
# ones are built at each start in seconds, and the replica keeps nothing on disk).
LEXICAL_CACHE_MIN_CHUNKS = 40_000


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

    def __init__(self, store: DocumentStore, chunks: Collection[str]) -> None:
        self.store = store
        self._chunks = chunks

    def count(self) -> int:
        return len(self._chunks)

    def query(
        self, vector: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        # The database answers from its committed generation, which is newer than the
        # snapshot's while a replica prepares the next one: only the snapshot's chunks count.
        found = self.store.dense(vector, k, chunk_filter(where))
        return [(c, s) for c, s in found if c in self._chunks]


def _chunk_texts(
    snap: Snapshot, only: set[str] | None = None
) -> Iterator[tuple[str, str, str]]:
    """(chunk id, text, language) of every chunk in the table's order (the order the
    embedded store's index has), or of those in ``only`` by document, each document's text
    read once: its chunks come together."""
    chunks = snap.chunks.values()
    if only is not None:
        # Only these chunks' records are made: making one for each of a million chunks to
        # pick out twenty took most of a new generation's keyword delta (24 s of 26).
        chunks = sorted(
            (snap.chunks[c] for c in only if c in snap.chunks), key=lambda c: (c.doc_id, c.seq)
        )
    doc_id, text = None, ""
    for chunk in chunks:
        if chunk.doc_id != doc_id:
            doc_id, text = chunk.doc_id, snap.texts[chunk.doc_id]
        yield chunk.chunk_id, text[chunk.start : chunk.end], chunk.language


def _lexical(snap: Snapshot, cache: Path | None) -> LexicalIndex | LayeredLexicalIndex:
    """The keyword index of the snapshot: built from its chunks, or for a large store mapped
    from the replica's cache, where the first replica of a generation on this machine saved
    it (tokenizing a million chunks took minutes of every start). A generation that changed
    few chunks since the last full index in the cache is saved as a delta on it
    (``ingest.lexical_delta``): an upload costs its own chunks, not the store's."""
    if cache is None or len(snap.chunks) < LEXICAL_CACHE_MIN_CHUNKS:
        return LexicalIndex.build(_chunk_texts(snap))
    root = cache / snap.store_id
    name = f"gen-{snap.generation}-v{LEXICAL_VERSION}"
    if (root / name).is_dir():
        try:
            found = load_index(root / name)
            if found.size() == len(snap.chunks):
                return found
        except (OSError, ValueError) as exc:
            log.warning("the cached keyword index %s is unreadable (%s)", root / name, exc)
        log.warning("the cached keyword index %s does not match the store; building", root / name)
        shutil.rmtree(root / name, ignore_errors=True)
    base = _last_full(root, snap.generation)
    # Written under a name of its own, then renamed: two replicas sharing the data dir may
    # both write it; the first rename wins and the other's copy is dropped.
    mine = root / f"tmp-{uuid.uuid4().hex}"
    write_next(
        mine,
        root / base if base is not None else None,
        snap.chunks,
        lambda ids: _chunk_texts(snap, ids),
        lambda: _chunk_texts(snap),
    )
    try:
        mine.rename(root / name)
    except OSError:
        shutil.rmtree(mine, ignore_errors=True)
    # The winner's folder and the previous generation's (a replica may still serve it: this
    # one while it prepares the next, another that shares the folder), with what each is a
    # delta on.
    previous = _previous(root, snap.generation)
    keep = {name, *([previous.name] if previous else [])}
    sweep(root, keep=keep | {base for k in keep if (base := base_of(root / k))}, spare_writing=True)
    return load_index(root / name)


def _previous(root: Path, generation: int) -> Path | None:
    """The keyword index folder of the latest earlier generation in the cache, or None."""
    best: tuple[int, Path] | None = None
    for folder in root.glob(f"gen-*-v{LEXICAL_VERSION}") if root.is_dir() else []:
        try:
            found = int(folder.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if found < generation and (best is None or found > best[0]):
            best = (found, folder)
    return best[1] if best is not None else None


def _last_full(root: Path, generation: int) -> str | None:
    """The full keyword index of the latest earlier generation in the cache (a delta's base
    counts), or None."""
    previous = _previous(root, generation)
    return None if previous is None else base_of(previous) or previous.name


def load_server_snapshot(  # noqa: ANN201
    store: DocumentStore,
    store_id: str,
    generation: int,
    text_memory_chars: int,
    lexical_cache: Path | None = None,
):
    """The committed state of ``store``: (store id, generation) as asked, or a newer one when
    a commit landed since (the caller keys the snapshot on what it got). Document texts past
    ``text_memory_chars`` are read when a question needs them (``DocumentTexts``); a large
    store's keyword index is kept under ``lexical_cache`` once per generation."""
    from assistant.store_reader import Snapshot, _idf, _still_at

    with store.consistent():
        # Keyed on the state these reads see (a commit since the caller asked is taken whole).
        store_id, generation = store.state()
        snap = Snapshot(generation=generation, store_id=store_id, records=store)  # type: ignore[arg-type]
        if generation <= 0:
            return snap
        snap.documents = {d.doc_id: d for d in store.list_documents()}
        key = (store_id, generation)
        # Not ``snap.documents`` inside the closure: the snapshot would hold itself through its
        # texts, and a million-chunk one would wait for the cycle collector to be freed.
        documents = snap.documents

        def unchanged(doc_id: str) -> bool:
            now, then = store.get_document(doc_id), documents.get(doc_id)
            return (
                now is not None
                and then is not None
                and (now.content_hash, now.ingested_at) == (then.content_hash, then.ingested_at)
            )

        snap.texts = DocumentTexts(
            snap.documents,
            read=store.get_text,
            current=lambda: _still_at(store, key),
            budget_chars=text_memory_chars,
            read_leads=store.get_text_leads,
            unchanged=unchanged,
            read_many=store.get_texts,
        )
        snap.chunks = ChunkTable.from_rows(store.iter_chunk_rows())
        # Inside the block: texts not held in memory are read from this same state.
        snap.lexical = _lexical(snap, lexical_cache)
    snap.vectors = ServerVectors(store, snap.chunks)  # type: ignore[assignment]
    snap.idf = _idf(snap)
    return snap
