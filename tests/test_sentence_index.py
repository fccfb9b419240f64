"""The sentence index written at ingest (``ingest.store.sentence_file``) and read by replicas
(``assistant.sentence_index``): built before the commit, named by the committed meta, read
again after a restart, never read half-written, and ranking like the exhaustive search."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from assistant.sentence_index import MappedSentenceIndex, SentenceIndex
from assistant.store_reader import StoreReader
from ingest.embeddings import make_embeddings
from ingest.records import Records
from ingest.settings import Settings
from ingest.store.copy import copy_store
from ingest.store.embedded import EmbeddedStore
from ingest.store.sentence_file import META_KEY, read_meta, sqlite_batches, write_sentence_file

QUESTIONS = [
    "Hvad er kvalitet i bostøtten?",
    "Hvilke delinitiativer er der i socialpsykiatrien?",
    "What is the quality of housing support?",
    "Which sub-initiatives improve quality in social psychiatry?",
    "Hvordan inddrages borgerens pårørende?",
    "How is recovery-oriented practice described?",
]


def _from_records(snap) -> SentenceIndex:  # noqa: ANN001
    snap.sentence_dir, folder = None, snap.sentence_dir
    try:
        return SentenceIndex.from_snapshot(snap)
    finally:
        snap.sentence_dir = folder


def test_the_index_is_written_at_ingest_and_read_after_a_restart(corpus_settings: Settings):
    name = Records(corpus_settings.records_path).get_meta(META_KEY)
    folder = corpus_settings.store_dir / "sentences" / name
    assert name.startswith("gen-1-") and read_meta(folder)["rows"] > 0
    before = sorted(p.name for p in folder.parent.iterdir())
    snap = StoreReader(corpus_settings).snapshot()  # a replica starting on the store
    assert snap.sentence_dir == folder
    index = SentenceIndex.from_snapshot(snap)
    rebuilt = _from_records(snap)
    assert np.array_equal(index.vectors, rebuilt.vectors)
    assert list(index.chunk_ids) == list(rebuilt.chunk_ids)
    assert index.neighbours == rebuilt.neighbours
    chunk = next(iter(snap.chunks))
    spans = [(s, e) for s, e, _ in index.units(chunk)]
    assert spans == [(s, e) for s, e, _ in rebuilt.units(chunk)]
    # Reading made nothing new: the start maps what ingestion wrote.
    assert sorted(p.name for p in folder.parent.iterdir()) == before


def test_the_inverted_file_ranks_the_seed_corpus_as_the_exhaustive_search(
    corpus_settings: Settings, tmp_path: Path
):
    snap = StoreReader(corpus_settings).snapshot()
    exact = _from_records(snap)
    with sqlite3.connect(corpus_settings.records_path) as conn:
        name = write_sentence_file(tmp_path, 1, sqlite_batches(conn), ivf_min_rows=0)
    mapped = SentenceIndex.from_folder(tmp_path / name, exact.neighbours)
    assert isinstance(mapped, MappedSentenceIndex)
    emb = make_embeddings(corpus_settings)
    for question in QUESTIONS:
        vector = np.asarray(emb.embed_query(question), dtype=np.float32)
        assert mapped.best_chunks(vector, 24) == exact.best_chunks(vector, 24)
        stats = exact.language_stats(exact.similarities(vector))
        assert mapped.best_chunks(vector, 24, stats=stats) == exact.best_chunks(
            vector, 24, stats=stats
        )
        chunks = [c for c, _ in exact.best_chunks(vector, 10)]
        assert mapped.rank_chunks(chunks, mapped.similarities(vector)) == exact.rank_chunks(
            chunks, exact.similarities(vector)
        )
        # The sample is every row at this size: the backgrounds are the exhaustive ones.
        got = mapped.language_stats(mapped.similarities(vector))
        want = exact.language_stats(exact.similarities(vector))
        assert got.keys() == want.keys()
        for lang in want:
            assert got[lang] == pytest.approx(want[lang], abs=1e-6)


def test_the_inverted_file_finds_what_the_exhaustive_search_finds(tmp_path: Path):
    """20,000 clustered rows, 141 clusters of which a question probes 16: the best chunks
    are those of the exhaustive search (the re-score is exact)."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((60, 64)).astype(np.float32)
    rows = centres[rng.integers(0, 60, 20_000)] + 0.15 * rng.standard_normal((20_000, 64))
    rows = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    ids = [f"c{i // 4:05d}" for i in range(20_000)]
    batch = (ids, list(range(20_000)), list(range(1, 20_001)), rows, ["da", "en"] * 10_000)
    name = write_sentence_file(tmp_path, 3, [batch], ivf_min_rows=0)
    mapped = SentenceIndex.from_folder(tmp_path / name)
    exact = SentenceIndex(ids, batch[1], batch[2], rows, None, batch[4])
    mapped.probe = 16
    assert len(mapped.centroids) == 141
    for query in rows[rng.integers(0, 20_000, 20)]:
        assert mapped.best_chunks(query, 10) == exact.best_chunks(query, 10)
        allowed = {f"c{i:05d}" for i in range(0, 5000, 7)}
        stats = exact.language_stats(exact.similarities(query))
        # A filter this narrow (2,860 rows) is scored row by row ...
        assert mapped.best_chunks(query, 5, allowed) == exact.best_chunks(query, 5, allowed)
        assert mapped.best_chunks(query, 5, allowed, stats=stats) == exact.best_chunks(
            query, 5, allowed, stats=stats
        )
        # ... and through the inverted file where it allows more rows than a first probe.
        mapped.PROBE_ROWS = 1_000
        assert mapped.best_chunks(query, 5, allowed) == exact.best_chunks(query, 5, allowed)
        del mapped.PROBE_ROWS


