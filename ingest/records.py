"""The record manager: SQLite bookkeeping of what the store holds, and its commit point.

One SQLite transaction per ingestion run switches the whole store from the old state to the
new one: Chroma may briefly hold vectors of an uncommitted run, but readers only trust chunk
ids listed here, so a crash or Ctrl-C mid-run leaves the previous state queryable.

Example:
    >>> import tempfile, pathlib
    >>> from ingest.records import Records
    >>> r = Records(pathlib.Path(tempfile.mkdtemp()) / "records.sqlite")
    >>> r.generation(), r.list_documents()
    (0, [])
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source_path TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    kind TEXT NOT NULL,
    published TEXT,
    publisher TEXT,
    translation_of TEXT,
    page_count INTEGER,
    text TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sections (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    heading TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    page INTEGER,
    PRIMARY KEY (doc_id, seq)
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    section TEXT,
    page INTEGER,
    language TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    text_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS units (
    chunk_id TEXT NOT NULL REFERENCES chunks(chunk_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (chunk_id, seq)
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(text_hash);
"""

_DOC_COLUMNS = (
    "doc_id, title, language, kind, published, publisher, translation_of, source_path, "
    "content_hash, page_count, ingested_at"
)


class DocumentRecord(BaseModel):
    doc_id: str
    title: str
    language: str
    kind: str
    published: str | None = None
    publisher: str | None = None
    translation_of: str | None = None
    source_path: str
    content_hash: str
    page_count: int | None = None
    ingested_at: str
    chunk_count: int = 0
    char_count: int = 0
    translations: list[str] = []


class SectionRecord(BaseModel):
    seq: int
    heading: str
    start: int
    end: int
    page: int | None = None


class ChunkRecord(BaseModel):
    chunk_id: str
    doc_id: str
    seq: int
    start: int
    end: int
    section: str | None = None
    page: int | None = None
    language: str
    tokens: int
    text_hash: str


CHUNK_FIELDS = tuple(ChunkRecord.model_fields)
"""A chunk row's columns, in the order ``iter_chunk_rows`` gives them."""


def chunk_records(rows: Iterable[tuple]) -> Iterator[ChunkRecord]:
    """Rows of ``CHUNK_FIELDS`` (what ``iter_chunk_rows`` gives on either backend) as records."""
    for row in rows:
        yield ChunkRecord(**dict(zip(CHUNK_FIELDS, row, strict=True)))


class UnitRecord(BaseModel):
    """An answer unit (sentence) of a chunk with its embedding (float32 bytes)."""

    chunk_id: str
    seq: int
    start: int
    end: int
    vector: bytes


