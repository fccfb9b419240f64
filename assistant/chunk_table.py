"""The committed chunks of a snapshot in columns: a read-only mapping from chunk id to its
``ChunkRecord``.

A replica holds every chunk of the store; at a million chunks a dict of pydantic records was
~1.7 GB, this table is 364 MB, ids included. The ids are one list (and a dict from id to row),
the numbers numpy columns, and the strings that repeat (document ids, section headings,
languages) are stored once. A record is made when it is asked for, which a question does a
few hundred times.

Example:
    >>> from ingest.records import ChunkRecord
    >>> rows = [
    ...     ChunkRecord(chunk_id=f"d:{i}", doc_id="d", seq=i, start=10 * i, end=10 * i + 9,
    ...                 section="Om bostøtte", language="da", tokens=3, text_hash="ab" * 32)
    ...     for i in range(3)
    ... ]
    >>> table = ChunkTable.build(rows)
    >>> len(table), table["d:1"].start, table["d:1"] == rows[1], table.of_document("d")
    (3, 10, True, ['d:0', 'd:1', 'd:2'])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from ingest.records import CHUNK_FIELDS, ChunkRecord

_NONE = -1


class _Interned:
    """Each distinct string once, by position; None is position -1."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, value: str | None) -> int:
        if value is None:
            return _NONE
        found = self._index.get(value)
        if found is None:
            found = self._index[value] = len(self.values)
            self.values.append(value)
        return found

    def get(self, position: int) -> str | None:
        return None if position == _NONE else self.values[position]


class ChunkTable(Mapping[str, ChunkRecord]):
    """Chunk id -> ``ChunkRecord``, in the order the records came (document, then seq)."""

    # Columns of each chunk, int32 (int64 for offsets: a document may pass 2 GB of text
    # nowhere, but a page count or token count is no reason to risk it).
    _INTS = ("doc", "seq", "start", "end", "section", "page", "language", "tokens")

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._columns: dict[str, np.ndarray] = {
            name: np.zeros(0, dtype=np.int64) for name in self._INTS
        }
        self._hashes = np.zeros(0, dtype="S33")
        # Row -> a text hash that is not a short digest (none in a store ingest made).
        self._odd_hashes: dict[int, str] = {}
        self._docs = _Interned()
        self._sections = _Interned()
        self._languages = _Interned()
        # doc position -> (first row, end row): rows of one document are contiguous.
        self._doc_rows: dict[int, tuple[int, int]] = {}

    @classmethod
    def build(cls, records: Iterable[ChunkRecord], batch: int = 4096) -> ChunkTable:
        """The table of ``records`` (grouped by document, as the stores return them)."""
        return cls.from_rows(
            (tuple(getattr(r, f) for f in CHUNK_FIELDS) for r in records), batch=batch
        )

    @classmethod
    def from_rows(cls, rows: Iterable[tuple], batch: int = 4096) -> ChunkTable:
        """The table of chunk rows (tuples of ``CHUNK_FIELDS``, grouped by document, as
        ``iter_chunk_rows`` gives them), filled in batches: no list of them all is held."""
        table = cls()
        parts: dict[str, list[np.ndarray]] = {name: [] for name in cls._INTS}
        hashes: list[np.ndarray] = []
        pending: list[tuple] = []
        docs, sections, languages = table._docs.add, table._sections.add, table._languages.add

        def flush() -> None:
            if not pending:
                return
            # chunk_id, doc_id, seq, start, end, section, page, language, tokens, text_hash
            columns = {
                "doc": [docs(r[1]) for r in pending],
                "seq": [r[2] for r in pending],
                "start": [r[3] for r in pending],
                "end": [r[4] for r in pending],
                "section": [sections(r[5]) for r in pending],
                "page": [_NONE if r[6] is None else r[6] for r in pending],
                "language": [languages(r[7]) for r in pending],
                "tokens": [r[8] for r in pending],
            }
            for name, values in columns.items():
                parts[name].append(np.asarray(values, dtype=np.int64))
            packed = []
            for offset, r in enumerate(pending):
                raw = _hash_bytes(r[9])
                if raw is None:
                    table._odd_hashes[len(table._ids) - len(pending) + offset] = r[9]
                packed.append(raw or b"t")
            hashes.append(np.asarray(packed, dtype="S33"))
            pending.clear()

        for row in rows:
            if row[0] in table._row:
                raise ValueError(f"chunk {row[0]!r} twice")
            table._row[row[0]] = len(table._ids)
            table._ids.append(row[0])
            pending.append(row)
            if len(pending) >= batch:
                flush()
        flush()
        for name in cls._INTS:
            merged = np.concatenate(parts[name]) if parts[name] else np.zeros(0, np.int64)
            # Offsets stay int64; the small columns fit int32 (half the memory).
            small = name not in ("start", "end")
            table._columns[name] = merged.astype(np.int32) if small else merged
        table._hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype="S33")
        docs = table._columns["doc"]
        same_doc = docs[1:] == docs[:-1]
        if np.any(np.diff(table._columns["seq"])[same_doc] <= 0):
            raise ValueError("the chunks of a document do not come in the order of their seq")
        if len(docs):
            bounds = np.flatnonzero(np.diff(docs)) + 1
            starts = np.concatenate([[0], bounds])
            ends = np.concatenate([bounds, [len(docs)]])
            for first, end in zip(starts.tolist(), ends.tolist(), strict=True):
                doc = int(docs[first])
                if doc in table._doc_rows:
                    raise ValueError(
                        f"the chunks of document {table._docs.get(doc)!r} are not contiguous"
                    )
                table._doc_rows[doc] = (first, end)
        return table

    def __getitem__(self, chunk_id: str) -> ChunkRecord:
        return self._record(self._row[chunk_id])

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._row

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def of_document(self, doc_id: str) -> list[str]:
        """The ids of one document's chunks in order (no pass over the whole table)."""
        position = self._docs._index.get(doc_id)
        if position is None or position not in self._doc_rows:
            return []
        first, end = self._doc_rows[position]
        return self._ids[first:end]

    def doc_id(self, chunk_id: str) -> str:
        """A chunk's document id without making its record."""
        return self._docs.values[int(self._columns["doc"][self._row[chunk_id]])]

    def language(self, chunk_id: str) -> str:
        """A chunk's language without making its record."""
        return self._languages.values[int(self._columns["language"][self._row[chunk_id]])]

    def languages(self) -> list[str]:
        """The chunk languages in the table, sorted."""
        return sorted(self._languages.values)

    def sample(self, language: str, n: int) -> list[str]:
        """Up to ``n`` ids of the chunks in ``language``, evenly spread over the table (the
        same ones for the same table)."""
        position = self._languages._index.get(language)
        if position is None or n <= 0:
            return []
        rows = np.flatnonzero(self._columns["language"] == position)
        if len(rows) > n:
            rows = rows[np.linspace(0, len(rows) - 1, n).astype(np.int64)]
        return [self._ids[int(r)] for r in rows]

    def neighbours(self) -> ChunkNeighbours:
        """chunk id -> (the chunk before it, the chunk after it) in its document."""
        return ChunkNeighbours(self)

    def _record(self, row: int) -> ChunkRecord:
        col = self._columns
        page = int(col["page"][row])
        return ChunkRecord.model_construct(
            chunk_id=self._ids[row],
            doc_id=self._docs.values[int(col["doc"][row])],
            seq=int(col["seq"][row]),
            start=int(col["start"][row]),
            end=int(col["end"][row]),
            section=self._sections.get(int(col["section"][row])),
            page=None if page == _NONE else page,
            language=self._languages.values[int(col["language"][row])],
            tokens=int(col["tokens"][row]),
            text_hash=self._odd_hashes.get(row) or _hash_text(self._hashes[row]),
        )

    def nbytes(self) -> int:
        """Bytes of the numpy columns (the id strings and the dict come on top)."""
        return sum(c.nbytes for c in self._columns.values()) + self._hashes.nbytes


