"""The keyword index of a generation written as a delta on the last full one
(``ingest.lexical_delta``): scored as bm25s scores, ranking as a rebuilt index ranks, never
matching a removed chunk, and saved and loaded whole or not at all."""

from __future__ import annotations

import doctest
import random
import re
from pathlib import Path

import bm25s
import numpy as np
import pytest

import ingest.lexical_delta
from assistant.store_reader import StoreReader
from assistant.store_snapshot import _chunk_texts
from ingest.lexical import LexicalIndex, tokenize
from ingest.lexical_delta import (
    LayeredLexicalIndex,
    _scored,
    build_delta,
    load_index,
    save_delta,
    worth_a_delta,
)
from ingest.settings import Settings

QUESTIONS = [
    "Hvad er kvalitet i bostøtten?",
    "Hvilke delinitiativer er der i socialpsykiatrien?",
    "Hvordan inddrages borgerens pårørende?",
    "serviceloven § 85",
    "What is the quality of housing support?",
    "Which sub-initiatives improve quality in social psychiatry?",
    "How is recovery-oriented practice described?",
]


@pytest.fixture(scope="module")
def chunks(corpus_settings: Settings) -> list[tuple[str, str, str]]:
    """(chunk id, text, language) of the seed corpus as ingested."""
    return list(_chunk_texts(StoreReader(corpus_settings).snapshot()))


@pytest.fixture(scope="module")
def many(chunks) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """2,000 chunks of five of the seed corpus's sentences each (drawn at random, within a
    language): a delta's statistics approximate a base of this size, not of the seed's 17."""
    rng = random.Random(7)
    sentences: dict[str, list[str]] = {}
    for _, text, lang in chunks:
        sentences.setdefault(lang, []).extend(s for s in re.split(r"(?<=[.!?])\s+", text) if s)
    langs = sorted(sentences)
    return [
        (f"c{i:05d}", " ".join(rng.sample(sentences[lang], 5)), lang)
        for i, lang in ((i, langs[i % len(langs)]) for i in range(2000))
    ]


def test_a_delta_is_scored_by_the_formula_bm25s_indexes_with(chunks) -> None:  # noqa: ANN001
    """With no base, the hand-built score matrix is bm25s's own (a bm25s upgrade that changed
    its formula would fail here, not rank deltas differently unnoticed)."""
    tokens = [tokenize(text, lang) or ["\u2205"] for _, text, lang in chunks]
    reference = bm25s.BM25()
    reference.index(tokens, show_progress=False)
    mine = _scored(tokens, reference, 0, {}, None)
    for question in QUESTIONS:
        for lang in ("da", "en"):
            query = tokenize(question, lang)
            assert np.allclose(mine.get_scores(query), reference.get_scores(query), atol=1e-5)


