"""Store corruption (issue 12, points 5 and 9): each fault is made on disk, the check must
find it, ingest must repair it (or refuse with exit 2), and no committed chunk may be lost."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.check import check_store
from ingest.pipeline import Indexer
from ingest.records import Records
from ingest.settings import PROJECT_ROOT, Settings
from ingest.vector_store import VectorStore


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("pristine")
    report = Indexer(Settings(data_dir=data)).run([PROJECT_ROOT / "corpus"])
    assert report.ok and len(report.added) == 3
    return data


@pytest.fixture
def store(pristine: Path, tmp_path: Path) -> Settings:
    shutil.copytree(pristine, tmp_path / "data")
    return Settings(data_dir=tmp_path / "data")


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args, "--data-dir", str(settings.data_dir)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _whole(settings: Settings) -> int:
    """Every committed chunk is in Chroma, BM25 and the units; returns the chunk count."""
    report = check_store(settings)
    assert report.ok, report.summary()
    records = Records(settings.records_path)
    committed = {c.chunk_id for c in records.get_chunks()}
    store = VectorStore(
        settings, records.get_meta("embedding_model"), records.get_meta("collection")
    )
    assert store.all_ids() == committed
    return len(committed)


def _bm25(settings: Settings) -> Path:
    return settings.bm25_dir / Records(settings.records_path).get_meta("bm25_dir")


def test_deleted_bm25_folder_is_found_and_ingest_repairs_it(store: Settings) -> None:
    before = _whole(store)
    shutil.rmtree(_bm25(store))
    found = check_store(store)
    assert [p.index for p in found.problems] == ["bm25"]
    cli = _cli(store, "check")
    assert cli.returncode == 1 and "keyword index" in cli.stdout
    report = Indexer(store).run([PROJECT_ROOT / "corpus"])
    assert report.repaired and "keyword index" in report.repaired[0]
    assert _whole(store) == before


def test_shifted_chunk_id_file_is_found_and_repaired(store: Settings) -> None:
    before = _whole(store)
    ids_file = next(_bm25(store).glob("*/chunk_ids.json"))
    ids = json.loads(ids_file.read_text())
    ids_file.write_text(json.dumps(ids[1:] + ids[:1]))
    assert not check_store(store).ok
    cli = _cli(store, "check", "--repair")
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "repaired:" in cli.stdout
    assert _whole(store) == before


def test_deleted_chroma_folder_is_refilled_not_emptied(store: Settings) -> None:
    before = _whole(store)
    shutil.rmtree(store.chroma_dir)
    assert any(p.index == "chroma" for p in check_store(store).problems)
    report = Indexer(store).run([PROJECT_ROOT / "corpus"])
    assert any("vectors" in line for line in report.repaired)
    assert _whole(store) == before


def test_missing_sentence_units_are_re_embedded(store: Settings) -> None:
    before = _whole(store)
    with sqlite3.connect(store.records_path) as db:
        victim = db.execute("SELECT chunk_id FROM chunks LIMIT 1").fetchone()[0]
        db.execute("DELETE FROM units WHERE chunk_id = ?", (victim,))
        # A chunk that lost one of its sentences only: pooling the rest would degrade silently.
        partial = db.execute(
            "SELECT chunk_id FROM units WHERE seq = 1 AND chunk_id != ? LIMIT 1", (victim,)
        ).fetchone()[0]
        db.execute("DELETE FROM units WHERE chunk_id = ? AND seq = 1", (partial,))
    found = check_store(store)
    assert found.problems[0].index == "units"
    assert sorted(found.problems[0].chunk_ids) == sorted([victim, partial])
    assert _cli(store, "check", "--repair").returncode == 0
    assert _whole(store) == before


@pytest.fixture(scope="module")
def persisted_hnsw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose HNSW index is read from disk. Chroma keeps a collection of fewer than
    1,000 vectors in its log and never reads its HNSW files, so garbling them in the bundled
    corpus's store (17 chunks) tests nothing. 1,001 one-line files of one sentence, ingested
    after a first file of it: their sentence vector is reused, nothing is embedded again."""
    root = tmp_path_factory.mktemp("hnsw")
    line = "Kvalitet i bostøtten handler om at borgeren bliver hørt og inddraget i sin plan.\n"
    (root / "seed").mkdir()
    (root / "seed" / "seed.txt").write_text(line)
    (root / "copies").mkdir()
    for i in range(1001):
        (root / "copies" / f"copy-{i:04d}.txt").write_text(line)
    settings = Settings(data_dir=root / "data")
    assert Indexer(settings).run([root / "seed"]).ok
    # Two runs, so the index's id order differs from the records' (repair once failed here).
    copies = Indexer(settings).run([root / "copies"])
    assert copies.ok and len(copies.added) == 1001 and copies.embedded == 0, copies
    assert list(settings.chroma_dir.glob("*/index_metadata.pickle")), "HNSW not persisted"
    return root / "data"


