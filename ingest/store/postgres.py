"""The document store in PostgreSQL with pgvector: records, chunk and sentence vectors, keyword
terms and the committed generation in one database, so several machines serve one corpus.

- One transaction per ingestion run: records, vectors and keyword terms of a run become
  visible together when it commits; a killed run (an exception, a dead process, a dropped
  connection) leaves nothing, and there is no second system whose vectors could go stale.
- Runs are serialised by a transaction-level advisory lock (released with the transaction
  whatever happens to the writer); a run that must wait says so first.
- Dense search: an HNSW index (cosine) over chunk vectors; a bulk run on an empty store
  (``run(bulk=True)``) builds it after the rows (inserting into it cost ~3 ms a chunk).
  Sentence vectors are stored, not indexed here: a replica searches them in its own index
  file, made once per generation (``assistant.sentence_index``); keeping an HNSW over them up
  to date cost ~4 ms a row at ingest, so a 100,000-chunk store (417,595 sentences) had not
  committed after 30 minutes.
- Vectors travel in pgvector's binary form (the ``pgvector`` package's psycopg adapters):
  sentence vectors by ``COPY … FROM STDIN (FORMAT BINARY)``, chunk vectors as parameters.
- Keyword search: PostgreSQL full-text search, ``to_tsvector('danish'|'english', chunk)``
  (Snowball stemmers and stopword lists, as the embedded BM25 uses) ranked with ``ts_rank``;
  the query's stems are OR-ed, as BM25 scores any of them.
- Schema by Alembic (``ingest/store/migrations``, version table ``store_alembic_version``),
  upgraded when a store is opened.

Example (needs a server):
    >>> PostgresStore.url_for("postgresql://kva@db:5432/kva")
    'postgresql+psycopg://kva@db:5432/kva'
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from alembic import command
from alembic.runtime.migration import MigrationContext
from pgvector.psycopg import register_vector
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import make_url

from ingest.alembic_scripts import alembic_config, head_revision
from ingest.lexical import LEXICAL_VERSION, LexicalHit, index_language
from ingest.records import (
    CHUNK_FIELDS,
    ChunkRecord,
    DocumentRecord,
    SectionRecord,
    UnitRecord,
    chunk_records,
)
from ingest.settings import Settings, get_settings
from ingest.store.base import (
    CONNECT_TIMEOUT_S,
    ChunkFilter,
    DocumentRow,
    OnWait,
    StoreError,
    UnitHit,
    chunk_vectors,
    iter_batches,
)

_CHUNK_COLUMNS = ", ".join(f'"{name}"' for name in CHUNK_FIELDS)

log = logging.getLogger("kva.ingest")
logging.getLogger("alembic").setLevel(logging.WARNING)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DIMENSION = 384
# Constants shared by every process of this product ('kvastor' / 'kvasmig' in ASCII).
_RUN_LOCK = 0x6B766173746F72
_MIGRATE_LOCK = 0x6B7661736D6967
_CONFIG = {"da": "danish", "en": "english"}
_DOC_COLUMNS = (
    "doc_id, title, language, kind, published, publisher, translation_of, source_path, "
    "content_hash, page_count, ingested_at"
)
# Candidates the HNSW search keeps (pgvector's default is 40): a filter applied after the
# index scan must still leave k rows.
_EF_SEARCH = 100
# A bulk run that starts on an empty store builds the chunk vectors' HNSW index once, after
# its rows, instead of inserting into it row by row (~3 ms a chunk: 50 minutes for a million
# chunks on two cores). Its definition is the migrations' (s0001).
_CHUNK_HNSW = (
    "CREATE INDEX store_chunks_embedding ON store_chunks USING hnsw (embedding vector_cosine_ops)"
)
# Memory for that build, for this transaction only: pgvector builds much faster when the graph
# fits (a million 384-dimensional chunks need about 2.2 GB; a parallel build reserves all of
# it in shared memory while it runs).
_BUILD_MEMORY = "4GB"


def as_vector(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """A query parameter pgvector's adapter sends in binary (float32, exact)."""
    return np.asarray(values, dtype=np.float32)