def test_a_half_written_index_is_never_read(corpus_settings: Settings, tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "copy")
    store = EmbeddedStore(settings, model_id=make_embeddings(corpus_settings).model_id)
    copy_store(EmbeddedStore(corpus_settings), store)
    root = settings.store_dir / "sentences"
    committed = store.get_meta(META_KEY)

    def dies(conn):  # noqa: ANN001, ANN202
        yield from sqlite_batches(conn, size=10)
        raise KeyboardInterrupt  # killed while writing

    with sqlite3.connect(settings.records_path) as conn, pytest.raises(KeyboardInterrupt):
        write_sentence_file(root, 2, dies(conn))
    # Only the committed folder is complete; the killed one never got its name.
    assert [p.name for p in root.iterdir() if not p.name.startswith("tmp-")] == [committed]
    reader = StoreReader(settings)
    snap = reader.snapshot()
    assert snap.sentence_dir == root / committed
    # A committed folder damaged since (truncated vectors) is refused: the records answer.
    vectors = root / committed / "vectors.f32"
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(ValueError, match="vectors.f32"):
        read_meta(root / committed)
    index = SentenceIndex.from_snapshot(snap)
    assert np.array_equal(index.vectors, _from_records(snap).vectors)
    # The next commit writes a new folder and sweeps what nothing reads any more.
    with store.run() as run:
        run.delete_document(next(iter(snap.documents)))
    name = store.get_meta(META_KEY)
    assert name.startswith("gen-2-")
    assert sorted(p.name for p in root.iterdir()) == sorted({committed, name})
    snap = reader.snapshot()
    assert snap.generation == 2 and snap.sentence_dir == root / name
    assert len(SentenceIndex.from_snapshot(snap)) == read_meta(root / name)["rows"]


def test_term_weights_are_read_off_the_keyword_index(corpus_settings: Settings):
    """A replica's term weights come from the saved BM25 index's columns, equal to the ones
    from tokenizing every chunk again."""
    from assistant.store_reader import _idf
    from ingest.lexical import LexicalIndex

    snap = StoreReader(corpus_settings).snapshot()
    lexical, snap.lexical = snap.lexical, LexicalIndex({})
    try:
        assert _idf(snap) == snap.idf and snap.idf["da"] and snap.idf["en"]
    finally:
        snap.lexical = lexical


def test_a_delta_on_an_inverted_file_finds_what_the_exhaustive_search_finds(tmp_path: Path):
    """20,000 clustered rows in a full index (16 of 141 clusters probed), then a generation
    that removes 500 chunks and adds 500 others, written as a delta: the layered index's
    best chunks are the exhaustive search's over the new generation, and a generation that
    only removes chunks (an empty delta) works too."""
    from assistant.sentence_index import LayeredSentenceIndex
    from ingest.store.sentence_file import Delta

    rng = np.random.default_rng(11)
    centres = rng.standard_normal((60, 64)).astype(np.float32)

    def rows(n: int) -> np.ndarray:
        made = centres[rng.integers(0, 60, n)] + 0.15 * rng.standard_normal((n, 64))
        return (made / np.linalg.norm(made, axis=1, keepdims=True)).astype(np.float32)

    def language(chunk_id: str) -> str:  # every sentence of a chunk is in its language
        return "da" if int(chunk_id[1:]) % 2 == 0 else "en"

    def batch(ids: list[str], vectors: np.ndarray):  # noqa: ANN202
        n = len(ids)
        return (ids, list(range(n)), list(range(1, n + 1)), vectors, [language(c) for c in ids])

    old_ids = [f"c{i // 4:05d}" for i in range(20_000)]
    old = rows(20_000)
    base = write_sentence_file(tmp_path, 1, [batch(old_ids, old)], ivf_min_rows=0)
    removed = {f"c{i:05d}" for i in range(0, 5000, 10)}
    new_ids = [f"n{i // 4:05d}" for i in range(2_000)]
    new = rows(2_000)
    delta = Delta(base=base, changed=sorted(set(new_ids)), dead=sorted(removed))
    name = write_sentence_file(tmp_path, 2, [batch(new_ids, new)], delta=delta)
    layered = SentenceIndex.from_folder(tmp_path / name)
    assert isinstance(layered, LayeredSentenceIndex)
    layered.base.probe = 16
    keep = [i for i, c in enumerate(old_ids) if c not in removed]
    ids = [old_ids[i] for i in keep] + new_ids
    ids_, starts, ends, vectors, languages = batch(ids, np.concatenate([old[keep], new]))
    exact = SentenceIndex(ids_, starts, ends, vectors, None, languages)
    for query in np.concatenate([old[rng.integers(0, 20_000, 10)], new[:10]]):
        stats = exact.language_stats(exact.similarities(query))
        for got, want in (
            (layered.best_chunks(query, 10), exact.best_chunks(query, 10)),
            (
                layered.best_chunks(query, 10, stats=stats),
                exact.best_chunks(query, 10, stats=stats),
            ),
        ):
            assert [c for c, _ in got] == [c for c, _ in want]
            assert not removed & {c for c, _ in got}
    # Removals alone: an empty delta hides them.
    name = write_sentence_file(
        tmp_path, 3, [], delta=Delta(base=base, changed=[], dead=sorted(removed))
    )
    only_removed = SentenceIndex.from_folder(tmp_path / name)
    only_removed.base.probe = 16
    for query in old[rng.integers(0, 20_000, 10)]:
        got = only_removed.best_chunks(query, 10)
        assert len(got) == 10 and not removed & {c for c, _ in got}