class RecordsMissing(sqlite3.OperationalError):
    """The record database this reader opened was deleted and not (yet) replaced."""


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``, None when it is missing: a store deleted and created
    again under the same path is a different file, whatever generation it reached."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class Records:
    """Thread-safe access to the record database (one connection per thread).

    Each connection follows the file at ``path``: when the file was replaced (``rm -rf
    store`` and a new ingest) the next call reopens it instead of reading the deleted one
    through an open handle; when it is gone, calls raise :class:`RecordsMissing` (only the
    first open creates a database, so a reader never makes an empty store in its place).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._created = False
        with self._connect() as conn:
            conn.executescript(_SCHEMA)
            if conn.execute("SELECT 1 FROM meta WHERE key = 'store_id'").fetchone() is None:
                # The store's identity, kept for its whole life: readers compare (store id,
                # generation), so a store made anew is never taken for the one they hold.
                conn.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES('store_id', ?)",
                    (uuid.uuid4().hex,),
                )
        self._created = True

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        identity = file_identity(self.path)
        if conn is not None and identity != getattr(self._local, "identity", None):
            conn.close()
            conn = self._local.conn = None
        if conn is None:
            if identity is None and self._created:
                raise RecordsMissing(f"the record database {self.path} is missing")
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            # WAL lets the API read the committed state while an ingestion run writes.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            self._local.identity = file_identity(self.path)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (disk full, I/O error): rolling back again
            # would raise "cannot rollback - no transaction is active" over the real cause.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # --- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._connect().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row["value"] if row else None

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    def store_id(self) -> str:
        return self.get_meta("store_id") or ""

    def state(self) -> tuple[str, int]:
        """(store id, generation) in one read: what a reader's snapshot is keyed on."""
        rows = dict(
            self._connect()
            .execute("SELECT key, value FROM meta WHERE key IN ('store_id', 'generation')")
            .fetchall()
        )
        return rows.get("store_id", ""), int(rows.get("generation") or 0)

    # --- reading --------------------------------------------------------------------------
    def list_documents(self) -> list[DocumentRecord]:
        return self._documents("1", ())

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        # The document plus the rows that name it, or that it names, as a translation.
        docs = self._documents(
            "d.doc_id = ? OR d.translation_of = ? "
            "OR d.doc_id = (SELECT translation_of FROM documents WHERE doc_id = ?)",
            (doc_id, doc_id, doc_id),
        )
        return next((d for d in docs if d.doc_id == doc_id), None)

    def _documents(self, where: str, params: tuple[str, ...]) -> list[DocumentRecord]:
        rows = (
            self._connect()
            .execute(
                f"SELECT {_DOC_COLUMNS}, length(text) AS char_count, "
                "(SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id) AS chunk_count "
                f"FROM documents d WHERE {where} ORDER BY title",
                params,
            )
            .fetchall()
        )
        docs = [DocumentRecord(**dict(row)) for row in rows]
        ids = {d.doc_id for d in docs}
        translated_by: dict[str, list[str]] = {}
        for doc in docs:
            if doc.translation_of:
                translated_by.setdefault(doc.translation_of, []).append(doc.doc_id)
        for doc in docs:
            doc.translations = list(translated_by.get(doc.doc_id, []))
            if doc.translation_of in ids:
                doc.translations.insert(0, doc.translation_of)
        return docs

    def get_text(self, doc_id: str) -> str | None:
        row = (
            self._connect()
            .execute("SELECT text FROM documents WHERE doc_id=?", (doc_id,))
            .fetchone()
        )
        return row["text"] if row else None

    def get_texts(self, doc_ids: list[str]) -> dict[str, str]:
        """doc id -> text for those of ``doc_ids`` that are stored, 500 to a read."""
        conn = self._connect()
        found: dict[str, str] = {}
        for i in range(0, len(doc_ids), 500):
            batch = doc_ids[i : i + 500]
            marks = ",".join("?" * len(batch))
            rows = conn.execute(
                f"SELECT doc_id, text FROM documents WHERE doc_id IN ({marks})", batch
            ).fetchall()
            found.update((r["doc_id"], r["text"]) for r in rows)
        return found

    def get_text_leads(self, chars: int) -> dict[str, str]:
        """doc id -> the first ``chars`` characters of its text, every document in one read."""
        rows = self._connect().execute("SELECT doc_id, substr(text, 1, ?) FROM documents", (chars,))
        return dict(rows.fetchall())

    def get_sections(self, doc_id: str) -> list[SectionRecord]:
        rows = (
            self._connect()
            .execute(
                'SELECT seq, heading, start, "end", page FROM sections WHERE doc_id=? ORDER BY seq',
                (doc_id,),
            )
            .fetchall()
        )
        return [SectionRecord(**dict(r)) for r in rows]

    def get_chunks(self, doc_id: str | None = None) -> list[ChunkRecord]:
        conn = self._connect()
        if doc_id is None:
            rows = conn.execute("SELECT * FROM chunks ORDER BY doc_id, seq").fetchall()
        else:
            rows = conn.execute(
                "SELECT * FROM chunks WHERE doc_id=? ORDER BY seq", (doc_id,)
            ).fetchall()
        return [ChunkRecord(**dict(r)) for r in rows]

    def iter_chunk_rows(self, batch: int = 10_000) -> Iterator[tuple]:
        """Every chunk as a tuple of ``CHUNK_FIELDS``, ordered by document and seq, read
        ``batch`` rows at a time (a replica's snapshot of a million chunks never holds them
        all at once, and makes no record of each: 16 s a million with records, 8 s without)."""
        columns = ", ".join(f'"{name}"' for name in CHUNK_FIELDS)
        cursor = self._connect().execute(f"SELECT {columns} FROM chunks ORDER BY doc_id, seq")
        while rows := cursor.fetchmany(batch):
            yield from map(tuple, rows)

    def iter_chunks(self, batch: int = 10_000) -> Iterator[ChunkRecord]:
        """``iter_chunk_rows`` as records."""
        return chunk_records(self.iter_chunk_rows(batch))

    def chunk_count(self) -> int:
        return int(self._connect().execute("SELECT count(*) FROM chunks").fetchone()[0])

    def iter_chunk_ids(self, batch: int = 50_000) -> Iterator[str]:
        cursor = self._connect().execute("SELECT chunk_id FROM chunks")
        while rows := cursor.fetchmany(batch):
            yield from (r[0] for r in rows)

    def iter_chunk_units(
        self, batch: int = 20_000
    ) -> Iterator[tuple[str, str, int, int, list[tuple[int, int]]]]:
        """(doc id, chunk id, start, end, its units' spans in order) of every chunk, ordered
        by document and seq, without the vectors: what the store check compares with the
        sentence splitting, streamed (a million chunks are never held at once)."""
        cursor = self._connect().execute(
            'SELECT c.doc_id, c.chunk_id, c.start, c."end", u.start, u."end" FROM chunks c '
            "LEFT JOIN units u ON u.chunk_id = c.chunk_id ORDER BY c.doc_id, c.seq, u.seq"
        )
        current: tuple[str, str, int, int, list[tuple[int, int]]] | None = None
        while rows := cursor.fetchmany(batch):
            for doc_id, chunk_id, start, end, unit_start, unit_end in rows:
                if current is None or current[1] != chunk_id:
                    if current is not None:
                        yield current
                    current = (doc_id, chunk_id, start, end, [])
                if unit_start is not None:
                    current[4].append((unit_start, unit_end))
        if current is not None:
            yield current

    def get_units(self, chunk_ids: list[str]) -> list[UnitRecord]:
        conn = self._connect()
        found: list[UnitRecord] = []
        for i in range(0, len(chunk_ids), 500):
            batch = chunk_ids[i : i + 500]
            marks = ",".join("?" * len(batch))
            rows = conn.execute(
                f'SELECT chunk_id, seq, start, "end", vector FROM units '
                f"WHERE chunk_id IN ({marks}) ORDER BY chunk_id, seq",
                batch,
            ).fetchall()
            found.extend(UnitRecord(**dict(r)) for r in rows)
        return found

    def unit_counts(self) -> Iterator[tuple[str, int]]:
        """(chunk id, number of its units) of every chunk that has units."""
        return self.count_units(self._connect())

    @staticmethod
    def count_units(conn: sqlite3.Connection) -> Iterator[tuple[str, int]]:
        """``unit_counts`` as ``conn`` sees them (inside a writing transaction: what it is
        about to commit)."""
        cursor = conn.execute(
            "SELECT u.chunk_id, COUNT(*) FROM units u JOIN chunks c ON c.chunk_id = u.chunk_id "
            "GROUP BY u.chunk_id"
        )
        while rows := cursor.fetchmany(10_000):
            yield from map(tuple, rows)

    def chunk_ids_with_hash(self, text_hashes: list[str]) -> dict[str, str]:
        """Map text hash -> an existing chunk id with that text (to reuse its vector)."""
        found: dict[str, str] = {}
        conn = self._connect()
        for i in range(0, len(text_hashes), 500):
            batch = text_hashes[i : i + 500]
            marks = ",".join("?" * len(batch))
            for row in conn.execute(
                f"SELECT text_hash, chunk_id FROM chunks WHERE text_hash IN ({marks})", batch
            ):
                found.setdefault(row["text_hash"], row["chunk_id"])
        return found

    def source_index(self) -> dict[str, tuple[str, str]]:
        """source path -> (doc_id, content_hash)."""
        rows = (
            self._connect()
            .execute("SELECT source_path, doc_id, content_hash FROM documents")
            .fetchall()
        )
        return {r["source_path"]: (r["doc_id"], r["content_hash"]) for r in rows}

    # --- writing (inside ``transaction()``) -------------------------------------------------
    @staticmethod
    def delete_document(conn: sqlite3.Connection, doc_id: str) -> None:
        conn.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))

    @staticmethod
    def put_document(
        conn: sqlite3.Connection,
        doc: dict[str, object],
        sections: list[SectionRecord],
        chunks: list[ChunkRecord],
        units: list[UnitRecord],
    ) -> None:
        conn.execute(
            "DELETE FROM documents WHERE doc_id=? OR source_path=?",
            (doc["doc_id"], doc["source_path"]),
        )
        columns = list(doc)
        conn.execute(
            f"INSERT INTO documents({', '.join(columns)}) VALUES({', '.join('?' * len(columns))})",
            [doc[c] for c in columns],
        )
        conn.executemany(
            'INSERT INTO sections(doc_id, seq, heading, start, "end", page) VALUES(?,?,?,?,?,?)',
            [(doc["doc_id"], s.seq, s.heading, s.start, s.end, s.page) for s in sections],
        )
        conn.executemany(
            'INSERT INTO chunks(chunk_id, doc_id, seq, start, "end", section, page, language, '
            "tokens, text_hash) VALUES(?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    c.chunk_id,
                    c.doc_id,
                    c.seq,
                    c.start,
                    c.end,
                    c.section,
                    c.page,
                    c.language,
                    c.tokens,
                    c.text_hash,
                )
                for c in chunks
            ],
        )
        conn.executemany(
            'INSERT INTO units(chunk_id, seq, start, "end", vector) VALUES(?,?,?,?,?)',
            [(u.chunk_id, u.seq, u.start, u.end, u.vector) for u in units],
        )

    @staticmethod
    def move_document(conn: sqlite3.Connection, doc_id: str, source_path: str) -> None:
        conn.execute("UPDATE documents SET source_path=? WHERE doc_id=?", (source_path, doc_id))