def _register_vector(dbapi_connection: Any, _record: Any) -> None:
    """Binary vectors on every pooled connection. Before the first migration the type does
    not exist yet: that connection goes without (the pool is renewed after the upgrade)."""
    with contextlib.suppress(psycopg.ProgrammingError):
        register_vector(dbapi_connection)
    if not dbapi_connection.autocommit:
        dbapi_connection.rollback()  # the type lookup opened a transaction


class PostgresStore:
    kind = "postgresql"

    def __init__(
        self, url: str, model_id: str | None = None, settings: Settings | None = None
    ) -> None:
        self.settings = settings
        self.url = self.url_for(url)
        self.engine = create_engine(
            self.url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
        )
        event.listen(self.engine, "connect", _register_vector)
        self._local = threading.local()
        self._model_id = model_id
        self.upgrade()
        self.engine.dispose()  # connections opened before the vector type existed
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO store_meta(key, value) VALUES ('store_id', :id) "
                    "ON CONFLICT (key) DO NOTHING"
                ),
                {"id": uuid.uuid4().hex},
            )

    @staticmethod
    def url_for(url: str) -> str:
        """psycopg 3, the driver we ship (SQLAlchemy's default for postgresql:// is psycopg2)."""
        parsed = make_url(url)
        if parsed.get_backend_name() not in ("postgresql", "postgres"):
            raise StoreError(f"not a PostgreSQL URL: {parsed.render_as_string()}")
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed.render_as_string(hide_password=False)

    def upgrade(self) -> None:
        """Bring the schema to the newest revision; several starting processes upgrade once."""
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK})
            before = MigrationContext.configure(
                conn, opts={"version_table": "store_alembic_version"}
            ).get_current_revision()
            if before != head_revision(MIGRATIONS):
                command.upgrade(alembic_config(MIGRATIONS, conn), "head")
                log.info("document store schema upgraded from %s to head", before or "empty")

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            from ingest.embeddings import make_embeddings

            self._model_id = make_embeddings(self.settings or get_settings()).model_id
        return self._model_id

    @contextlib.contextmanager
    def consistent(self) -> Iterator[None]:
        """Reads in this thread inside the block come from one committed state (one
        REPEATABLE READ transaction): a commit landing meanwhile is seen after the block."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                self._local.conn = conn
                try:
                    yield
                finally:
                    self._local.conn = None

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        pinned = getattr(self._local, "conn", None)
        if pinned is not None:
            return list(pinned.execute(text(sql), params).mappings())
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).mappings())

    # --- state and records --------------------------------------------------------------
    def state(self) -> tuple[str, int]:
        rows = {
            r["key"]: r["value"]
            for r in self._rows(
                "SELECT key, value FROM store_meta WHERE key IN ('store_id', 'generation')"
            )
        }
        return rows.get("store_id", ""), int(rows.get("generation") or 0)

    def generation(self) -> int:
        return self.state()[1]

    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM store_meta WHERE key = :key", key=key)
        return rows[0]["value"] if rows else None

    def list_documents(self) -> list[DocumentRecord]:
        return self._documents("true")

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        docs = self._documents(
            "d.doc_id = :id OR d.translation_of = :id "
            "OR d.doc_id = (SELECT translation_of FROM store_documents WHERE doc_id = :id)",
            id=doc_id,
        )
        return next((d for d in docs if d.doc_id == doc_id), None)

    def _documents(self, where: str, **params: Any) -> list[DocumentRecord]:
        rows = self._rows(
            f"SELECT {_DOC_COLUMNS}, length(text) AS char_count, "
            "(SELECT count(*) FROM store_chunks c WHERE c.doc_id = d.doc_id) AS chunk_count "
            f"FROM store_documents d WHERE {where} ORDER BY title",
            **params,
        )
        docs = [DocumentRecord(**dict(r)) for r in rows]
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
        rows = self._rows("SELECT text FROM store_documents WHERE doc_id = :id", id=doc_id)
        return rows[0]["text"] if rows else None

    def get_texts(self, doc_ids: list[str]) -> dict[str, str]:
        rows = self._rows(
            "SELECT doc_id, text FROM store_documents WHERE doc_id = ANY(:ids)", ids=doc_ids
        )
        return {r["doc_id"]: r["text"] for r in rows}

    def get_text_leads(self, chars: int) -> dict[str, str]:
        sql = "SELECT doc_id, substr(text, 1, :n) AS lead FROM store_documents"
        rows = self._rows(sql, n=chars)
        return {r["doc_id"]: r["lead"] for r in rows}

    def get_sections(self, doc_id: str) -> list[SectionRecord]:
        rows = self._rows(
            'SELECT seq, heading, start, "end", page FROM store_sections WHERE doc_id = :id '
            "ORDER BY seq",
            id=doc_id,
        )
        return [SectionRecord(**dict(r)) for r in rows]

    def get_chunks(self, doc_id: str | None = None) -> list[ChunkRecord]:
        if doc_id is None:
            rows = self._rows(f"SELECT {_CHUNK_COLUMNS} FROM store_chunks ORDER BY doc_id, seq")
        else:
            rows = self._rows(
                f"SELECT {_CHUNK_COLUMNS} FROM store_chunks WHERE doc_id = :id ORDER BY seq",
                id=doc_id,
            )
        return [ChunkRecord(**dict(r)) for r in rows]

    def iter_chunk_rows(self, batch: int = 10_000) -> Iterator[tuple]:
        sql = text(f"SELECT {_CHUNK_COLUMNS} FROM store_chunks ORDER BY doc_id, seq")
        with contextlib.ExitStack() as stack:
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = stack.enter_context(self.engine.connect())
            # A server-side cursor: rows arrive ``batch`` at a time, not all at once.
            yield from map(tuple, conn.execution_options(yield_per=batch).execute(sql))

    def iter_chunks(self, batch: int = 10_000) -> Iterator[ChunkRecord]:
        return chunk_records(self.iter_chunk_rows(batch))

    def unit_counts(self, batch: int = 50_000) -> Iterator[tuple[str, int]]:
        sql = text("SELECT chunk_id, count(*) FROM store_units GROUP BY chunk_id")
        with contextlib.ExitStack() as stack:
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = stack.enter_context(self.engine.connect())
            yield from map(tuple, conn.execution_options(yield_per=batch).execute(sql))

    def get_units(self, chunk_ids: list[str]) -> list[UnitRecord]:
        found: list[UnitRecord] = []
        for batch in iter_batches(sorted(set(chunk_ids)), 5000):
            rows = self._rows(
                'SELECT chunk_id, seq, start, "end", embedding AS v FROM store_units '
                "WHERE chunk_id = ANY(:ids) ORDER BY chunk_id, seq",
                ids=list(batch),
            )
            found.extend(
                UnitRecord(
                    chunk_id=r["chunk_id"],
                    seq=r["seq"],
                    start=r["start"],
                    end=r["end"],
                    vector=r["v"].to_numpy().astype(np.float32, copy=False).tobytes(),
                )
                for r in rows
            )
        return found

    def source_index(self) -> dict[str, tuple[str, str]]:
        rows = self._rows("SELECT source_path, doc_id, content_hash FROM store_documents")
        return {r["source_path"]: (r["doc_id"], r["content_hash"]) for r in rows}

    def chunk_ids_with_hash(self, text_hashes: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for batch in iter_batches(list(text_hashes), 5000):
            for r in self._rows(
                "SELECT text_hash, chunk_id FROM store_chunks WHERE text_hash = ANY(:h)",
                h=list(batch),
            ):
                found.setdefault(r["text_hash"], r["chunk_id"])
        return found

    def problems(self) -> list[str]:
        """What the committed state lacks (vectors and terms are columns, never missing)."""
        found = []
        for what, sql in [
            (
                "chunks without sentence units",
                "SELECT count(*) FROM store_chunks c WHERE NOT EXISTS "
                "(SELECT 1 FROM store_units u WHERE u.chunk_id = c.chunk_id)",
            ),
            (
                "documents without chunks",
                "SELECT count(*) FROM store_documents d WHERE NOT EXISTS "
                "(SELECT 1 FROM store_chunks c WHERE c.doc_id = d.doc_id)",
            ),
        ]:
            n = self._rows(sql)[0]["count"]
            if n:
                found.append(f"{n} {what}")
        return found

    # --- search -------------------------------------------------------------------------
    def dense(
        self, vector: Sequence[float], k: int, where: ChunkFilter | None = None
    ) -> list[tuple[str, float]]:
        clauses, params = ["true"], {"v": as_vector(vector), "k": k}
        if where is not None and where.language:
            clauses.append("d.language = :lang")
            params["lang"] = where.language
        if where is not None and where.kinds:
            clauses.append("d.kind = ANY(:kinds)")
            params["kinds"] = list(where.kinds)
        if where is not None and where.doc_ids:
            clauses.append("c.doc_id = ANY(:docs)")
            params["docs"] = list(where.doc_ids)
        join = "" if len(clauses) == 1 else "JOIN store_documents d USING (doc_id)"
        rows = self._dense(join, clauses, params, exact=False)
        if len(clauses) > 1 and len(rows) < k:
            # HNSW filters after its scan: a narrow filter can leave fewer than k of the
            # ef_search candidates. The filtered set is then small: rank all of it exactly.
            rows = self._dense(join, clauses, params, exact=True)
        return [(r[0], float(r[1])) for r in rows]

    def _dense(
        self, join: str, clauses: list[str], params: dict[str, Any], *, exact: bool
    ) -> list[Any]:
        with self.engine.begin() as conn:
            conn.execute(
                text("SELECT set_config('hnsw.ef_search', :ef, true)"),
                {"ef": str(max(_EF_SEARCH, params["k"]))},
            )
            if exact:
                conn.execute(text("SELECT set_config('enable_indexscan', 'off', true)"))
            return conn.execute(
                text(
                    "SELECT c.chunk_id, 1 - (c.embedding <=> CAST(:v AS vector)) AS score "
                    f"FROM store_chunks c {join} WHERE {' AND '.join(clauses)} "
                    "ORDER BY c.embedding <=> CAST(:v AS vector) LIMIT :k"
                ),
                params,
            ).all()

    def dense_units(self, vector: Sequence[float], k: int) -> list[UnitHit]:
        """An exact scan (no index over sentence vectors here; see the module's docstring):
        for checks and tools, not for answering."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                text(
                    'SELECT chunk_id, start, "end", 1 - (embedding <=> CAST(:v AS vector)) '
                    "FROM store_units ORDER BY embedding <=> CAST(:v AS vector) LIMIT :k"
                ),
                {"v": as_vector(vector), "k": k},
            ).all()
        return [UnitHit(r[0], r[1], r[2], float(r[3])) for r in rows]

    def keyword(
        self, query: str, language: str, k: int, allowed: set[str] | None = None
    ) -> list[LexicalHit]:
        lang = index_language(language)
        only = "" if allowed is None else "AND chunk_id = ANY(:allowed)"
        if allowed is not None and not allowed:
            return []
        rows = self._rows(
            "SELECT chunk_id, ts_rank(terms, q) AS score FROM store_chunks, "
            # plainto_tsquery stems and drops stopwords, then ANDs the stems; any one of them
            # should score (as in BM25), so the ANDs become ORs.
            "CAST(replace(CAST(plainto_tsquery(CAST(:cfg AS regconfig), :q) AS text), "
            "' & ', ' | ') AS tsquery) AS q "
            f"WHERE lex_language = :lang AND terms @@ q {only} "
            "ORDER BY score DESC, chunk_id LIMIT :k",
            cfg=_CONFIG[lang],
            q=query,
            lang=lang,
            k=k,
            **({} if allowed is None else {"allowed": sorted(allowed)}),
        )
        return [LexicalHit(r["chunk_id"], float(r["score"])) for r in rows if r["score"] > 0]

    # --- writing ------------------------------------------------------------------------
    @contextlib.contextmanager
    def run(self, on_wait: OnWait | None = None, *, bulk: bool = False) -> Iterator[PostgresRun]:
        with self.engine.connect() as conn, conn.begin():
            got = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _RUN_LOCK})
            if not got.scalar():
                (on_wait or log.warning)(
                    f"waiting for another ingestion run to finish (PostgreSQL advisory lock "
                    f"{_RUN_LOCK:#x} on {make_url(self.url).render_as_string()}) ..."
                )
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _RUN_LOCK})
            run = PostgresRun(self, conn, bulk)
            yield run
            run.commit()

    def close(self) -> None:
        self.engine.dispose()


