"""What a replica of a large store holds: the chunk table (the same records as a dict of
them, a clear error for rows it cannot hold) and document texts read on demand (the same
answers, and a question asked again when ingestion commits under it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.chunk_table import ChunkTable
from assistant.document_texts import SnapshotMoved
from assistant.pipeline import Assistant
from ingest.pipeline import Indexer
from ingest.records import ChunkRecord
from ingest.settings import PROJECT_ROOT, Settings


def _chunk(doc_id: str, seq: int, **fields: object) -> ChunkRecord:
    values: dict = {
        "chunk_id": f"{doc_id}:{seq}",
        "doc_id": doc_id,
        "seq": seq,
        "start": 100 * seq,
        "end": 100 * seq + 99,
        "section": f"Afsnit {seq % 2}" if seq % 3 else None,
        "page": seq if seq % 2 else None,
        "language": "da" if doc_id < "m" else "en",
        "tokens": 20 + seq,
        "text_hash": f"{seq:064x}",
    }
    return ChunkRecord(**(values | fields))


def test_a_table_gives_back_every_record_of_the_store(corpus_settings: Settings) -> None:
    from ingest.records import Records

    records = Records(corpus_settings.records_path).get_chunks()
    table = ChunkTable.build(iter(records), batch=7)
    assert len(table) == len(records) > 10
    assert list(table) == [c.chunk_id for c in records]
    assert [table[c.chunk_id] for c in records] == records
    assert all(table.doc_id(c.chunk_id) == c.doc_id for c in records)
    assert all(table.language(c.chunk_id) == c.language for c in records)
    for doc_id in {c.doc_id for c in records}:
        mine = [c for c in records if c.doc_id == doc_id]
        assert table.of_document(doc_id) == [c.chunk_id for c in mine]
        around = table.neighbours()
        for i, c in enumerate(mine):
            before = mine[i - 1].chunk_id if i else None
            after = mine[i + 1].chunk_id if i + 1 < len(mine) else None
            assert around[c.chunk_id] == (before, after)
    assert table.of_document("no-such-doc") == [] and "no-such-chunk" not in table
    with pytest.raises(KeyError):
        table["no-such-chunk"]


def test_every_field_survives_including_none_and_odd_hashes() -> None:
    rows = [_chunk("a", i) for i in range(5)] + [
        _chunk("b", 0, text_hash="ff" * 32),  # a digest whose first byte is the tag's range
        _chunk("b", 1, text_hash="00" * 32),  # trailing zero bytes
        _chunk("b", 2, text_hash="short", section="", page=0),
        _chunk("b", 3, text_hash="00ff" * 4),  # an md5-sized digest
        _chunk("b", 4, text_hash="x" * 70),  # longer than a digest: kept whole
        _chunk("b", 5, text_hash="ABCD"),  # hex, but not as bytes.hex() writes it
    ]
    table = ChunkTable.build(rows, batch=3)
    assert [table[r.chunk_id].model_dump() for r in rows] == [r.model_dump() for r in rows]
    assert table.nbytes() < 100 * len(rows)


def test_rows_the_table_cannot_hold_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        ChunkTable.build([_chunk("a", 0), _chunk("a", 0)])
    with pytest.raises(ValueError, match="order of their seq"):
        ChunkTable.build([_chunk("a", 1), _chunk("a", 0, chunk_id="a:x")])
    with pytest.raises(ValueError, match="not contiguous"):
        ChunkTable.build([_chunk("a", 0), _chunk("b", 0), _chunk("a", 1)])


@pytest.fixture()
def lazy_store(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    shutil.copytree(PROJECT_ROOT / "corpus", corpus)
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, text_memory_chars=0)
    assert Indexer(settings).run([corpus]).ok
    return settings


def _change_a_document(settings: Settings) -> str:
    """Rewrites one corpus file and ingests it: a new generation with a replaced text."""
    path = settings.corpus_dir / "001_5b92f40e6654ad7d.txt"
    path.write_text("Ny udgave. Bostøtte gives efter servicelovens § 85.\n\n" + path.read_text())
    report = Indexer(settings).run([settings.corpus_dir])
    assert report.ok and report.updated, report
    return report.updated[0]


def test_texts_read_on_demand_give_the_same_answers(
    lazy_store: Settings,
    assistant,  # noqa: ANN001 - the session's assistant over the same corpus, texts in memory
) -> None:
    lazy = Assistant(lazy_store)
    snap = lazy.reader.snapshot()
    assert not snap.texts.preloaded and assistant.reader.snapshot().texts.preloaded
    for question in ["Hvad er kvalitet i bostøtten?", "What is a botilbud?", "Hvad er § 85?"]:
        a, b = assistant.ask(question), lazy.ask(question)
        assert (b.answer, b.abstained) == (a.answer, a.abstained)
        assert [c.model_dump() for c in b.citations] == [c.model_dump() for c in a.citations]
    assert set(snap.texts) == set(snap.documents) and "no-such-doc" not in snap.texts
    with pytest.raises(KeyError):
        snap.texts["no-such-doc"]


def test_a_text_read_after_a_commit_is_refused_and_the_question_asked_again(
    lazy_store: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    lazy = Assistant(lazy_store)
    old = lazy.reader.snapshot()
    # The budget keeps one text at most: the others are read again when asked for.
    cached = set(old.texts._cache)
    changed = _change_a_document(lazy_store)
    other = next(d for d in old.documents if d not in cached)
    with pytest.raises(SnapshotMoved):
        old.texts[other]
    assert lazy.reader.snapshot().generation == old.generation + 1

    # A commit that lands while a question is being answered: the question is asked again
    # on the new snapshot, and its citations are exact spans of the new texts.
    snap = lazy.reader.snapshot()
    read = snap.texts._read
    commits = []

    def read_then_commit(doc_id: str) -> str | None:
        if not commits:
            commits.append(_change_a_document(lazy_store))
        return read(doc_id)

    snap.texts._cache.clear()
    snap.texts._read = read_then_commit  # type: ignore[method-assign]
    with caplog.at_level("INFO", logger="kva.assistant"):
        answer = lazy.ask("Hvad er kvalitet i bostøtten?")
    assert "asking again" in caplog.text
    assert commits and lazy.reader.snapshot().generation == snap.generation + 1
    assert answer.citations and not answer.abstained
    now = lazy.reader.snapshot()
    for c in answer.citations:
        assert now.texts[c.doc_id][c.start : c.end] == c.quote
    assert changed in now.documents


def test_a_large_store_is_served_first_and_its_chunks_checked_after(
    lazy_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from assistant import store_reader

    monkeypatch.setattr(store_reader, "CHECK_LATER_CHUNKS", 0)
    reader = store_reader.StoreReader(lazy_store)
    healthy = reader.snapshot()
    assert healthy.large and healthy.chunk_count > 0
    # A generation committed while that check runs is checked after it, not skipped: one of
    # its chunks loses its sentence vectors before the replica loads it.
    _change_a_document(lazy_store)
    with sqlite3.connect(lazy_store.records_path) as db:
        victim = db.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id LIMIT 1").fetchone()[0]
        db.execute("DELETE FROM units WHERE chunk_id = ?", (victim,))
    newer = reader.snapshot()
    assert newer is not healthy and newer.large
    assert healthy.checked.wait(120) and healthy.problem is None
    assert newer.checked.wait(120)
    assert reader.problem() is not None and "miss sentence vectors" in reader.problem()


def test_a_large_store_without_its_vector_index_answers_from_the_other_rankings(
    corpus_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant import retriever
    from assistant.store_reader import Snapshot

    assistant = Assistant(corpus_settings)
    snap = assistant.reader.snapshot()
    monkeypatch.setattr(snap, "vectors", None)  # as after a failed check or two failed queries
    monkeypatch.setattr(retriever, "EXACT_DENSE_MAX_CHUNKS", 0)

    def no_scan(*_: object) -> None:
        raise AssertionError("a large store's chunk vectors are not pooled at question time")

    monkeypatch.setattr(Snapshot, "scan_dense", no_scan)
    answer = assistant.ask("Hvad er kvalitet i bostøtten?")
    assert answer.degraded == ["vector_index"] and answer.citations and not answer.abstained


def test_a_snapshot_cache_keeps_two_snapshots_and_forgets_one_no_longer_held() -> None:
    """A replica builds the next generation's sentence index and source cards while it still
    answers from the last one: both stay cached; a snapshot nobody holds any more is dropped
    (a million-chunk one holds hundreds of MB)."""
    import gc
    import weakref

    from assistant.store_reader import Snapshot, SnapshotCache

    built: list[int] = []

    def build(snap: Snapshot) -> int:
        built.append(snap.generation)
        return snap.generation * 10

    cache = SnapshotCache(build)
    one, two = Snapshot(generation=1), Snapshot(generation=2)
    assert (cache.get(one), cache.get(two), cache.get(one), cache.get(two)) == (10, 20, 10, 20)
    assert built == [1, 2]
    gone = weakref.ref(one)
    del one
    gc.collect()
    assert gone() is None
    three = Snapshot(generation=3)
    assert (cache.get(three), cache.get(two), cache.get(three)) == (30, 20, 30)
    assert built == [1, 2, 3]
