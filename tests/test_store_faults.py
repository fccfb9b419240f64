"""Store faults of issue 23 (items 2-6 and 12), each made for real on disk: a vector index
garbled with its mtime kept, a garbled ``chroma.sqlite3``, a deleted record database, a full
disk, a store replaced under a running API, on-disk faults while it serves, and a small DOCX
of 420,000 paragraphs. The check must find each, repair must fix what can be fixed, a running
API must neither crash nor serve a deleted store, and no committed chunk may be lost."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_reliability import ApiProcess, run_ingest, start_api, stop_api

from ingest.check import check_store
from ingest.pipeline import Indexer
from ingest.records import Records
from ingest.settings import PROJECT_ROOT, Settings
from ingest.vector_store import VectorStore

LINE = "Kvalitet i bostøtten handler om at borgeren bliver hørt og inddraget i sin plan.\n"
ZEBRA = (
    "# Zebraer på botilbud\n\nZebraprojektet handler om striber og kvalitet i botilbud. "
    "Zebraer måles hvert år af kommunen med et særligt zebraskema.\n"
)


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args, "--data-dir", str(data)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _whole(data: Path) -> int:
    settings = Settings(data_dir=data)
    report = check_store(settings)
    assert report.ok, report.summary()
    records = Records(settings.records_path)
    store = VectorStore(
        settings, records.get_meta("embedding_model"), records.get_meta("collection")
    )
    committed = {c.chunk_id for c in records.get_chunks()}
    assert store.all_ids() == committed
    return len(committed)


@pytest.fixture(scope="module")
def corpus_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("corpus") / "data"
    assert Indexer(Settings(data_dir=data)).run([PROJECT_ROOT / "corpus"]).ok
    return data


@pytest.fixture(scope="module")
def persisted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,002 chunks: Chroma reads a collection's HNSW files from disk only from 1,000
    vectors on. One sentence, embedded once and reused by every copy."""
    root = tmp_path_factory.mktemp("persisted")
    (root / "seed").mkdir()
    (root / "seed" / "seed.txt").write_text(LINE)
    (root / "copies").mkdir()
    for i in range(1001):
        (root / "copies" / f"copy-{i:04d}.txt").write_text(LINE)
    settings = Settings(data_dir=root / "data")
    assert Indexer(settings).run([root / "seed"]).ok
    assert Indexer(settings).run([root / "copies"]).embedded == 0
    assert list(settings.chroma_dir.glob("*/index_metadata.pickle")), "HNSW not persisted"
    return root / "data"


def _copy(src: Path, tmp_path: Path) -> Path:
    shutil.copytree(src, tmp_path / "data", ignore=shutil.ignore_patterns("*.log"))
    return tmp_path / "data"