class PostgresRun:
    """Writes go to the server as they come, inside the run's transaction: nobody sees them
    before ``commit`` (the end of the ``with`` block) moves the generation."""

    def __init__(self, store: PostgresStore, conn: Connection, bulk: bool = False) -> None:
        self.store = store
        self.conn = conn
        self.changed = False
        # None: decided at the first document (``bulk`` asked for); False: row by row.
        self._bulk: bool | None = None if bulk else False

    def _start_bulk_load(self) -> None:
        """On an empty store, drop the chunk HNSW index for this run and build it at commit.
        The drop is part of the run's transaction (undone if the run fails), but it locks
        the chunks table: other connections reading it wait until the run commits. So only
        a run that asks for it (``run(bulk=True)``: loading a new store) does this."""
        if self._bulk is not None:
            return
        empty = self.conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM store_chunks)"))
        self._bulk = bool(empty.scalar())
        if self._bulk:
            self.conn.execute(text("DROP INDEX IF EXISTS store_chunks_embedding"))

    def _exec(self, sql: str, rows: list[dict[str, Any]] | dict[str, Any]) -> None:
        if rows:
            self.conn.execute(text(sql), rows)

    def delete_document(self, doc_id: str) -> None:
        self._exec("DELETE FROM store_documents WHERE doc_id = :id", {"id": doc_id})
        self.changed = True

    def set_meta(self, key: str, value: str) -> None:
        self._set(key, value)
        self.changed = True

    def _set(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO store_meta(key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            {"k": key, "v": value},
        )

    def put_document(
        self,
        doc: DocumentRow,
        sections: Sequence[SectionRecord],
        chunks: Sequence[ChunkRecord],
        units: Sequence[UnitRecord],
    ) -> None:
        for unit in units[:1]:
            dim = len(unit.vector) // 4
            if dim != DIMENSION:
                raise StoreError(
                    f"the PostgreSQL store holds {DIMENSION}-dimensional vectors; the embedding "
                    f"model gives {dim}"
                )
        self._start_bulk_load()
        self._exec(
            "DELETE FROM store_documents WHERE doc_id = :doc_id OR source_path = :source_path",
            {"doc_id": doc["doc_id"], "source_path": doc["source_path"]},
        )
        columns = list(doc)
        self._exec(
            f"INSERT INTO store_documents({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})",
            dict(doc),
        )
        self._exec(
            'INSERT INTO store_sections(doc_id, seq, heading, start, "end", page) '
            "VALUES (:doc_id, :seq, :heading, :start, :end, :page)",
            [{"doc_id": doc["doc_id"], **s.model_dump()} for s in sections],
        )
        body = str(doc["text"])
        pooled = chunk_vectors(units)
        self._exec(
            'INSERT INTO store_chunks(chunk_id, doc_id, seq, start, "end", section, page, '
            "language, tokens, text_hash, lex_language, terms, embedding) VALUES (:chunk_id, "
            ":doc_id, :seq, :start, :end, :section, :page, :language, :tokens, :text_hash, "
            ":lex, to_tsvector(CAST(:cfg AS regconfig), :body), CAST(:v AS vector))",
            [
                {
                    **c.model_dump(),
                    "lex": index_language(c.language),
                    "cfg": _CONFIG[index_language(c.language)],
                    "body": body[c.start : c.end],
                    "v": as_vector(pooled[c.chunk_id]),
                }
                for c in chunks
            ],
        )
        if units:
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(
                'COPY store_units(chunk_id, seq, start, "end", embedding) '
                "FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["text", "int4", "int4", "int4", "vector"])
                for u in units:
                    copy.write_row(
                        (u.chunk_id, u.seq, u.start, u.end, np.frombuffer(u.vector, np.float32))
                    )
        self.changed = True

    def commit(self) -> int | None:
        """Moves the generation (the transaction commits when the run's block ends)."""
        if self._bulk:
            self.conn.execute(text(f"SET LOCAL maintenance_work_mem = '{_BUILD_MEMORY}'"))
            self.conn.execute(text(_CHUNK_HNSW))
            self._bulk = False
        if not self.changed:
            return None
        row = self.conn.execute(
            text("SELECT value FROM store_meta WHERE key = 'generation'")
        ).scalar()
        generation = int(row or 0) + 1
        self._set("generation", str(generation))
        self._set("embedding_model", self.store.model_id)
        self._set("lexical_version", f"tsvector-{LEXICAL_VERSION}")
        return generation