class ChunkNeighbours(Mapping[str, tuple[str | None, str | None]]):
    """A chunk's neighbours in its document, read off the table's order (no dict of a
    million pairs).

    >>> from ingest.records import ChunkRecord
    >>> rows = [ChunkRecord(chunk_id=f"{d}{i}", doc_id=d, seq=i, start=0, end=1,
    ...                     language="da", tokens=1, text_hash="x")
    ...         for d in "ab" for i in range(2)]
    >>> around = ChunkTable.build(rows).neighbours()
    >>> around["a1"], around["b0"], around.get("z", (None, None))
    (('a0', None), (None, 'b1'), (None, None))
    """

    def __init__(self, table: ChunkTable) -> None:
        self._table = table

    def __getitem__(self, chunk_id: str) -> tuple[str | None, str | None]:
        table = self._table
        row = table._row[chunk_id]
        docs = table._columns["doc"]
        before = table._ids[row - 1] if row > 0 and docs[row - 1] == docs[row] else None
        after = table._ids[row + 1] if row + 1 < len(docs) and docs[row + 1] == docs[row] else None
        return before, after

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._table

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


def _hash_bytes(text_hash: str) -> bytes | None:
    """A hex digest as its bytes behind a tag byte that is its length (1-32); other short
    text as its bytes behind "t"; None for anything longer (kept apart, whole)."""
    try:
        raw = bytes.fromhex(text_hash)
    except ValueError:
        raw = b""
    if 0 < len(raw) <= 32 and raw.hex() == text_hash:
        return bytes([len(raw)]) + raw
    encoded = text_hash.encode()
    return b"t" + encoded if len(encoded) <= 32 and not encoded.endswith(b"\0") else None


def _hash_text(raw: bytes) -> str:
    if raw[0] <= 32:
        # numpy's fixed-width bytes drop trailing NULs; the length tag gives them back.
        return raw[1:].ljust(raw[0], b"\0").hex()
    return raw[1:].decode()
