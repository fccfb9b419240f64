"""The document store seam (ingest.store) on both backends: the embedded store (SQLite records,
embedded Chroma, BM25 folders) and PostgreSQL with pgvector (the session's ``pgserver``, one
fresh database per test). The same tests run on both; PostgreSQL's are skipped, with the
reason, only where the server cannot start.

The documents are the real seed corpus as the Indexer ingested it (``corpus_settings``),
copied into each store with ``copy_store`` (what ``python -m ingest migrate`` will run).
"""

from __future__ import annotations

import doctest
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from test_db import pg_server_url  # noqa: F401 - the session's PostgreSQL (pgserver)

import assistant.store_snapshot
import ingest.store
import ingest.store.base
import ingest.store.copy
import ingest.store.embedded
import ingest.store.postgres
from assistant.document_texts import SnapshotMoved
from ingest.records import UnitRecord
from ingest.settings import PROJECT_ROOT, Settings
from ingest.store import ChunkFilter, DocumentStore, StoreError, open_store
from ingest.store.base import chunk_vectors
from ingest.store.copy import copy_store
from ingest.store.embedded import EmbeddedStore
from ingest.store.postgres import PostgresStore

BACKENDS = ["embedded", "postgresql"]
DA_DOC = "nyhed-kvalitet-botilbud-bostoette-da"
EN_DOC = "sub-initiatives-quality-social-psychiatry-en"
_counter = iter(range(1_000_000))


@pytest.fixture(scope="module")
def source(corpus_settings: Settings) -> EmbeddedStore:
    """The seed corpus as the Indexer stored it (read-only)."""
    return EmbeddedStore(corpus_settings)


@pytest.fixture(scope="module")
def model_id(source: EmbeddedStore) -> str:
    model = source.get_meta("embedding_model")
    assert model
    return model


@pytest.fixture()
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL."""
    root = PostgresStore.url_for(request.getfixturevalue("pg_server_url"))
    name = f"kva_store_{next(_counter)}"
    admin = create_engine(root, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(root).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, model_id: str) -> Iterator[DocumentStore]:
    """An empty store of each backend, opened through the one factory."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    opened = open_store(Settings(data_dir=tmp_path, database_url=url), model_id=model_id)
    assert opened.kind == request.param
    yield opened
    opened.close()


@pytest.fixture()
def seeded(store: DocumentStore, source: EmbeddedStore) -> DocumentStore:
    assert copy_store(source, store) == 1
    return store


def _doc_row(store: DocumentStore, doc_id: str) -> dict[str, object]:
    doc = store.get_document(doc_id)
    assert doc is not None
    row = doc.model_dump(exclude={"chunk_count", "char_count", "translations"})
    row["text"] = store.get_text(doc_id)
    return row


def _commit(
    store: DocumentStore, source: EmbeddedStore, put: list[str], delete: Sequence[str] = ()
) -> int:
    """One run: ``delete``'s documents removed, ``put``'s copied whole from ``source``; the new
    generation."""
    with store.run() as run:
        for doc_id in delete:
            run.delete_document(doc_id)
        for doc_id in put:
            chunks = source.get_chunks(doc_id)
            units = source.get_units([c.chunk_id for c in chunks])
            sections = source.get_sections(doc_id)
            run.put_document(_doc_row(source, doc_id), sections, chunks, units)
    return store.generation()


def _pooled(store: DocumentStore, chunk_id: str) -> list[float]:
    return chunk_vectors(store.get_units([chunk_id]))[chunk_id]


def test_open_store_is_the_one_place_that_chooses(tmp_path: Path) -> None:
    embedded = open_store(Settings(data_dir=tmp_path), model_id="m")
    assert isinstance(embedded, EmbeddedStore) and isinstance(embedded, DocumentStore)
    # A SQLite URL holds the API's own state only; the documents stay embedded.
    sqlite = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/app.sqlite")
    assert open_store(sqlite, model_id="m").kind == "embedded"
    with pytest.raises(StoreError, match="postgresql://"):
        open_store(Settings(data_dir=tmp_path, database_url="mysql://db/kva"), model_id="m")


def test_real_documents_are_stored_whole(seeded: DocumentStore, source: EmbeddedStore) -> None:
    store_id, generation = seeded.state()
    assert store_id and generation == 1 == seeded.generation()
    assert [d.model_dump() for d in seeded.list_documents()] == [
        d.model_dump() for d in source.list_documents()
    ]
    for doc in source.list_documents():
        assert seeded.get_text(doc.doc_id) == source.get_text(doc.doc_id)
        assert seeded.get_sections(doc.doc_id) == source.get_sections(doc.doc_id)
    # Characters, not bytes (the Danish texts have æøå within their first 200).
    assert seeded.get_text_leads(200) == {
        d.doc_id: (source.get_text(d.doc_id) or "")[:200] for d in source.list_documents()
    }
    chunks = source.get_chunks()
    assert seeded.get_chunks() == chunks and len(chunks) >= 3
    # Streamed in batches smaller than the store: the same rows in the same order.
    assert list(seeded.iter_chunks(batch=2)) == chunks
    ids = [c.chunk_id for c in chunks]
    # Vectors come back bit for bit (pgvector stores float32 as we do).
    assert seeded.get_units(ids) == source.get_units(ids)
    assert seeded.source_index() == source.source_index()
    hashes = [c.text_hash for c in chunks]
    assert set(seeded.chunk_ids_with_hash(hashes)) == set(hashes)
    assert seeded.get_document(EN_DOC).translations == []
    assert seeded.get_document(DA_DOC).translations == ["news-quality-housing-support-en"]