@pytest.mark.parametrize("how", ["whole-files", "graph"])
def test_garbled_hnsw_fails_the_check_and_repair_rebuilds_it(
    persisted_hnsw: Path, tmp_path: Path, how: str
) -> None:
    """Point 5: a garbled HNSW file segfaulted the server on the first ask while /readyz said
    ready. The check opens the index in a child process: an error or a crash is a failed
    check, and the repair re-writes the vectors from the records into a fresh collection."""
    shutil.copytree(persisted_hnsw, tmp_path / "data")
    store = Settings(data_dir=tmp_path / "data")
    before = _whole(store)
    (segment,) = {p.parent for p in store.chroma_dir.glob("*/index_metadata.pickle")}
    for path in segment.glob("*.bin"):
        size = path.stat().st_size
        with path.open("r+b") as f:
            if how == "whole-files":
                f.write(os.urandom(min(size, 4096)))
            elif path.name == "data_level0.bin":  # vectors and links; the header reads fine
                f.seek(size // 3)
                f.write(os.urandom(size // 3))
    checked = _cli(store, "check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "problem: chroma: the vector index" in checked.stdout, checked.stdout
    repaired = _cli(store, "check", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "re-wrote" in repaired.stdout and "store ok" in repaired.stdout, repaired.stdout
    assert _whole(store) == before
    assert not segment.exists(), "the garbled index's folder is left behind"


def test_garbled_records_page_exits_2_with_one_line(store: Settings) -> None:
    path = store.records_path
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2)
        f.write(b"\xa5" * 4096)
    assert not check_store(store).ok
    done = _cli(store, str(PROJECT_ROOT / "corpus"))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "Traceback" not in done.stderr


def test_orphans_of_a_killed_run_are_ignored_and_swept(store: Settings) -> None:
    before = _whole(store)
    records = Records(store.records_path)
    live = VectorStore(store, records.get_meta("embedding_model"), records.get_meta("collection"))
    # What a run killed before its commit leaves: vectors, a collection and a BM25 folder.
    live.upsert([f"orphan-{i}" for i in range(30)], [[0.05] * 384] * 30, [{"doc_id": "x"}] * 30)
    stray = VectorStore(store, records.get_meta("embedding_model"), f"{store.collection}-1")
    stray.upsert(["a"], [[0.1] * 384], [{"doc_id": "x"}])
    (store.bm25_dir / "gen-99-1").mkdir()
    from assistant.store_reader import StoreReader

    snap = StoreReader(store).snapshot()
    assert snap.orphans == 30 and len(snap.chunks) == before
    Indexer(store).run([PROJECT_ROOT / "corpus"])
    assert _whole(store) == before
    assert sorted(p.name for p in store.bm25_dir.iterdir()) == [_bm25(store).name]
    names = {c.name for c in live.client.list_collections()}
    assert names == {Records(store.records_path).get_meta("collection")}


def test_rebuild_keeps_documents_uploaded_through_the_api(store: Settings) -> None:
    """Point 3: `ingest --rebuild` used to drop every uploaded document silently."""
    store.uploads_dir.mkdir(parents=True)
    (store.uploads_dir / "uploaded_note.txt").write_text(
        "# Uploadet notat\n\nEt notat om kvalitet i bostøtten, uploadet gennem API'et.\n"
    )
    assert Indexer(store).run([store.uploads_dir]).added == ["uploaded-note"]
    cli = _cli(store, "--rebuild", str(PROJECT_ROOT / "corpus"))
    assert cli.returncode == 0, cli.stderr
    docs = {d.doc_id for d in Records(store.records_path).list_documents()}
    assert "uploaded-note" in docs and len(docs) == 4
    _whole(store)


def test_decompression_bombs_and_huge_texts_are_refused_with_one_line(
    store: Settings, tmp_path: Path
) -> None:
    """Point 8: a small DOCX holding tens of MB of XML, and a text past the per-file limit."""
    import zipfile

    import docx

    folder = tmp_path / "bombs"
    folder.mkdir()
    plain = folder / "plain.docx"
    d = docx.Document()
    d.add_paragraph("Kvalitet.")
    d.save(plain)
    bomb = folder / "bomb.docx"
    para = "<w:p><w:r><w:t>kvalitet kvalitet kvalitet</w:t></w:r></w:p>"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "word/document.xml":
                body = body.replace(b"<w:body>", b"<w:body>" + para.encode() * 600_000)
            out.writestr(item, body)
    assert bomb.stat().st_size < 1024 * 1024
    plain.unlink()
    (folder / "long.txt").write_text("Kvalitet i bostøtten. " * 2000)
    started = time.monotonic()
    settings = store.model_copy(update={"max_text_chars": 20_000})
    report = Indexer(settings).run([folder])
    assert time.monotonic() - started < 60
    why = dict(report.failed)
    assert "unpacks to" in why[str(bomb)] and "limit" in why[str(bomb)]
    assert "extracted text" in why[str(folder / "long.txt")]
    assert len(Records(store.records_path).list_documents()) == 3


def _limited_fsize(limit: int):  # noqa: ANN202 - a preexec_fn
    def apply() -> None:
        import resource
        import signal

        # Writes past ``limit`` fail with EFBIG instead of killing the process: disk full.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_unwritable_dir_and_early_interrupt_give_one_line(
    store: Settings, tmp_path: Path
) -> None:
    """Point 10: raw tracebacks and exit 1 ("some files failed") for environment failures."""
    new = tmp_path / "new"
    new.mkdir()
    (new / "zebra.txt").write_text("# Zebraer\n\nZebraprojektet handler om kvalitet i botilbud.\n")
    before = {d.doc_id for d in Records(store.records_path).list_documents()}
    cmd = [sys.executable, "-m", "ingest", str(new), "--data-dir", str(store.data_dir)]
    full = subprocess.run(
        cmd,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limited_fsize(64 * 1024),
    )
    lines = [x for x in full.stderr.splitlines() if x.strip()]
    assert full.returncode == 2, full.stderr
    assert len(lines) == 1 and "the disk is full" in lines[0], full.stderr
    assert "cannot rollback" not in full.stderr
    assert {d.doc_id for d in Records(store.records_path).list_documents()} == before
    assert check_store(store).ok

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    bad = subprocess.run(
        [sys.executable, "-m", "ingest", str(new), "--data-dir", str(blocker / "data")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [x for x in bad.stderr.splitlines() if x.strip()]
    assert bad.returncode == 2 and len(lines) == 1, bad.stderr
    assert "cannot write to the data dir" in lines[0]

    proc = subprocess.Popen(
        cmd,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Run from a background shell, children start with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(0.8)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err


def test_second_ingest_says_it_waits_for_the_lock(store: Settings) -> None:
    """Point 11: a second ingest waited on the lock without saying so."""
    import fcntl

    with open(store.store_dir / "ingest.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        shutil.rmtree(_bm25(store))
        second = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ingest",
                str(PROJECT_ROOT / "corpus"),
                "--data-dir",
                str(store.data_dir),
            ],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = second.stderr.readline()
        assert "waiting for another ingestion run" in line, line
        fcntl.flock(held, fcntl.LOCK_UN)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert _whole(store)


def test_symlinks_out_of_the_corpus_are_not_followed_and_files_count_once(
    tmp_path: Path,
) -> None:
    """Point 11: a symlink out of the corpus was followed silently; a file reached by two
    paths became two documents."""
    from ingest.discovery import discover

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Kvalitet.")
    (corpus / "b-link.txt").symlink_to(corpus / "a.txt")
    outside = tmp_path / "secret.txt"
    outside.write_text("Hemmeligt.")
    (corpus / "leak.txt").symlink_to(outside)
    (corpus / "dir-leak").symlink_to(tmp_path, target_is_directory=True)
    found = discover([corpus])
    assert [p.name for p in found.files] == ["a.txt"]
    problems = {p.name: why for p, why in found.problems}
    assert set(problems) == {"leak.txt", "dir-leak"}
    assert all("outside" in why for why in problems.values())


def test_same_file_name_in_two_folders_gets_two_stable_ids(tmp_path: Path) -> None:
    """Point 11: two files with the same name in different folders collided on their doc id
    and the second failed; a symlinked copy became a second document."""
    corpus = tmp_path / "corpus"
    for folder, text in (("a", "Kvalitet i bostøtten."), ("b", "Tilsyn med botilbud.")):
        (corpus / folder).mkdir(parents=True)
        (corpus / folder / "report.md").write_text(f"# Rapport {folder}\n\n{text}\n")
    (corpus / "c").mkdir()
    (corpus / "c" / "report.md").symlink_to(corpus / "a" / "report.md")
    outside = tmp_path / "secret.md"
    outside.write_text("# Hemmeligt\n\nMå ikke indlæses.\n")
    (corpus / "leak.md").symlink_to(outside)
    settings = Settings(data_dir=tmp_path / "data")

    first = Indexer(settings).run([corpus])
    assert sorted(first.added) == ["b-report", "report"], first
    assert [(Path(s).name, "outside" in why) for s, why in first.failed] == [("leak.md", True)]
    sources = {d.doc_id: d.source_path for d in Records(settings.records_path).list_documents()}
    assert sources["report"].endswith("a/report.md")
    assert sources["b-report"].endswith("b/report.md")

    again = Indexer(settings).run([corpus])
    assert sorted(again.unchanged) == ["b-report", "report"] and not again.added
    (corpus / "b" / "report.md").write_text("# Rapport b\n\nTilsyn med botilbud, rettet.\n")
    edited = Indexer(settings).run([corpus])
    assert edited.updated == ["b-report"] and not edited.added, edited
    rebuilt = Indexer(settings).run([corpus], rebuild=True)
    assert sorted(rebuilt.updated) == ["b-report", "report"] and not rebuilt.added, rebuilt
    assert _whole(settings) >= 2
