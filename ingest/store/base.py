"""The document store's seam: what the write path (``Indexer``) and the read path
(``StoreReader``) need from a store, whichever backend holds it.

Two backends implement it: the embedded one (``ingest.store.embedded``: SQLite records,
embedded Chroma, BM25 folders under the data dir; the default, no server) and PostgreSQL with
pgvector (``ingest.store.postgres``: everything in one database, for several machines).
``ingest.store.open_store`` picks one from the settings; nothing else asks which it is.

The contract both keep:
- A writer works inside ``store.run()``: the run first takes the store's writers' lock (saying
  through ``on_wait`` when another run holds it), collects deletions and replacements, and
  commits them all at once when the ``with`` block ends: one new generation, visible to every
  reader at the same moment. An exception inside the block (a killed run) commits nothing.
- A reader keys what it loaded on ``state()`` = (store id, generation) and loads again when it
  moves; a store made anew has a new id, so its generations are never confused with the old.

Example:
    >>> ChunkFilter(language="da").empty, ChunkFilter().empty
    (False, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ingest.lexical import LexicalHit
from ingest.records import ChunkRecord, DocumentRecord, SectionRecord, UnitRecord

DocumentRow = dict[str, object]
"""A document's columns as ``Records.put_document`` takes them: doc_id, source_path,
content_hash, title, language, kind, published, publisher, translation_of, page_count, text,
ingested_at."""

OnWait = Callable[[str], None]

# A database server that does not answer costs a request this long, not the TCP timeout
# (minutes): the store and the API's database both connect with it.
CONNECT_TIMEOUT_S = 5


class StoreError(RuntimeError):
    """The store cannot be opened or written as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class ChunkFilter:
    """Which chunks a dense search may return (all of them when every field is empty)."""

    language: str | None = None
    """the document's language"""
    kinds: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.language or self.kinds or self.doc_ids)


@dataclass(frozen=True)
class UnitHit:
    """A sentence (answer unit) found by dense search: its chunk, its span, its similarity."""

    chunk_id: str
    start: int
    end: int
    score: float


class StoreRun(Protocol):
    """One ingestion run's changes; nothing is visible before the run commits."""

    def put_document(
        self,
        doc: DocumentRow,
        sections: Sequence[SectionRecord],
        chunks: Sequence[ChunkRecord],
        units: Sequence[UnitRecord],
    ) -> None:
        """Add a document or replace the one with its id or its source path. A chunk's
        dense vector is its units' pooled vector (``ingest.units.pooled``), made here."""

    def delete_document(self, doc_id: str) -> None: ...

    def set_meta(self, key: str, value: str) -> None:
        """Remember a value (committed with the run)."""


@runtime_checkable
class DocumentStore(Protocol):
    kind: str
    """"embedded" or "postgresql" (for messages and figures only; never branch on it)"""

    # --- state ------------------------------------------------------------------------
    def state(self) -> tuple[str, int]:
        """(store id, committed generation) in one read."""

    def generation(self) -> int: ...

    def get_meta(self, key: str) -> str | None: ...

    def consistent(self) -> AbstractContextManager[None]:
        """Reads in this thread inside the block all come from one committed state."""

    # --- records of the committed generation --------------------------------------------
    def list_documents(self) -> list[DocumentRecord]: ...

    def get_document(self, doc_id: str) -> DocumentRecord | None: ...

    def get_text(self, doc_id: str) -> str | None: ...

    def get_texts(self, doc_ids: list[str]) -> dict[str, str]:
        """doc id -> text for those of ``doc_ids`` that are stored, in one read or a few."""

    def get_text_leads(self, chars: int) -> dict[str, str]:
        """doc id -> the first ``chars`` characters of its text, every document at once."""

    def get_sections(self, doc_id: str) -> list[SectionRecord]: ...

    def get_chunks(self, doc_id: str | None = None) -> list[ChunkRecord]: ...

    def iter_chunks(self, batch: int = 10_000) -> Iterator[ChunkRecord]:
        """Every chunk, ordered by document and seq, streamed ``batch`` rows at a time."""

    def iter_chunk_rows(self, batch: int = 10_000) -> Iterator[tuple]:
        """``iter_chunks`` as tuples of ``ingest.records.CHUNK_FIELDS`` (no record made per
        chunk: what a replica's snapshot of a large store reads)."""

    def get_units(self, chunk_ids: list[str]) -> list[UnitRecord]: ...

    def unit_counts(self) -> Iterator[tuple[str, int]]:
        """(chunk id, number of answer units) of every chunk that has units, streamed: how a
        replica tells which chunks a new generation changed (``sentence_file.plan_delta``)."""

    def source_index(self) -> dict[str, tuple[str, str]]:
        """source path -> (doc id, content hash): what the write path compares files with."""

    def chunk_ids_with_hash(self, text_hashes: list[str]) -> dict[str, str]:
        """text hash -> a stored chunk id with that text (its units' vectors are reused)."""

    # --- search over the committed generation -------------------------------------------
    def dense(
        self, vector: Sequence[float], k: int, where: ChunkFilter | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) over chunk vectors, best first."""

    def dense_units(self, vector: Sequence[float], k: int) -> list[UnitHit]:
        """The k sentences nearest to ``vector``, best first."""

    def keyword(
        self, query: str, language: str, k: int, allowed: set[str] | None = None
    ) -> list[LexicalHit]:
        """Keyword search among the chunks of ``language`` ("da"; anything else: "en"),
        stemmed in that language; hits with a positive score only, best first."""

    # --- writing ------------------------------------------------------------------------
    def run(
        self, on_wait: OnWait | None = None, *, bulk: bool = False
    ) -> AbstractContextManager[StoreRun]:
        """Take the writers' lock (``on_wait`` is told when it must wait), yield a run,
        commit it when the block ends without an exception. Runs are serialised across
        processes (and machines, on a server backend). ``bulk``: the run loads a new, empty
        store; a backend may build its indexes after the rows instead of row by row, and
        readers may wait for the run to commit meanwhile."""

    def close(self) -> None: ...


def unit_matrix(units: Sequence[UnitRecord]) -> np.ndarray:
    """The units' vectors as one float32 matrix (one row per unit)."""
    if not units:
        return np.zeros((0, 1), dtype=np.float32)
    return np.stack([np.frombuffer(u.vector, dtype=np.float32) for u in units])


def chunk_vectors(units: Sequence[UnitRecord]) -> dict[str, list[float]]:
    """chunk id -> its dense vector: the length-weighted mean of its units' (re-normalised),
    as the Indexer has always made it."""
    from ingest.units import pooled

    by_chunk: dict[str, list[UnitRecord]] = {}
    for unit in units:
        by_chunk.setdefault(unit.chunk_id, []).append(unit)
    return {
        cid: pooled(
            [np.frombuffer(u.vector, dtype=np.float32) for u in rows],
            [u.end - u.start for u in rows],
        )
        for cid, rows in by_chunk.items()
    }


def iter_batches(items: Sequence, size: int) -> Iterator[Sequence]:  # noqa: ANN001
    for i in range(0, len(items), size):
        yield items[i : i + size]