def test_a_layered_index_ranks_as_a_rebuilt_one(
    many, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    """A twentieth of 2,000 chunks added and as many removed (as many as ``worth_a_delta``
    layers): new chunks in the delta, removed ones hidden in the base. The questions' top 5
    are the rebuilt index's but for near ties."""
    changed = many[::40]
    removed = {cid for cid, _, _ in many[1::40]}
    base = LexicalIndex.build([c for i, c in enumerate(many) if i % 40])
    monkeypatch.setattr(ingest.lexical_delta, "DELTA_MIN_BASE_CHUNKS", 1000)  # as a large one
    assert worth_a_delta(len(changed), len(removed), base.size())
    current = [c for c in many if c[0] not in removed]
    rebuilt = LexicalIndex.build(current)
    layered = LayeredLexicalIndex(base, build_delta(changed, base), dead=removed)
    assert layered.size() == rebuilt.size() and layered.ids() == rebuilt.ids()
    assert sorted(layered.languages) == sorted(rebuilt.languages)
    overlap, first = [], []
    for question in QUESTIONS:
        for lang in ("da", "en"):
            query = tokenize(question, lang)
            got = layered.search(query, lang, 5)
            want = rebuilt.search(query, lang, 5)
            if not want:
                continue
            overlap.append(len({h.chunk_id for h in got} & {h.chunk_id for h in want}) / 5)
            first.append(got[0].chunk_id == want[0].chunk_id)
            for hit in got:  # each score within a few percent of the rebuilt index's
                exact = {h.chunk_id: h.score for h in rebuilt.search(query, lang, 2000)}
                assert hit.score == pytest.approx(exact[hit.chunk_id], rel=0.05)
            assert not removed & {h.chunk_id for h in layered.search(query, lang, 2000)}
    assert len(overlap) >= 8, overlap
    assert np.mean(overlap) >= 0.85 and np.mean(first) >= 0.85, (overlap, first)
    # A filter's mask covers the base's rows, then the delta's; a wrong length is refused.
    allowed = {cid for cid, _, lang in current if lang == "da" and cid < "c01000"}
    mask = layered.mask("da", allowed)
    query = tokenize("kvalitet bostøtte", "da")
    hits = layered.search(query, "da", 10, mask=mask)
    assert hits and {h.chunk_id for h in hits} <= allowed
    assert hits == layered.search(query, "da", 10, allowed=allowed)
    with pytest.raises(ValueError, match="mask"):
        layered.search(query, "da", 10, mask=mask[:-1])
    # Term weights of the replica (``_idf``) count the live chunks of both layers.
    frequencies = layered.document_frequencies()
    assert sum(n for n, _ in frequencies.values()) == rebuilt.size()

    save_delta(build_delta(changed, base), tmp_path / "gen-2", "gen-1", removed)
    base.save(tmp_path / "gen-1")
    loaded = load_index(tmp_path / "gen-2")
    assert isinstance(loaded, LayeredLexicalIndex) and loaded.ids() == rebuilt.ids()
    assert loaded.search(query, "da", 5) == layered.search(query, "da", 5)
    assert isinstance(load_index(tmp_path / "gen-1"), LexicalIndex)
    (tmp_path / "gen-1").rename(tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError, match="gen-1"):
        load_index(tmp_path / "gen-2")


def test_only_a_small_change_of_a_large_store_is_layered() -> None:
    assert worth_a_delta(100, 50, 200_000)
    assert not worth_a_delta(15_000, 6_000, 1_000_000)  # more than DELTA_MAX_CHUNKS
    assert not worth_a_delta(3_000, 2_000, 45_000)  # more than a tenth of the base
    assert not worth_a_delta(1, 0, 30_000)  # a store this small is rebuilt in seconds


def test_lexical_delta_doctests() -> None:
    assert doctest.testmod(ingest.lexical_delta).failed == 0


def test_ingestion_writes_a_small_change_as_a_delta(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingestion run and the removal of a document (``Indexer``, what uploads use) write
    the keyword index as a delta on the committed one; the store check vouches for it, and a
    replica's index holds exactly the committed chunks."""
    import shutil

    from ingest.check import check_store
    from ingest.lexical_delta import base_of
    from ingest.pipeline import Indexer
    from ingest.records import Records
    from ingest.settings import PROJECT_ROOT

    monkeypatch.setattr(ingest.lexical_delta, "DELTA_MIN_BASE_CHUNKS", 0)  # as a large store
    monkeypatch.setattr(ingest.lexical_delta, "DELTA_MAX_SHARE", 10.0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    files = sorted(p for p in (PROJECT_ROOT / "corpus").iterdir() if p.suffix == ".txt")
    for path in [*files[:2], PROJECT_ROOT / "corpus" / "manifest.yaml"]:
        shutil.copy(path, corpus / path.name)
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    assert Indexer(settings).run([corpus]).ok
    records = Records(settings.records_path)
    first = records.get_meta("bm25_dir")
    assert first and base_of(settings.bm25_dir / first) is None

    def committed() -> LayeredLexicalIndex:
        folder = records.get_meta("bm25_dir")
        assert folder and base_of(settings.bm25_dir / folder) == first
        assert check_store(settings).ok
        snap = StoreReader(settings).snapshot()
        assert isinstance(snap.lexical, LayeredLexicalIndex)
        assert snap.lexical.ids() == set(snap.chunks)
        return snap.lexical

    shutil.copy(files[2], corpus / files[2].name)
    report = Indexer(settings).run([corpus])
    assert report.ok and len(report.added) == 1
    added = committed()
    new = {c.chunk_id for c in records.get_chunks(report.added[0])}
    assert set(added.delta.ids()) == new
    assert Indexer(settings).remove(report.added[0])
    removed = committed()
    for question in QUESTIONS:
        for lang in ("da", "en"):
            hits = removed.search(tokenize(question, lang), lang, 50)
            assert not new & {h.chunk_id for h in hits}
