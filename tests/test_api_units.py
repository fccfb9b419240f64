"""API pieces that need no server or models: CPR masking, log format, file names, streaming
splits, the OpenAI reply format, and the not-ready state."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from api_fixtures import ROOT  # noqa: F401  (puts the repo on sys.path)
from fastapi.testclient import TestClient

from assistant.api.answering import split_for_stream
from assistant.api.app import create_app
from assistant.api.logging import JsonFormatter, request_id_var
from assistant.api.privacy import CPR_MASK, contains_cpr, cpr_warning, mask_cpr
from assistant.api.routes_openai import format_reply
from assistant.api.uploads import safe_filename
from assistant.models import Answer, Citation
from ingest.settings import Settings


@pytest.mark.parametrize(
    "text",
    [
        "010203-1234",
        "0102031234",
        "CPR: 311299-9999.",
        "(150687-4321)",
        "x 2902001111 y",
        "/api/search?q=kvalitet%200102031234",
        "q=%2B010203-1234%2C",
        "cpr 010203 1234",
    ],
)
def test_cpr_found_and_masked(text: str) -> None:
    assert contains_cpr(text)
    masked = mask_cpr(text)
    assert CPR_MASK in masked and not contains_cpr(masked)


@pytest.mark.parametrize(
    "text",
    [
        "0013011234",  # day 00
        "3213011234",  # day 32
        "0113011234",  # month 13
        "12345678901",  # eleven digits: not a CPR number
        "tlf. 45 12 34 56 78",
        "år 2020-2021",
    ],
)
def test_not_cpr(text: str) -> None:
    assert not contains_cpr(text)
    assert mask_cpr(text) == text


def test_cpr_warning_languages() -> None:
    assert "personoplysninger" in cpr_warning("da")
    assert "personal data" in cpr_warning("en")


def test_json_formatter_masks_everything_and_adds_request_id() -> None:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.kva.units")
    log.addHandler(handler)
    log.propagate = False
    token = request_id_var.set("rid-1")
    try:
        try:
            raise ValueError("bad 010203-1234")
        except ValueError:
            log.exception("msg 0102031234", extra={"question": ["q 311299-1111"]})
    finally:
        request_id_var.reset(token)
    line = buf.getvalue().strip()
    entry = json.loads(line)
    assert entry["request_id"] == "rid-1"
    assert entry["question"] == [f"q {CPR_MASK}"]
    for raw in ("010203-1234", "0102031234", "311299-1111"):
        assert raw not in line


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\x\\Rapport 2020.DOCX") == "Rapport_2020.docx"
    assert safe_filename("..") == "upload"
    assert safe_filename("kvalitet-på-bosted.md") == "kvalitet-på-bosted.md"


@pytest.mark.parametrize(
    "text", ["", "a", "en to tre fire fem seks syv", "  a\n\nb  c ", "æøå " * 9]
)
def test_split_for_stream_is_lossless(text: str) -> None:
    assert "".join(split_for_stream(text)) == text


def test_format_reply_lists_sources() -> None:
    cite = Citation(
        n=1,
        doc_id="d",
        title="Titel",
        language="en",
        section="A > B",
        page=3,
        quote="a  quote\nspanning",
        start=0,
        end=5,
        score=0.5,
    )
    answer = Answer(answer="Text [1].", language="en", abstained=False, citations=[cite])
    reply = format_reply(answer)
    assert reply.startswith("Text [1].\n\nSources:\n")
    assert '[1] Titel — A > B (p. 3): "a quote spanning"' in reply
    no_sources = Answer(answer="Ved ikke.", language="da", abstained=True)
    assert format_reply(no_sources) == "Ved ikke."


def test_not_ready_before_the_assistant_loads(tmp_path) -> None:  # noqa: ANN001
    # Without entering the lifespan nothing loads: the state right after start-up.
    app = create_app(Settings(data_dir=tmp_path))
    with_client = TestClient(app, raise_server_exceptions=False)
    assert with_client.get("/healthz").json() == {"status": "ok"}
    ready = with_client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["ready"] is False
    r = with_client.post("/api/ask", json={"question": "Hvad er kvalitet?"})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "not_ready"
    assert r.headers["retry-after"] == "5"
    assert r.json()["request_id"] == r.headers["x-request-id"]


def test_format_reply_shows_warnings() -> None:
    answer = Answer(answer="Svar.", language="da", abstained=True, warnings=["Pas på."])
    assert format_reply(answer) == "Svar.\n\n⚠ Pas på."


def test_serve_uses_the_factory_import_string(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from assistant import serve as serve_module

    configs: list[Any] = []
    monkeypatch.setattr(serve_module, "configure_logging", lambda: None)
    monkeypatch.setattr(
        serve_module.Supervisor, "__init__", lambda self, config, sockets: configs.append(config)
    )
    monkeypatch.setattr(serve_module.Supervisor, "run", lambda self: None)
    monkeypatch.setattr(serve_module.Config, "bind_socket", lambda self: None)
    serve_module.main(["--host", "127.0.0.1", "--port", "8123", "--workers", "2"])
    (config,) = configs
    # An import string plus factory=True is what lets uvicorn start several worker processes.
    module, _, attr = config.app.partition(":")
    assert getattr(importlib.import_module(module), attr) is create_app
    assert config.factory is True and config.workers == 2 and config.port == 8123
    assert config.access_log is False  # ours replaces it (CPR-masked, with request ids)
    # The protocol with a deadline for request heads, by import string (workers import it).
    module, _, attr = config.http.partition(":")
    assert getattr(importlib.import_module(module), attr) is serve_module.HeadTimeoutProtocol