def garble_keeping_mtime(path: Path, start: float = 1 / 3, share: float = 1 / 3) -> None:
    """Overwrite part of a file and put its size and mtime back as they were."""
    st = path.stat()
    with path.open("r+b") as f:
        f.seek(int(st.st_size * start))
        f.write(os.urandom(int(st.st_size * share)))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def test_vector_index_garbled_with_mtime_kept_fails_the_check_and_the_api_survives(
    persisted: Path, tmp_path: Path
) -> None:
    """Items 2 and 4: the check trusted size and mtime and said "store ok"; the API then
    segfaulted loading the index. Now the files' checksums differ, a child process probes
    (and crashes or fails), the API never opens the index, /readyz says why, and answers
    come with an exact scan of the stored vectors, flagged ``degraded``."""
    data = _copy(persisted, tmp_path)
    (level0,) = Settings(data_dir=data).chroma_dir.glob("*/data_level0.bin")
    garble_keeping_mtime(level0)
    checked = _cli(data, "check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "problem: chroma: the vector index" in checked.stdout, checked.stdout

    api = start_api(data, tmp_path / "api.log", wait_ready=False)
    try:
        deadline = time.monotonic() + 180
        while (r := httpx.get(api.url + "/readyz", timeout=60)).json().get("error") is None:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.5)
        assert r.status_code == 503 and "vector index" in r.json()["error"], r.text
        r = httpx.post(
            api.url + "/api/ask", json={"question": "Hvad handler kvalitet i bostøtten om?"},
            timeout=120,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["degraded"] == ["vector_index"], body
        assert not body["abstained"] and body["citations"], body
        assert api.proc.poll() is None, api.logs()[-2000:]
    finally:
        stop_api(api)
    assert _cli(data, "check", "--repair").returncode == 0
    assert _whole(data) == 1002


def test_garbled_chroma_database_is_rebuilt_from_the_records(
    corpus_store: Path, tmp_path: Path
) -> None:
    """Item 6: `check --repair` crashed with a traceback and `ingest` exited 2 over a
    garbled chroma.sqlite3; both now rebuild the vector store from the records."""
    before = _whole(corpus_store)
    for command in (["check", "--repair"], [str(PROJECT_ROOT / "corpus")]):
        work = tmp_path / command[0].replace("/", "_")[-12:]
        data = _copy(corpus_store, work)
        garble_keeping_mtime(data / "store" / "chroma" / "chroma.sqlite3", 0.25, 0.5)
        checked = _cli(data, "check")
        assert checked.returncode == 1 and "problem: chroma" in checked.stdout, checked.stdout
        done = _cli(data, *command)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr and "re-wrote" in done.stdout + done.stderr
        assert _whole(data) == before
        assert [p.name for p in (data / "store").iterdir() if p.name.startswith("chroma")] == [
            "chroma"
        ], "the broken Chroma folder is left behind"


def test_deleted_record_database_is_a_finding_not_an_empty_store(
    corpus_store: Path, tmp_path: Path
) -> None:
    """Item 12: a deleted record database passed ("store ok: 0 chunks") and the next
    ingest started over silently, leaving the old collection. Now both say what happened,
    change nothing, and ``--rebuild`` starts over cleanly."""
    data = _copy(corpus_store, tmp_path)
    collection = Records(data / "store" / "records.sqlite").get_meta("collection")
    for path in (data / "store").glob("records.sqlite*"):
        path.unlink()
    checked = _cli(data, "check")
    assert checked.returncode == 1 and "record database" in checked.stdout, checked.stdout
    done = _cli(data, str(PROJECT_ROOT / "corpus"))
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), lines
    assert "missing or empty" in lines[0] and "--rebuild" in lines[0]
    settings = Settings(data_dir=data)
    client = VectorStore(settings, "probe", f"{settings.collection}-probe").client
    assert collection in {c.name for c in client.list_collections()}, "old vectors dropped"
    rebuilt = _cli(data, "--rebuild", str(PROJECT_ROOT / "corpus"))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _whole(data) > 0


