"""Server-sent events (``/api/ask/stream``) and the OpenAI-compatible endpoints, the latter
through the official ``openai`` client against the real server."""

from __future__ import annotations

import json
import socket

import api_fixtures
import httpx
import openai
import pytest
from api_fixtures import Server, parse_sse

api = api_fixtures.api
client = api_fixtures.client

DA_Q = "Hvad er kvalitet på botilbud og i bostøtte?"


def test_ask_stream_events_in_order(client: httpx.Client) -> None:
    r = client.post("/api/ask/stream", json={"question": DA_Q})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-request-id"]
    events = parse_sse(r.text)
    names = [name for name, _ in events]
    assert names[0] == "citations" and names[-1] == "done"
    assert set(names[1:-1]) <= {"delta"}
    done = json.loads(events[-1][1])
    citations = json.loads(events[0][1])
    assert citations == done["citations"]
    text = "".join(json.loads(data)["text"] for name, data in events if name == "delta")
    assert text == done["answer"]
    # The stream carries the same answer as the plain endpoint.
    plain = client.post("/api/ask", json={"question": DA_Q}).json()
    assert plain["answer"] == done["answer"]


def test_ask_stream_validation_is_a_plain_422(client: httpx.Client) -> None:
    for payload in ({"question": ""}, {"question": "x" * 2001}, {"question": 5}):
        r = client.post("/api/ask/stream", json=payload)
        assert r.status_code == 422
        assert r.json()["error"]["code"] in {
            "empty_question",
            "question_too_long",
            "invalid_request",
        }


def test_ask_stream_client_disconnect_is_harmless(api: Server, client: httpx.Client) -> None:
    host, port = api.url.removeprefix("http://").split(":")
    body = json.dumps({"question": DA_Q}).encode()
    head = (
        f"POST /api/ask/stream HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    # Abrupt disconnects: mid-body, right after the request, and after the first bytes.
    for payload, read in ((head + body[:10], False), (head + body, False), (head + body, True)):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(payload)
            if read:
                sock.recv(64)
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    # Still healthy and answering; nothing logged as an unhandled error.
    assert client.get("/healthz").status_code == 200
    assert client.post("/api/ask", json={"question": DA_Q}).status_code == 200
    assert not [r for r in api.logs.records() if r.get("msg") == "unhandled error"]


def test_models_endpoint(client: httpx.Client) -> None:
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    assert body["data"][0]["id"] == "kvalitetsassistenten"


@pytest.fixture()
def oai(api: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key="x", timeout=60, max_retries=0)


def test_openai_client_non_stream(oai: openai.OpenAI) -> None:
    assert [m.id for m in oai.models.list()] == ["kvalitetsassistenten"]
    completion = oai.chat.completions.create(
        model="kvalitetsassistenten",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hej"},
            {"role": "assistant", "content": "Hej! Hvad vil du vide?"},
            {"role": "user", "content": DA_Q},
        ],
    )
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    content = choice.message.content or ""
    assert content
    if "[1]" in content:
        assert "\n\nKilder:\n[1] " in content
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_openai_client_stream(oai: openai.OpenAI, client: httpx.Client) -> None:
    stream = oai.chat.completions.create(
        model="kvalitetsassistenten",
        messages=[{"role": "user", "content": DA_Q}],
        stream=True,
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    full = client.post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": DA_Q}]}
    ).json()
    assert text == full["choices"][0]["message"]["content"]


def test_openai_content_parts_are_accepted(client: httpx.Client) -> None:
    # Open WebUI-style content: a list of typed parts.
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "kvalitetsassistenten",
            "messages": [{"role": "user", "content": [{"type": "text", "text": DA_Q}]}],
            "temperature": 0.2,
        },
    )
    assert r.status_code == 200, r.text


def test_openai_errors(oai: openai.OpenAI, client: httpx.Client) -> None:
    with pytest.raises(openai.UnprocessableEntityError):
        oai.chat.completions.create(
            model="kvalitetsassistenten", messages=[{"role": "user", "content": " "}]
        )
    r = client.post(
        "/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]}
    )
    assert r.status_code == 422 and "last message" in r.json()["error"]["message"]
    assert client.post("/v1/chat/completions", json={"messages": []}).status_code == 422
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": 5}]})
    assert r.status_code == 422
