"""End to end: the generative composer through ``ChatOpenAI`` against a real OpenAI-compatible
HTTP server on loopback (``fake_openai.FakeOpenAI`` replays scripted completions, streamed and
not), then the whole API with the generative composer live."""

from __future__ import annotations

import json
import logging
import socket

import httpx
import pytest
from api_fixtures import LogCapture, parse_sse, start_server
from fake_openai import Fail, FakeOpenAI, Slow, passage_number

from ingest.settings import Settings

DA_Q = "Hvilken paragraf i serviceloven gælder for bostøtte?"
SECTION_85 = "Section 85 of the Service Act"


def good_reply(body: dict) -> str:
    n = passage_number(body, SECTION_85)
    return f"Bostøtte gives efter servicelovens § 85 [{n}]."


@pytest.fixture(scope="module")
def fake():  # noqa: ANN201
    with FakeOpenAI() as server:
        yield server


def generative(settings: Settings, url: str, **kw: object) -> Settings:
    return settings.model_copy(
        update={
            "composer": "generative",
            "llm_base_url": url,
            "llm_model": "org-model",
            "llm_timeout_s": 3.0,
            # Fixed here so the tests do not move with the fitted default.
            "llm_min_similarity": 0.84,
            **kw,
        }
    )


@pytest.mark.parametrize("stream", [False, True])
def test_chat_openai_against_a_loopback_server(corpus_settings, fake, stream: bool) -> None:  # noqa: ANN001
    from assistant.pipeline import Assistant

    fake.queue(good_reply)
    assistant = Assistant(generative(corpus_settings, fake.url, llm_stream=stream))
    answer = assistant.ask(DA_Q)
    assert answer.composer == "generative" and not answer.fell_back, answer
    assert answer.answer == "Bostøtte gives efter servicelovens § 85. [1]"
    assert "Section 85" in answer.citations[0].quote
    sent = fake.requests[-1]
    assert sent["model"] == "org-model" and bool(sent.get("stream")) is stream
    assert sent["max_tokens"] == 400 and "max_completion_tokens" not in sent
    assert (
        sent["messages"][0]["role"] == "system"
        and '<passage n="1"' in sent["messages"][1]["content"]
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (Fail(429, "rate limited"), "llm_rate_limited"),
        (Fail(500, "model crashed"), "llm_error"),
        (Slow(5.0, "Bostøtte gives efter § 85 [1]."), "llm_timeout"),
        ("Bostøtte gives efter servicelovens § 85, som alle ved.", "format_ignored"),
        (
            lambda body: (
                f"Bostøtte gives efter servicelovens § 58 [{passage_number(body, SECTION_85)}]."
            ),
            "too_little_verified",
        ),
        (None, "llm_unavailable"),
    ],
)
def test_failures_end_in_the_extractive_answer(corpus_settings, fake, step, reason: str) -> None:  # noqa: ANN001
    from assistant.pipeline import Assistant

    url = fake.url if step is not None else f"http://127.0.0.1:{closed_port()}/v1"
    if step is not None:
        fake.queue(step)
    assistant = Assistant(generative(corpus_settings, url, llm_timeout_s=1.0))
    answer = assistant.ask(DA_Q)
    assert answer.fell_back and answer.fallback_reason == reason, answer
    assert "85" in answer.answer and answer.citations and not answer.abstained


def test_api_with_the_generative_composer(corpus_settings, fake, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.INFO, logger="kva.generative")
    server = start_server(generative(corpus_settings, fake.url), LogCapture())
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            ready = client.get("/readyz").json()
            assert ready["composer"] == "generative" and ready["llm"]["model"] == "org-model"

            fake.queue(good_reply)
            body = client.post("/api/ask", json={"question": DA_Q}).json()
            assert body["composer"] == "generative" and body["fell_back"] is False
            assert body["answer"] == "Bostøtte gives efter servicelovens § 85. [1]"

            # SSE: the verified answer, streamed.
            fake.queue(good_reply)
            events = parse_sse(client.post("/api/ask/stream", json={"question": DA_Q}).text)
            text = "".join(json.loads(d)["text"] for e, d in events if e == "delta")
            assert text == "Bostøtte gives efter servicelovens § 85. [1]"
            done = json.loads(next(d for e, d in events if e == "done"))
            assert done["composer"] == "generative" and not done["fell_back"]

            # /v1 streaming: a reply the verifier rejects never reaches the client.
            fake.queue(lambda b: "Bostøtte gives efter servicelovens § 99 [1]. Ring 12345678 [1].")
            r = client.post(
                "/v1/chat/completions",
                json={
                    "model": "kvalitetsassistenten",
                    "messages": [{"role": "user", "content": DA_Q}],
                    "stream": True,
                },
            )
            streamed = "".join(
                (json.loads(d)["choices"] or [{}])[0].get("delta", {}).get("content", "")
                for _, d in parse_sse(r.text)
                if d != "[DONE]"
            )
            assert "99" not in streamed and "12345678" not in streamed and "85" in streamed

            # The model down: still a 200 with the extractive answer, and a log line.
            fake.queue(Fail(503, "overloaded"))
            r = client.post("/api/ask", json={"question": DA_Q})
            assert r.status_code == 200 and r.json()["fell_back"] is True
        reasons = {getattr(r, "reason", None) for r in caplog.records if "fell back" in r.msg}
        assert reasons >= {"llm_error", "too_little_verified"}
    finally:
        server.stop()


def first_sentence_reply(body: dict) -> str:
    """Restates the first passage's first full sentence: faithful, so it should be kept."""
    import re

    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    text = re.search(r'<passage n="1"[^>]*>\n(.*?)</passage>', user, re.S).group(1)
    sentence = next(
        (s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if len(s.split()) > 5),
        text,
    )
    return f"{sentence.rstrip('.')} [1]."


def test_evals_side_by_side(corpus_settings, fake, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from evals.cli import main

    for _ in range(40):
        fake.queue(first_sentence_reply)
    monkeypatch.setenv("KVA_LLM_BASE_URL", fake.url)
    monkeypatch.setenv("KVA_LLM_MODEL", "org-model")
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "evals/suites/core.yaml",
            "--tag",
            "service-act",
            "--data-dir",
            str(corpus_settings.data_dir),
            "--composer",
            "generative",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    table = (out / "composers.md").read_text(encoding="utf-8")
    assert "| metric | extractive | generative |" in table and "faithfulness" in table
    stats = json.loads((out / "composers.json").read_text(encoding="utf-8"))
    assert stats["extractive"]["generated_sentences"] == 0
    assert stats["generative"]["generated_sentences"] > 0
    assert 0 < stats["generative"]["faithfulness"] <= 1
    assert (out / "extractive" / "results.json").is_file()