def test_the_generation_moves_at_commit_and_a_run_without_changes_commits_nothing(
    store: DocumentStore, source: EmbeddedStore
) -> None:
    assert store.state()[1] == 0 and store.list_documents() == []
    row = _doc_row(source, DA_DOC)
    chunks = source.get_chunks(DA_DOC)
    with store.run() as run:
        run.put_document(
            row, source.get_sections(DA_DOC), chunks, source.get_units([c.chunk_id for c in chunks])
        )
        # Readers (another connection) still see the state before the run.
        assert store.generation() == 0 and store.list_documents() == []
        assert store.keyword("bostøtte", "da", 5) == []
    assert store.generation() == 1
    assert [d.doc_id for d in store.list_documents()] == [DA_DOC]
    store_id = store.state()[0]
    with store.run():
        pass
    assert store.state() == (store_id, 1)


def test_a_killed_run_leaves_the_previous_state(
    seeded: DocumentStore, source: EmbeddedStore
) -> None:
    before = seeded.state()
    docs = seeded.list_documents()
    chunk = source.get_chunks(EN_DOC)[0]
    with pytest.raises(RuntimeError, match="killed"), seeded.run() as run:
        run.delete_document(DA_DOC)
        row = _doc_row(source, EN_DOC) | {"title": "half a run"}
        units = source.get_units([chunk.chunk_id])
        run.put_document(row, [], [chunk], units)
        raise RuntimeError("killed mid-run")
    assert seeded.state() == before
    assert seeded.list_documents() == docs
    assert {h.chunk_id for h in seeded.keyword("bostøtten", "da", 10)} <= {
        c.chunk_id for c in seeded.get_chunks(DA_DOC)
    }
    assert seeded.keyword("bostøtten", "da", 10)
    last = source.get_chunks(EN_DOC)[-1]
    assert seeded.dense(_pooled(source, last.chunk_id), 1)[0][0] == last.chunk_id
    # The next run works normally after it.
    with seeded.run() as run:
        run.delete_document(DA_DOC)
    assert seeded.generation() == before[1] + 1


def test_replace_and_delete_a_document(seeded: DocumentStore, source: EmbeddedStore) -> None:
    chunks = source.get_chunks(EN_DOC)
    assert len(chunks) >= 2
    first, dropped = chunks[0], chunks[1:]
    row = _doc_row(source, EN_DOC) | {"title": "Sub-initiatives (shortened)"}
    with seeded.run() as run:
        run.put_document(row, [], [first], source.get_units([first.chunk_id]))
    doc = seeded.get_document(EN_DOC)
    assert doc is not None and doc.title == "Sub-initiatives (shortened)"
    assert doc.chunk_count == 1 and seeded.get_chunks(EN_DOC) == [first]
    assert seeded.get_units([c.chunk_id for c in dropped]) == []
    for chunk in dropped:
        hits = dict(seeded.dense(_pooled(source, chunk.chunk_id), 10))
        assert chunk.chunk_id not in hits
    with seeded.run() as run:
        run.delete_document(EN_DOC)
    assert seeded.generation() == 3
    assert seeded.get_document(EN_DOC) is None and seeded.get_text(EN_DOC) is None
    assert EN_DOC not in {d.doc_id for d in seeded.list_documents()}
    assert seeded.get_chunks(EN_DOC) == [] and seeded.get_units([first.chunk_id]) == []
    assert first.chunk_id not in dict(seeded.dense(_pooled(source, first.chunk_id), 10))
    assert all(h.chunk_id != first.chunk_id for h in seeded.keyword("initiatives", "en", 10))
    assert len(seeded.list_documents()) == 2


def test_texts_are_read_many_at_a_time_and_checked_against_the_snapshot(
    seeded: DocumentStore, source: EmbeddedStore
) -> None:
    ids = sorted(d.doc_id for d in seeded.list_documents())
    each = {doc_id: seeded.get_text(doc_id) for doc_id in ids}
    assert seeded.get_texts([*ids, "no-such-document"]) == each
    assert seeded.get_texts([]) == {}
    # A snapshot that reads its texts on demand reads a sample two to a read, as its own.
    snap = assistant.store_snapshot.load_server_snapshot(seeded, *seeded.state(), 0)
    assert not snap.texts.preloaded
    assert snap.texts.many(ids, batch=2) == each
    with pytest.raises(KeyError):
        snap.texts.many(["no-such-document"])
    # After a commit that removed a document, the others are still this snapshot's texts and
    # the removed one is refused.
    _commit(seeded, source, [], delete=[EN_DOC])
    assert snap.texts.many([DA_DOC]) == {DA_DOC: each[DA_DOC]}
    with pytest.raises(SnapshotMoved):
        snap.texts.many(ids)