def test_full_disk_is_reported_as_a_full_disk(corpus_store: Path, tmp_path: Path) -> None:
    """Item 12: a full disk was reported as a broken vector index (and the advice was to
    delete the store). A real full disk: a small tmpfs in a user namespace."""
    if not shutil.which("unshare") or not shutil.which("fallocate"):
        pytest.skip("needs unshare and fallocate (util-linux)")
    if subprocess.run(["unshare", "-Urm", "true"], capture_output=True).returncode != 0:
        pytest.skip("unprivileged user namespaces are off here")
    data = _copy(corpus_store, tmp_path)
    (data / "store" / "verified.json").unlink()  # the check must open Chroma in a child
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = (
        'set -e; mount -t tmpfs -o size=16m tmpfs "$MNT"; cp -a "$DATA" "$MNT/data"; '
        'avail=$(df -B1 --output=avail "$MNT" | tail -1); '
        'fallocate -l $((avail - 8192)) "$MNT/filler"; set +e; '
        '"$PY" -m ingest check --data-dir "$MNT/data"; echo "rc=$?"; '
        '"$PY" -m ingest check --repair --data-dir "$MNT/data"; echo "rc=$?"'
    )
    done = subprocess.run(
        ["unshare", "-Urm", "bash", "-c", script],
        cwd=PROJECT_ROOT,
        env=dict(os.environ, MNT=str(mnt), DATA=str(data), PY=sys.executable),
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout + done.stderr
    assert "rc=1" in out and "rc=2" in out, out
    assert "problem: disk: the disk is full" in out, out
    assert "error: the disk is full" in out and "nothing was changed" in out, out
    assert "delete" not in out and "Traceback" not in out, out


@pytest.fixture
def served_copy(corpus_store: Path, tmp_path: Path) -> Iterator[ApiProcess]:
    data = _copy(corpus_store, tmp_path)
    api = start_api(data, tmp_path / "api.log")
    yield api
    stop_api(api)


def _wait_readyz(api: ApiProcess, status: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(api.url + "/readyz", timeout=60)
        if r.status_code == status or time.monotonic() > deadline:
            assert r.status_code == status, r.text
            return r.json()
        time.sleep(0.3)


def test_running_api_follows_a_replaced_store_and_sees_faults_on_disk(
    served_copy: ApiProcess, tmp_path: Path
) -> None:
    """Items 3 and 12: with the API running, `rm -rf store` and a new ingest left it serving
    the deleted documents with /readyz 200, and /readyz stayed 200 through faults made on
    disk. Now readers reopen a replaced record database and compare (store id, generation),
    and readiness re-checks the store whenever its files changed."""
    api, data = served_copy, served_copy.data_dir
    with api.client() as c:
        old = {d["doc_id"] for d in c.get("/api/documents").json()["documents"]}
        assert len(old) == 3
        # Faults on disk while serving: each makes /readyz 503 with the reason, repair heals.
        bm25 = data / "store" / "bm25" / Records(data / "store" / "records.sqlite").get_meta(
            "bm25_dir"
        )
        shutil.rmtree(bm25)
        assert "keyword index" in _wait_readyz(api, 503)["error"]
        assert run_ingest(data, "check", "--repair").returncode == 0
        _wait_readyz(api, 200)
        with sqlite3.connect(data / "store" / "records.sqlite") as db:
            db.execute("DELETE FROM units WHERE rowid % 3 = 0")
        assert "sentence vectors" in _wait_readyz(api, 503)["error"]
        assert run_ingest(data, "check", "--repair").returncode == 0
        _wait_readyz(api, 200)

        shutil.rmtree(data / "store")
        assert "was removed" in _wait_readyz(api, 503)["error"]
        folder = tmp_path / "new"
        folder.mkdir()
        (folder / "zebra.txt").write_text(ZEBRA)
        done = run_ingest(data, str(folder))
        assert done.returncode == 0, done.stderr
        _wait_readyz(api, 200)
        docs = {d["doc_id"] for d in c.get("/api/documents").json()["documents"]}
        assert docs == {"zebra"}, docs
        r = c.post("/api/ask", json={"question": "Hvad er zebraprojektet?"})
        assert r.status_code == 200, r.text
        assert {x["doc_id"] for x in r.json()["citations"]} == {"zebra"}, r.json()
        assert r.json()["degraded"] == []


def _many_paragraphs(path: Path, count: int) -> Path:
    import docx

    plain = path.with_name("plain.docx")
    d = docx.Document()
    d.add_paragraph("Kvalitet.")
    d.save(plain)
    para = b"<w:p><w:r><w:t>k</w:t></w:r></w:p>"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "word/document.xml":
                body = body.replace(b"<w:body>", b"<w:body>" + para * count)
            out.writestr(item, body)
    plain.unlink()
    return path


def test_docx_of_many_paragraphs_fails_fast_with_one_line(
    corpus_store: Path, tmp_path: Path
) -> None:
    """Item 5: a ~100 KB DOCX of 420,000 paragraphs held the ingest lock with no time limit.
    Now the paragraphs are counted before any is read; a file under the count that still
    reads too slowly is stopped by the time budget of the child process reading it."""
    data = _copy(corpus_store, tmp_path)
    folder = tmp_path / "files"
    folder.mkdir()
    many = _many_paragraphs(folder / "many.docx", 420_000)
    assert many.stat().st_size < 200 * 1024
    slow = _many_paragraphs(folder / "slow.docx", 60_000)
    (folder / "zebra.txt").write_text(ZEBRA)
    indexer = Indexer(Settings(data_dir=data))
    indexer.load_timeout_s = 1.0
    started = time.monotonic()
    report = indexer.run([folder])
    assert time.monotonic() - started < 120
    why = dict(report.failed)
    assert "420,002 paragraphs and tables, over the 100,000 limit" in why[str(many)], why
    assert "took longer than 1 s" in why[str(slow)], why
    assert report.added == ["zebra"]
    assert _whole(data) > 17


def test_answers_fall_back_when_a_query_finds_no_collection(
    corpus_store: Path, tmp_path: Path
) -> None:
    """Item 4: a vector query that failed ("Collection does not exist") left the answer
    with no passages: "not covered" with HTTP 200. Now the dense ranking comes from the
    stored vectors, the answer is the same one, and it says it was degraded."""
    from assistant.pipeline import Assistant

    data = _copy(corpus_store, tmp_path)
    settings = Settings(data_dir=data)
    assistant = Assistant(settings)
    question = "Hvad er kvalitet i bostøtten?"
    normal = assistant.ask(question)
    assert not normal.abstained and normal.degraded == []
    records = Records(settings.records_path)
    other = VectorStore(settings, records.get_meta("embedding_model"), "kvalitet-other")
    other.client.delete_collection(records.get_meta("collection"))
    degraded = assistant.ask(question)
    assert degraded.degraded == ["vector_index"]
    assert not degraded.abstained and degraded.answer == normal.answer
    assert "missing" in (assistant.store_problem or ""), assistant.store_problem
    assert degraded.model_dump()["degraded"] == ["vector_index"]
