"""Incremental ingestion against a real embedded Chroma: idempotence, edits, deletions,
renames, bad input, interruption, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.pipeline import Indexer
from ingest.records import Records
from ingest.settings import PROJECT_ROOT, Settings
from ingest.vector_store import VectorStore


def _consistent(settings: Settings) -> Records:
    """Chroma holds exactly the committed chunks: nothing stale, nothing duplicated."""
    records = Records(settings.records_path)
    committed = {c.chunk_id for c in records.get_chunks()}
    store = VectorStore(
        settings, records.get_meta("embedding_model"), records.get_meta("collection")
    )
    assert store.all_ids() == committed
    units = records.get_units(sorted(committed))
    assert {u.chunk_id for u in units} == committed
    for doc in records.list_documents():
        text = records.get_text(doc.doc_id)
        for c in records.get_chunks(doc.doc_id):
            assert text[c.start : c.end].strip()
    return records


def test_rerun_changes_nothing_and_edits_replace_chunks(tmp_path: Path, corpus_copy: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = Indexer(settings).run([corpus_copy])
    assert first.ok and sorted(first.added) == sorted(
        [
            "nyhed-kvalitet-botilbud-bostoette-da",
            "news-quality-housing-support-en",
            "sub-initiatives-quality-social-psychiatry-en",
        ]
    )
    records = _consistent(settings)
    generation = records.generation()

    again = Indexer(settings).run([corpus_copy])
    assert again.added == again.updated == again.removed == [] and len(again.unchanged) == 3
    assert again.embedded == 0 and records.generation() == generation

    # Edit: one paragraph changes; the document's old chunks must all go.
    path = corpus_copy / "003_c7958f0d3eef49fb.txt"
    old_ids = {
        c.chunk_id for c in records.get_chunks("sub-initiatives-quality-social-psychiatry-en")
    }
    path.write_text(path.read_text().replace("two to four municipalities", "five municipalities"))
    edited = Indexer(settings).run([corpus_copy])
    assert edited.updated == ["sub-initiatives-quality-social-psychiatry-en"]
    assert 0 < edited.embedded < 20, "unchanged sentences should reuse their vectors"
    records = _consistent(settings)
    text = records.get_text("sub-initiatives-quality-social-psychiatry-en")
    assert "five municipalities" in text and "two to four" not in text
    new_ids = {
        c.chunk_id for c in records.get_chunks("sub-initiatives-quality-social-psychiatry-en")
    }
    assert new_ids != old_ids

    # Rename: same content under a new name keeps the id and embeds nothing.
    extra = corpus_copy / "notes.md"
    extra.write_text("# Noter om recovery\n\nRecovery betyder at komme sig med den rette støtte.\n")
    assert Indexer(settings).run([corpus_copy]).added == ["notes"]
    extra.rename(corpus_copy / "renamed-notes.md")
    moved = Indexer(settings).run([corpus_copy])
    assert moved.added == [] and moved.removed == [] and moved.updated == ["notes"]
    assert moved.embedded == 0
    records = _consistent(settings)
    assert [
        d.source_path.endswith("renamed-notes.md")
        for d in records.list_documents()
        if d.doc_id == "notes"
    ] == [True]

    # Delete: its chunks go.
    (corpus_copy / "renamed-notes.md").unlink()
    removed = Indexer(settings).run([corpus_copy])
    assert removed.removed == ["notes"]
    assert "notes" not in {d.doc_id for d in _consistent(settings).list_documents()}


def test_bad_inputs_fail_alone_and_lose_nothing(tmp_path: Path, corpus_copy: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", max_file_mb=1)
    assert Indexer(settings).run([corpus_copy]).ok
    (corpus_copy / "empty.pdf").write_bytes(b"")
    (corpus_copy / "corrupt.pdf").write_bytes(b"%PDF-1.4\n garbage garbage")
    (corpus_copy / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (corpus_copy / "big.txt").write_text("Stor fil. " * 150_000)
    (corpus_copy / "latin1.txt").write_bytes(
        "Bostøtte efter § 85\n\nSærlig støtte til borgere på botilbud.\n".encode("cp1252")
    )
    (corpus_copy / "loop").mkdir()
    os.symlink(corpus_copy, corpus_copy / "loop" / "back")
    report = Indexer(settings).run([corpus_copy])
    reasons = {Path(p).name: why for p, why in report.failed}
    assert "empty" in reasons["empty.pdf"]
    assert "PDF" in reasons["corrupt.pdf"]
    assert "binary" in reasons["binary.txt"]
    assert "MB" in reasons["big.txt"] and "limit" in reasons["big.txt"]
    assert any("loop" in why for why in reasons.values())
    assert report.added == ["latin1"]
    records = _consistent(settings)
    assert "Særlig støtte" in records.get_text("latin1")
    assert len(records.list_documents()) == 4

    # A file that used to ingest and now is corrupt keeps its stored version.
    (corpus_copy / "latin1.txt").write_bytes(b"\x00\x01\x02" * 100)
    report = Indexer(settings).run([corpus_copy])
    assert any(Path(p).name == "latin1.txt" for p, _ in report.failed)
    assert "Særlig støtte" in Records(settings.records_path).get_text("latin1")


def test_interrupted_run_leaves_previous_state_queryable(tmp_path: Path, corpus_copy: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    Indexer(settings).run([corpus_copy])
    before = {d.doc_id: d.content_hash for d in Records(settings.records_path).list_documents()}
    path = corpus_copy / "001_5b92f40e6654ad7d.txt"
    path.write_text(path.read_text() + "\n\nEn helt ny sætning om pårørende i socialpsykiatrien.\n")
    (corpus_copy / "new.txt").write_text("Et nyt dokument om fritid og uddannelse for borgere.\n")

    def crash(stage: str, done: int, total: int) -> None:
        if stage == "embed" and done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Indexer(settings, progress=crash).run([corpus_copy])
    records = Records(settings.records_path)
    assert {d.doc_id: d.content_hash for d in records.list_documents()} == before

    from assistant.pipeline import Assistant

    answer = Assistant(settings).ask("Who prepared the literature studies?")
    assert not answer.abstained and "VIVE" in answer.answer
    # The next run finishes the job and sweeps what the interrupted one left in Chroma.
    report = Indexer(settings).run([corpus_copy])
    assert report.added == ["new"] and report.updated == ["nyhed-kvalitet-botilbud-bostoette-da"]
    _consistent(settings)


def test_file_vanishing_mid_run_is_reported(tmp_path: Path, corpus_copy: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    victim = corpus_copy / "003_c7958f0d3eef49fb.txt"

    def vanish(stage: str, done: int, total: int) -> None:
        if stage == "load" and done == 1 and victim.exists():
            victim.unlink()

    report = Indexer(settings, progress=vanish).run([corpus_copy])
    assert [why for p, why in report.failed if p.endswith(victim.name)] == [
        "file disappeared while reading"
    ]
    assert len(report.added) == 2


def test_rebuild_and_model_mismatch(tmp_path: Path, corpus_copy: Path) -> None:
    from ingest.vector_store import StoreModelMismatch

    settings = Settings(data_dir=tmp_path / "data")
    Indexer(settings).run([corpus_copy])
    rebuilt = Indexer(settings).run([corpus_copy], rebuild=True)
    assert len(rebuilt.updated) == 3 and rebuilt.embedded > 0
    _consistent(settings)

    Records(settings.records_path)  # still readable
    other = Settings(
        data_dir=tmp_path / "data",
        embedding_backend="sentence-transformers",
        embedding_model=str(tmp_path / "missing-model"),
    )
    with pytest.raises(Exception, match="model directory not found"):
        Indexer(other).run([corpus_copy])
    with pytest.raises(StoreModelMismatch):
        VectorStore(
            settings, "some-other-model", Records(settings.records_path).get_meta("collection")
        )


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_cli_summary_stats_and_exit_codes(tmp_path: Path, corpus_copy: Path) -> None:
    data = tmp_path / "data"
    ok = _cli(str(corpus_copy), "--data-dir", str(data))
    assert ok.returncode == 0, ok.stderr
    assert "added 3" in ok.stdout and "failed 0" in ok.stdout
    stats = json.loads(_cli("stats", "--json", "--data-dir", str(data)).stdout)
    assert stats["documents"] == 3 and stats["chunks"] > 5
    assert stats["by_kind"] == {"news": 2, "initiative": 1}
    assert set(stats["by_language"]) == {"da", "en"}
    assert stats["embedding_model"].startswith("intfloat/multilingual-e5-small")

    shutil.copy(PROJECT_ROOT / "corpus" / "manifest.yaml", tmp_path / "m.yaml")
    (corpus_copy / "broken.pdf").write_bytes(b"not a pdf at all")
    bad = _cli(str(corpus_copy), "--data-dir", str(data))
    assert bad.returncode == 1
    assert "broken.pdf" in bad.stderr and "PDF" in bad.stderr
    missing = _cli(str(tmp_path / "nowhere"), "--data-dir", str(data))
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_invalid_manifest_names_entry_and_field(tmp_path: Path, corpus_copy: Path) -> None:
    manifest = corpus_copy / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("kind: initiative", "kind: poem"))
    report = Indexer(Settings(data_dir=tmp_path / "data")).run([corpus_copy])
    assert not report.ok
    assert all("003_c7958f0d3eef49fb.txt" in why and "'kind'" in why for _, why in report.failed)