def test_dense_search_finds_the_right_chunk_and_sentence(
    seeded: DocumentStore, source: EmbeddedStore
) -> None:
    for chunk in source.get_chunks():
        hits = seeded.dense(_pooled(source, chunk.chunk_id), 3)
        assert hits[0][0] == chunk.chunk_id and hits[0][1] == pytest.approx(1.0, abs=1e-4)
        assert [h[1] for h in hits] == sorted((h[1] for h in hits), reverse=True)
    units: list[UnitRecord] = source.get_units([c.chunk_id for c in source.get_chunks()])
    for unit in units[:: max(1, len(units) // 10)]:
        best = seeded.dense_units(np.frombuffer(unit.vector, dtype=np.float32), 5)[0]
        assert (best.chunk_id, best.start, best.end) == (unit.chunk_id, unit.start, unit.end)
    # Filters: the document's language, kind, id.
    probe = _pooled(source, source.get_chunks(DA_DOC)[0].chunk_id)
    english = {
        c.chunk_id
        for d in ("news-quality-housing-support-en", EN_DOC)
        for c in source.get_chunks(d)
    }
    hits = seeded.dense(probe, 50, ChunkFilter(language="en"))
    assert hits and {cid for cid, _ in hits} <= english
    hits = seeded.dense(probe, 50, ChunkFilter(kinds=("initiative",)))
    assert {cid for cid, _ in hits} == {c.chunk_id for c in source.get_chunks(EN_DOC)}
    hits = seeded.dense(probe, 50, ChunkFilter(doc_ids=(DA_DOC,), language="da"))
    assert {cid for cid, _ in hits} == {c.chunk_id for c in source.get_chunks(DA_DOC)}


def test_keyword_search_stems_danish_and_english(seeded: DocumentStore) -> None:
    danish = {c.chunk_id: c for c in seeded.get_chunks(DA_DOC)}
    text = seeded.get_text(DA_DOC) or ""
    hits = seeded.keyword("bostøtten", "da", 10)
    assert hits and all(h.chunk_id in danish for h in hits)
    found = [text[danish[h.chunk_id].start : danish[h.chunk_id].end] for h in hits]
    assert any("bostøtte " in t or "bostøtte?" in t or "bostøtte," in t for t in found), found
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.score > 0 for h in hits)
    # Any of the terms scores (not all of them), stopwords alone find nothing.
    assert seeded.keyword("bostøtten zyxwvutq", "da", 10)
    assert seeded.keyword("hvad er det", "da", 10) == []
    english = seeded.keyword("initiatives", "en", 10)
    assert english and {h.chunk_id for h in english} & {
        c.chunk_id for c in seeded.get_chunks(EN_DOC)
    }
    allowed = {english[-1].chunk_id}
    assert [h.chunk_id for h in seeded.keyword("initiatives", "en", 10, allowed)] == [
        english[-1].chunk_id
    ]
    assert seeded.keyword("initiatives", "en", 10, set()) == []


def test_two_concurrent_runs_are_serialised(seeded: DocumentStore) -> None:
    first_in, second_waits = threading.Event(), threading.Event()
    told: list[str] = []
    order: list[str] = []
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with seeded.run() as run:
                first_in.set()
                # Hold the lock until the second run says it is waiting for it.
                assert second_waits.wait(30), "the second run never said it was waiting"
                run.delete_document(DA_DOC)
                order.append("first")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def second() -> None:
        try:
            assert first_in.wait(30)

            def on_wait(message: str) -> None:
                told.append(message)
                second_waits.set()

            with seeded.run(on_wait=on_wait) as run:
                order.append("second")
                assert seeded.get_document(DA_DOC) is None  # it sees the first run's commit
                run.delete_document(EN_DOC)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    # The second run entered after the first had committed (it saw the first's deletion).
    assert order == ["first", "second"]
    assert len(told) == 1 and "waiting for another ingestion run" in told[0]
    assert seeded.generation() == 3
    assert [d.doc_id for d in seeded.list_documents()] == ["news-quality-housing-support-en"]


def test_consistent_reads_come_from_one_commit(seeded: DocumentStore) -> None:
    def delete() -> None:
        with seeded.run() as run:
            run.delete_document(DA_DOC)

    with seeded.consistent():
        before = seeded.state()
        writer = threading.Thread(target=delete)
        writer.start()
        writer.join(60)
        # The commit landed, but reads in the block still see the state they started on.
        assert seeded.state() == before
        assert seeded.get_document(DA_DOC) is not None and seeded.get_text(DA_DOC)
        assert seeded.get_chunks(DA_DOC)
        # A replica's snapshot streams its chunks inside such a block: the same state.
        assert any(c.doc_id == DA_DOC for c in seeded.iter_chunks(batch=1))
    assert seeded.state() == (before[0], before[1] + 1)
    assert all(c.doc_id != DA_DOC for c in seeded.iter_chunks())
    assert seeded.get_document(DA_DOC) is None


def test_a_first_run_builds_the_chunk_index_after_its_rows(
    pg_url: str, model_id: str, source: EmbeddedStore
) -> None:
    """A bulk run (a migration, the million-chunk benchmark) on an empty PostgreSQL store
    drops the chunk vectors' HNSW index and builds it at commit (row by row it cost ~3 ms a
    chunk); a killed one leaves the index as it was, a run on a store with rows never drops
    it, and an ordinary run never does (readers would wait on its lock: the test above reads
    during one)."""
    store = PostgresStore(pg_url, model_id)
    query = (
        "SELECT i.indexdef, x.indisvalid FROM pg_indexes i JOIN pg_class c "
        "ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid "
        "WHERE i.indexname = 'store_chunks_embedding'"
    )

    def index(conn=None) -> list[tuple]:  # noqa: ANN001
        if conn is not None:
            return [tuple(r) for r in conn.execute(text(query))]
        with store.engine.connect() as c:
            return [tuple(r) for r in c.execute(text(query))]

    want = index()
    assert len(want) == 1 and "hnsw" in want[0][0] and want[0][1]
    chunk = source.get_chunks(EN_DOC)[0]
    with store.run() as run:  # an ordinary run on the empty store
        run.put_document(_doc_row(source, EN_DOC), [], [chunk], source.get_units([chunk.chunk_id]))
        assert index(run.conn) == want
    with store.run() as run:
        run.delete_document(EN_DOC)
    assert store.list_documents() == []
    with pytest.raises(RuntimeError, match="killed"), store.run(bulk=True) as run:
        run.put_document(_doc_row(source, EN_DOC), [], [chunk], source.get_units([chunk.chunk_id]))
        assert index(run.conn) == []  # dropped inside the run
        raise RuntimeError("killed mid-run")
    assert index() == want and store.list_documents() == []
    assert copy_store(source, store) == store.generation()
    assert index() == want
    last = source.get_chunks(EN_DOC)[-1]
    assert store.dense(_pooled(source, last.chunk_id), 1)[0][0] == last.chunk_id
    with store.run(bulk=True) as run:
        run.put_document(_doc_row(source, EN_DOC), [], [chunk], source.get_units([chunk.chunk_id]))
        assert index(run.conn) == want  # a store with rows keeps its index
    assert index() == want
    store.close()


def test_postgresql_reopens_with_the_same_id_and_schema(pg_url: str, model_id: str) -> None:
    first = PostgresStore(pg_url, model_id)
    again = PostgresStore(pg_url, model_id)
    assert first.state() == again.state() and first.state()[0]
    with again.engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM store_alembic_version")).scalar()
        assert version == "s0002"
        # Sentence vectors are stored without an HNSW (replicas search them in their own
        # index file); chunk vectors keep theirs for the dense chunk search.
        indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes")).scalars())
        assert "store_chunks_embedding" in indexes
        assert "store_units_embedding" not in indexes
    first.close()
    again.close()


@pytest.mark.parametrize(
    "module",
    [
        ingest.store,
        ingest.store.base,
        ingest.store.copy,
        ingest.store.embedded,
        ingest.store.postgres,
        assistant.store_snapshot,
    ],
)
def test_store_doctests(module: object) -> None:
    failures, _ = doctest.testmod(module)  # type: ignore[arg-type]
    assert failures == 0


# --- the write and read paths on PostgreSQL (KVA_DATABASE_URL) -------------------------------


def test_ingest_and_answers_on_postgresql_match_the_embedded_store(
    pg_url: str,
    tmp_path: Path,
    corpus_settings: Settings,
    assistant,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant import store_snapshot
    from assistant.pipeline import Assistant
    from ingest.pipeline import Indexer

    replica = Settings(data_dir=tmp_path / "replica", database_url=pg_url)
    report = Indexer(replica).run([PROJECT_ROOT / "corpus"])
    assert report.ok and len(report.added) == 3 and report.chunks > 0
    assert Indexer(replica).run([PROJECT_ROOT / "corpus"]).unchanged == sorted(report.added)
    on_pg = Assistant(replica)
    snap = on_pg.reader.snapshot()
    assert snap.generation == 1 and set(snap.documents) == set(report.added)
    # A replica that holds no text reads each document from the database when it needs it,
    # and (as for a large store) keeps its keyword index in its cache, once per generation.
    lazy_settings = Settings(data_dir=tmp_path / "lazy", database_url=pg_url, text_memory_chars=0)
    cache = lazy_settings.data_dir / "cache" / "bm25" / snap.store_id
    with monkeypatch.context() as patch:
        patch.setattr(store_snapshot, "LEXICAL_CACHE_MIN_CHUNKS", 1)
        lazy = Assistant(lazy_settings)
        assert snap.texts.preloaded and not lazy.reader.snapshot().texts.preloaded
        assert [p.name for p in cache.iterdir()] == ["gen-1-v" + store_snapshot.LEXICAL_VERSION]
        saved = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
        again = Assistant(lazy_settings)  # a second start maps the saved index
        assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == saved
        assert again.reader.snapshot().lexical.ids() == set(snap.chunks)
    for question in [
        "Hvad er kvalitet i bostøtten?",
        "Which sub-initiatives improve quality in social psychiatry?",
        "Hvem er statsminister?",
    ]:
        a, b, c = assistant.ask(question), on_pg.ask(question), lazy.ask(question)
        assert (b.answer, b.abstained) == (a.answer, a.abstained) == (c.answer, c.abstained)
        assert [x.model_dump() for x in b.citations] == [x.model_dump() for x in a.citations]
        assert [x.model_dump() for x in c.citations] == [x.model_dump() for x in a.citations]
    assert Indexer(replica).remove(EN_DOC)
    assert EN_DOC not in on_pg.reader.snapshot().documents
    assert on_pg.reader.snapshot().generation == 2
    # The next generation's index joins the cached one, which is kept while a replica may
    # still serve it; the one after replaces the older.
    version = store_snapshot.LEXICAL_VERSION
    with monkeypatch.context() as patch:
        patch.setattr(store_snapshot, "LEXICAL_CACHE_MIN_CHUNKS", 1)
        assert lazy.ask("What is a botilbud?").answer == on_pg.ask("What is a botilbud?").answer
        assert sorted(p.name for p in cache.iterdir()) == [f"gen-1-v{version}", f"gen-2-v{version}"]
        assert Indexer(replica).remove(DA_DOC)
        lazy.ask("What is a botilbud?")
    assert sorted(p.name for p in cache.iterdir()) == [f"gen-2-v{version}", f"gen-3-v{version}"]
    # A replica keeps nothing on its local disk.
    assert not [p for p in replica.data_dir.rglob("*") if p.is_file()]


def test_migrate_copies_the_embedded_store_into_postgresql(
    pg_url: str, corpus_settings: Settings, source: EmbeddedStore, capsys: pytest.CaptureFixture
) -> None:
    from ingest.__main__ import main

    data = ["--data-dir", str(corpus_settings.data_dir)]
    assert main(["migrate", "--to", pg_url, *data]) == 0
    assert "copied 3 documents" in capsys.readouterr().out
    target = PostgresStore(pg_url)
    ids = [c.chunk_id for c in source.get_chunks()]
    assert target.get_chunks() == source.get_chunks()
    assert target.get_units(ids) == source.get_units(ids)
    assert target.get_meta("embedding_model") == source.get_meta("embedding_model")
    assert main(["migrate", "--to", pg_url, *data]) == 0
    assert target.generation() == 2 and len(target.list_documents()) == 3
    target.close()
    assert main(["migrate", "--to", "mysql://nowhere/kva", *data]) == 2
    assert "postgresql" in capsys.readouterr().err.lower()
    assert main(["migrate", "--to", "postgresql://kva@127.0.0.1:1/kva", *data]) == 2
    assert "cannot reach the database" in capsys.readouterr().err


# --- two API replicas on one PostgreSQL store (real servers on loopback) ---------------------

MARKER = "Zebrafinkemetoden"
UPLOAD = f"""# Evaluering af {MARKER}

{MARKER} er en arbejdsform i bostøtten, hvor borgeren selv planlægger ugens aftaler.

Evalueringen af {MARKER} viste, at borgerne oplevede mere indflydelse på deres hverdag.
""".encode()


def test_two_api_replicas_serve_one_postgresql_store(pg_url: str, tmp_path: Path) -> None:
    """Upload through replica A; after the commit replica B lists, shows, finds and cites it;
    a delete through B is gone on A. Each replica has its own (empty) data dir."""
    import time

    from api_fixtures import API_KEY, LogCapture, admin_headers, start_server

    from ingest.pipeline import Indexer

    def replica(name: str) -> Settings:
        return Settings(
            data_dir=tmp_path / name,
            corpus_dir=PROJECT_ROOT / "corpus",
            api_key=API_KEY,
            database_url=pg_url,
        )

    assert Indexer(replica("ingest")).run([PROJECT_ROOT / "corpus"]).ok
    logs = LogCapture()
    one = start_server(replica("a"), logs)
    two = start_server(replica("b"), logs)
    try:
        with one.client() as a, two.client() as b:
            assert b.get("/api/documents").json()["count"] == 3
            files = {"files": ("zebrafinke.md", UPLOAD, "text/markdown")}
            r = a.post("/api/documents", files=files, headers=admin_headers())
            assert r.status_code == 202, r.text
            deadline = time.monotonic() + 120
            while (job := a.get(f"/api/jobs/{r.json()['job_id']}").json())["status"] not in (
                "done",
                "failed",
            ):
                assert time.monotonic() < deadline, job
                time.sleep(0.2)
            assert job["status"] == "done", job
            doc_id = job["report"]["added"][0]
            shown = b.get(f"/api/documents/{doc_id}")
            assert shown.status_code == 200 and MARKER in shown.json()["text"]
            assert b.get("/api/documents").json()["count"] == 4
            hits = b.get("/api/search", params={"q": MARKER}).json()
            assert hits and hits[0]["doc_id"] == doc_id
            answer = b.post("/api/ask", json={"question": f"Hvad viste evalueringen af {MARKER}?"})
            assert answer.status_code == 200
            assert doc_id in {c["doc_id"] for c in answer.json()["citations"]}
            assert b.delete(f"/api/documents/{doc_id}", headers=admin_headers()).status_code == 200
            assert a.get(f"/api/documents/{doc_id}").status_code == 404
            assert a.get("/api/documents").json()["count"] == 3
    finally:
        one.stop()
        two.stop()


def test_the_cli_ingests_checks_and_counts_on_postgresql(
    pg_url: str,
    tmp_path: Path,
    corpus_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """``KVA_DATABASE_URL=postgresql://… python -m ingest corpus/`` (in process: the model
    is loaded once per session), then ``stats`` and ``check`` on the same database."""
    import json

    from ingest.__main__ import main

    monkeypatch.setenv("KVA_DATABASE_URL", pg_url)
    data = ["--data-dir", str(tmp_path / "replica")]
    assert main([str(corpus_copy), *data]) == 0
    out = capsys.readouterr().out
    assert "added 3" in out and "failed 0" in out and "postgresql" in out
    assert main(["stats", "--json", *data]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["store"] == "postgresql" and stats["documents"] == 3 and stats["generation"] == 1
    assert main(["check", *data]) == 0
    assert "generation 1, ok" in capsys.readouterr().out
    with PostgresStore(pg_url).engine.begin() as conn:  # a chunk loses its sentences
        conn.execute(
            text(
                "DELETE FROM store_units WHERE chunk_id = (SELECT min(chunk_id) FROM store_chunks)"
            )
        )
    assert main(["check", "--json", *data]) == 1
    assert json.loads(capsys.readouterr().out)["problems"] == ["1 chunks without sentence units"]
    assert not [p for p in (tmp_path / "replica").rglob("*") if p.is_file()]


def _synthetic(doc_id: str, n: int, rng: np.random.Generator) -> tuple[dict, list, list]:
    """A document of ``n`` one-sentence chunks with random unit vectors."""
    from ingest.records import ChunkRecord

    row = {
        "doc_id": doc_id,
        "source_path": f"synthetic/{doc_id}.txt",
        "content_hash": doc_id,
        "title": doc_id,
        "language": "en",
        "kind": "synthetic",
        "published": None,
        "publisher": None,
        "translation_of": None,
        "page_count": None,
        "text": "".join(f"Sentence {i:05d}. " for i in range(n)),
        "ingested_at": "2026-12-04T00:00:00+00:00",
    }
    chunks, units = [], []
    for i in range(n):
        cid = f"{doc_id}-{i:05d}"
        start, end = 16 * i, 16 * i + 15
        chunks.append(
            ChunkRecord(
                chunk_id=cid,
                doc_id=doc_id,
                seq=i,
                start=start,
                end=end,
                language="en",
                tokens=4,
                text_hash=cid,
            )
        )
        v = rng.standard_normal(384).astype(np.float32)
        units.append(
            UnitRecord(
                chunk_id=cid, seq=0, start=start, end=end, vector=(v / np.linalg.norm(v)).tobytes()
            )
        )
    return row, chunks, units


def test_a_narrow_filter_still_gets_its_nearest_chunks(
    store: DocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,000 chunks and a filter that keeps 3: an index that filters after its scan of the
    nearest few candidates returns none of them (pgvector HNSW did); every backend returns
    all three, nearest first."""
    monkeypatch.setattr(ingest.store.postgres, "_EF_SEARCH", 10)  # as at 10x the scale
    rng = np.random.default_rng(7)
    bulk, tiny = _synthetic("bulk", 2000, rng), _synthetic("tiny", 3, rng)
    with store.run() as run:
        run.put_document(bulk[0], [], bulk[1], bulk[2])
        run.put_document(tiny[0], [], tiny[1], tiny[2])
    probe = rng.standard_normal(384).astype(np.float32)
    probe /= np.linalg.norm(probe)
    expected = sorted(
        tiny[1],
        key=lambda c: -float(np.frombuffer(tiny[2][c.seq].vector, dtype=np.float32) @ probe),
    )
    hits = store.dense(probe, 3, ChunkFilter(doc_ids=("tiny",)))
    assert [cid for cid, _ in hits] == [c.chunk_id for c in expected]
    hits = store.dense(probe, 5, ChunkFilter(kinds=("synthetic",), doc_ids=("tiny", "bulk")))
    assert len(hits) == 5


def test_a_database_that_never_answers_is_an_error_in_seconds_not_a_hang() -> None:
    """A server that accepts the connection and then says nothing (a hung host, a firewall
    that swallows packets) fails the store's connect after its timeout; without one a replica
    would wait for the TCP timeout, minutes."""
    import socket
    import time

    from ingest.store.base import CONNECT_TIMEOUT_S

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(Exception, match="(?i)timeout|timed out"):
            PostgresStore(f"postgresql://kva@127.0.0.1:{port}/kva", "m")
        assert time.monotonic() - started < 6 * CONNECT_TIMEOUT_S


def test_a_small_change_is_indexed_as_a_delta_on_the_last_full_index(
    store: DocumentStore, source: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generation that adds or removes a document of a large store writes only the rows it
    changed on top of the last full sentence index (at commit, embedded; in a replica's cache
    from the database, PostgreSQL), and a replica searching it finds what the exhaustive
    search over the whole generation finds. A change too large for a delta writes it whole."""
    from assistant import store_snapshot
    from assistant.sentence_index import LayeredSentenceIndex, MappedSentenceIndex, SentenceIndex
    from assistant.store_reader import StoreReader
    from ingest import lexical_delta
    from ingest.check import check_store, repair_store
    from ingest.embeddings import make_embeddings
    from ingest.lexical import LexicalIndex, tokenize
    from ingest.store import sentence_file

    # The seed corpus indexed as a large store is (an inverted file; all of it probed here),
    # and a PostgreSQL replica's keyword index kept in its cache and layered as a large one's.
    monkeypatch.setattr(sentence_file, "IVF_MIN_ROWS", 0)
    monkeypatch.setattr(store_snapshot, "LEXICAL_CACHE_MIN_CHUNKS", 1)
    monkeypatch.setattr(lexical_delta, "DELTA_MAX_SHARE", 10.0)
    monkeypatch.setattr(lexical_delta, "DELTA_MIN_BASE_CHUNKS", 0)
    docs = sorted(d.doc_id for d in source.list_documents())
    assert len(docs) == 3

    reader = StoreReader(store.settings)
    emb = make_embeddings(store.settings)
    questions = [
        "Hvad er kvalitet i bostøtten?",
        "What is the quality of housing support?",
        "Which sub-initiatives improve quality in social psychiatry?",
        "Hvordan inddrages borgerens pårørende?",
    ]
    vectors = [np.asarray(emb.embed_query(q), dtype=np.float32) for q in questions]

    def indexed() -> tuple[SentenceIndex, SentenceIndex]:
        snap = reader.snapshot()
        index = SentenceIndex.from_snapshot(snap)
        saved = snap.sentence_dir, snap.sentence_cache
        snap.sentence_dir = snap.sentence_cache = None  # read whole from the records
        try:
            exact = SentenceIndex.from_snapshot(snap)
        finally:
            snap.sentence_dir, snap.sentence_cache = saved
        assert type(exact) is SentenceIndex and len(exact)
        def same(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
            # The same rows, multiplied in other batches: cosines agree to float32 rounding.
            assert [c for c, _ in got] == [c for c, _ in want]
            assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)

        for vector in vectors:
            same(index.best_chunks(vector, 24), exact.best_chunks(vector, 24))
            stats = exact.language_stats(exact.similarities(vector))
            got = index.best_chunks(vector, 24, stats=stats)
            same(got, exact.best_chunks(vector, 24, stats=stats))
            kept = [c for c, _ in got[:8]] + ["not-a-chunk"]
            assert index.rank_chunks(kept, index.similarities(vector)) == exact.rank_chunks(
                kept, exact.similarities(vector)
            )
        for chunk_id in snap.chunks:
            assert [(s, e) for s, e, _ in index.units(chunk_id)] == [
                (s, e) for s, e, _ in exact.units(chunk_id)
            ]
        return index, exact

    def keyword_index(layered: bool):  # noqa: ANN202
        snap = reader.snapshot()
        lexical = snap.lexical
        kind = lexical_delta.LayeredLexicalIndex if layered else LexicalIndex
        assert isinstance(lexical, kind) and lexical.ids() == set(snap.chunks)
        if store.kind == "embedded":  # the commit wrote it, and the store check vouches for it
            assert check_store(store.settings).ok
        return lexical

    _commit(store, source, [docs[0], docs[1]])
    full, _ = indexed()
    assert type(full) is MappedSentenceIndex
    keyword_index(layered=False)
    base = full.folder.name

    _commit(store, source, [docs[2]])  # one document added
    added, _ = indexed()
    assert isinstance(added, LayeredSentenceIndex) and added.base.folder.name == base
    assert set(added.delta._rows) == {c.chunk_id for c in source.get_chunks(docs[2])}
    keyword_index(layered=True)
    # Vectors of another embedding model are never layered on these (a rebuild for a new
    # model keeps every chunk id).
    model = store.get_meta("embedding_model")
    root = added.base.folder.parent
    assert sentence_file.plan_delta(root, base, store.unit_counts, model) is not None
    assert sentence_file.plan_delta(root, base, store.unit_counts, "another/model") is None

    with store.run() as run:  # one document removed: its rows stay in the base, hidden
        run.delete_document(docs[0])
    removed, exact = indexed()
    assert isinstance(removed, LayeredSentenceIndex) and removed.base.folder.name == base
    gone = {c.chunk_id for c in source.get_chunks(docs[0])}
    for vector in vectors:
        assert not gone & {c for c, _ in removed.best_chunks(vector, 200)}
        assert not gone & set(removed.chunk_scores(sorted(gone), removed.similarities(vector)))
    assert all(not list(removed.units(c)) for c in gone)
    lexical = keyword_index(layered=True)
    for question in questions:
        for lang in ("da", "en"):
            hits = lexical.search(tokenize(question, lang), lang, 100)
            assert not gone & {h.chunk_id for h in hits}
    kept = {p.name for p in root.iterdir()}
    assert base in kept  # the sweep kept what the delta is on

    monkeypatch.setattr(sentence_file, "DELTA_MAX_ROWS", 0)  # too large a change
    _commit(store, source, [docs[0]])
    whole, _ = indexed()
    assert type(whole) is MappedSentenceIndex and whole.folder.name != base
    # A commit, and a replica's cache, keep the one before too (readers may still be on it:
    # a replica preparing this one, another replica sharing the folder), with the folder that
    # one is written on.
    left = {p.name for p in root.iterdir()}
    before = {name for name in kept if name.startswith("gen-3-")}
    assert len(before) == 1 and left == {whole.folder.name} | before | {base}
    keyword_index(layered=True)
    if store.kind == "embedded":
        # A keyword delta whose base is gone fails the store check; the repair writes the
        # keyword index whole again.
        bm25 = store.settings.bm25_dir
        layer = lexical_delta.base_of(bm25 / (store.get_meta("bm25_dir") or ""))
        assert layer is not None
        (bm25 / layer).rename(bm25 / "moved-away")
        found = check_store(store.settings)
        assert [p.index for p in found.problems] == ["bm25"], found.problems
        assert repair_store(store.settings).ok
        keyword_index(layered=False)
        assert sorted(p.name for p in bm25.iterdir()) == [store.get_meta("bm25_dir")]


def test_an_index_folder_that_is_a_file_is_refused_and_an_empty_one_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    afile = tmp_path / "a-file"
    afile.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("KVA_INDEX_FOLDER", str(afile))
    with pytest.raises(ValueError, match="is a file, not a folder"):
        Settings(data_dir=tmp_path)
    monkeypatch.setenv("KVA_INDEX_FOLDER", "")
    assert Settings(data_dir=tmp_path).index_dir == tmp_path.resolve() / "cache"
    monkeypatch.setenv("KVA_INDEX_FOLDER", str(tmp_path / "shared"))
    assert Settings(data_dir=tmp_path).index_dir == tmp_path.resolve() / "shared"


def test_replicas_sharing_an_index_folder_build_each_generation_once(
    store: DocumentStore, source: EmbeddedStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#24: a replica that joins maps the sentence and keyword indexes another replica built
    into the shared ``KVA_INDEX_FOLDER`` (at a million chunks, 861 s to build from the
    database) instead of building its own; its own data dir gets none."""
    if isinstance(store, EmbeddedStore):
        pytest.skip("an embedded store's indexes are written at commit, under its data dir")
    from assistant import store_snapshot
    from assistant.sentence_index import SentenceIndex
    from assistant.store_reader import StoreReader
    from ingest.store import sentence_file

    monkeypatch.setattr(sentence_file, "IVF_MIN_ROWS", 0)
    monkeypatch.setattr(store_snapshot, "LEXICAL_CACHE_MIN_CHUNKS", 1)
    shared = tmp_path / "shared-indexes"
    _commit(store, source, [DA_DOC, EN_DOC])

    def replica(name: str) -> tuple[SentenceIndex, object]:
        settings = store.settings.model_copy(
            update={"data_dir": tmp_path / name, "index_folder": shared}
        )
        snap = StoreReader(settings).snapshot()
        return SentenceIndex.from_snapshot(snap), snap.lexical

    def written() -> dict[str, float]:
        return {str(p): p.stat().st_mtime for p in shared.rglob("*") if p.is_dir()}

    first, _ = replica("a")
    built = written()
    assert any("/sentences/" in p for p in built) and any("/bm25/" in p for p in built)
    joined, lexical = replica("b")
    assert written() == built  # nothing written again
    assert joined.folder == first.folder
    assert lexical.ids() == {c.chunk_id for c in store.get_chunks()}
    assert not (tmp_path / "b" / "cache").exists()


def test_a_large_stores_replica_answers_on_while_it_prepares_the_next_generation(
    store: DocumentStore, source: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#24: a replica of a large server store prepares a new generation beside the one it
    serves (about 35 s at a million chunks, which every question waited), answering meanwhile
    from its snapshot: an upload leaves every text it has as it was, so they are read on, and
    the database's newer chunks are not served; then it switches by itself. A document a
    commit removed is refused, and the question that needs it waits for the new generation."""
    if isinstance(store, EmbeddedStore):
        pytest.skip("an embedded reader's files are the commit: it switches at once")
    from assistant import store_reader
    from assistant.document_texts import SnapshotMoved
    from assistant.pipeline import Assistant

    monkeypatch.setattr(store_reader, "PREPARE_BESIDE_MIN_CHUNKS", 1)
    third = next(d.doc_id for d in source.list_documents() if d.doc_id not in (DA_DOC, EN_DOC))

    usual = sys.getswitchinterval()
    first = _commit(store, source, [DA_DOC, EN_DOC])
    # No text held in memory: every one is read from the database when a question needs it.
    assistant = Assistant(store.settings.model_copy(update={"text_memory_chars": 0}))
    old = assistant.reader.snapshot()
    assert old.generation == first
    gate, preparing = threading.Event(), threading.Event()
    intervals: list[float] = []

    def held(_snap: object) -> None:
        intervals.append(sys.getswitchinterval())
        preparing.set()
        assert gate.wait(120)

    assistant.reader.warmers.insert(0, held)
    danish = "Hvad er kvalitet på botilbud og i bostøtten?"
    before = assistant.ask(danish)
    assert not before.abstained and before.citations

    # An upload: the replica answers from its generation while it prepares the next.
    second = _commit(store, source, [third])
    assert second == first + 1
    assert assistant.reader.snapshot() is old
    assert preparing.wait(120)
    during = assistant.ask(danish)
    assert during.answer == before.answer
    assert [(c.doc_id, c.start, c.end) for c in during.citations] == [
        (c.doc_id, c.start, c.end) for c in before.citations
    ]
    assert assistant.reader.snapshot() is old
    # The database already holds the third document's chunks; the old snapshot never names them.
    vector = assistant.embeddings.embed_query(source.get_text(third)[:300])
    hits = old.dense(vector, 50)
    assert hits and all(cid in old.chunks for cid, _ in hits)
    assert not any(c.chunk_id in old.chunks for c in source.get_chunks(third))
    gate.set()
    assistant.reader.settle()
    new = assistant.reader.snapshot()
    assert new.generation == second and set(new.documents) == {DA_DOC, EN_DOC, third}
    # While it prepared, the interpreter handed its lock back to questions sooner; after, as
    # before.
    assert intervals[0] < usual and sys.getswitchinterval() == usual
    # Prepared before it was served: its first question reads nothing more for the dense
    # ranking's language background.
    assert new._background is not None and set(new._background) == {"da", "en"}

    # A removal: the removed document's text is refused to the old snapshot, and a question
    # that needs it waits for the new generation and is answered from it.
    gate.clear()
    preparing.clear()
    assistant.ask("Which sub-initiatives improve quality in social psychiatry?")
    third_generation = _commit(store, source, [], delete=[EN_DOC])
    assert assistant.reader.snapshot() is new
    assert preparing.wait(120)
    assert new.texts[DA_DOC] == source.get_text(DA_DOC)
    with pytest.raises(SnapshotMoved):
        new.texts[EN_DOC]
    threading.Timer(1.0, gate.set).start()
    english = assistant.ask("Which sub-initiatives improve quality in social psychiatry?")
    now = assistant.reader.snapshot()
    assert now.generation == third_generation and set(now.documents) == {DA_DOC, third}
    assert EN_DOC not in {c.doc_id for c in english.citations}

    # A preparation that fails: the replica answers on from its generation, says why (what
    # /readyz shows), and the next question tries again.
    def broken(_snap: object) -> None:
        raise RuntimeError("no space left on device")

    assistant.reader.warmers.insert(0, broken)
    fourth = _commit(store, source, [EN_DOC])
    assert assistant.reader.snapshot() is now
    assistant.reader.settle()
    serving = assistant.reader.serving()
    assert serving["generation"] == third_generation and serving["preparing"] is False
    assert str(serving["error"]).endswith("no space left on device")
    assert not assistant.ask(danish).abstained
    assistant.reader.warmers.remove(broken)
    assistant.reader.settle()
    assistant.reader.snapshot()
    assistant.reader.settle()
    assert assistant.reader.snapshot().generation == fourth
    assert "error" not in assistant.reader.serving()
