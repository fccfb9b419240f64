"""Every JSON endpoint against a real uvicorn server on loopback, good input and bad."""

from __future__ import annotations

import json
import re

import api_fixtures
import httpx
import pytest
from api_fixtures import Server

# Fixtures by assignment (not import) so the parameter names below do not shadow an import.
api = api_fixtures.api
client = api_fixtures.client

DA_Q = "Hvad er kvalitet på botilbud og i bostøtte?"
EN_Q = "What is quality in housing support?"


def _error(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "request_id"}
    assert body["error"]["message"]
    assert body["request_id"] == r.headers["x-request-id"]
    if code:
        assert body["error"]["code"] == code
    return body


def test_health_and_ready(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["ready"] is True
    # Which dictionaries bridge the languages (an evaluation records it with its figures).
    assert r.json()["lexicon"].endswith(" stems)")
    # The committed generation it answers from (a replica preparing a newer one says so).
    store = r.json()["store"]
    assert store["generation"] >= 1 and store["preparing"] is False
    assert client.get("/docs").status_code == 200
    assert "/api/ask" in client.get("/openapi.json").json()["paths"]


def test_docs_need_no_network(client: httpx.Client) -> None:
    # Every script, style and icon of /docs and /redoc comes from this server, not a CDN.
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), (page, asset)
            assert client.get(asset).status_code == 200, asset
        assert "cdn." not in html and "fonts.googleapis" not in html
    assert '"validatorUrl": null' in client.get("/docs").text


def test_ask_answers_with_citations(client: httpx.Client) -> None:
    r = client.post("/api/ask", json={"question": DA_Q})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"answer", "language", "abstained", "citations", "warnings"}
    assert body["language"] == "da"
    assert body["answer"]
    if not body["abstained"]:
        assert body["citations"]
        c = body["citations"][0]
        doc = client.get(f"/api/documents/{c['doc_id']}").json()
        # A citation can be opened at its place: the quote is the exact span of the text.
        assert doc["text"][c["start"] : c["end"]] == c["quote"]


def test_ask_with_language_history_and_filters(client: httpx.Client) -> None:
    r = client.post(
        "/api/ask",
        json={
            "question": EN_Q,
            "language": "en",
            "history": [
                {"role": "user", "content": "Hello"},
                {"role": "assistant", "content": "Hi"},
            ],
            "filters": {"language": "en", "kind": ["news", "initiative"]},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["language"] == "en"
    assert all(c["language"] == "en" for c in body["citations"])


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"question": ""}, "empty_question"),
        ({"question": "   \n "}, "empty_question"),
        ({"question": "x" * 2001}, "question_too_long"),
        ({"question": 123}, "invalid_request"),
        ({}, "invalid_request"),
        ({"question": DA_Q, "language": "de"}, "invalid_request"),
        ({"question": DA_Q, "history": "not a list"}, "invalid_request"),
        ({"question": DA_Q, "history": [{"role": "system", "content": "x"}]}, "invalid_request"),
        ({"question": DA_Q, "filters": {"kind": ["blog"]}}, "invalid_request"),
        ({"question": DA_Q, "filters": {"language": "sv"}}, "invalid_request"),
        ({"question": DA_Q, "filters": {"lang": "da"}}, "invalid_request"),
        ({"question": DA_Q, "filters": {"doc_ids": ["no-such-doc"]}}, "unknown_doc_ids"),
        ({"question": DA_Q, "unexpected": 1}, "invalid_request"),
    ],
)
def test_ask_validation(client: httpx.Client, payload: dict, code: str) -> None:
    body = _error(client.post("/api/ask", json=payload), 422, code)
    # The raw input is never echoed (it could hold personal data).
    assert "x" * 100 not in str(body)


def test_ask_filtered_to_one_document(client: httpx.Client) -> None:
    doc_id = "news-quality-housing-support-en"
    r = client.post("/api/ask", json={"question": EN_Q, "filters": {"doc_ids": [doc_id]}})
    assert r.status_code == 200, r.text
    assert all(c["doc_id"] == doc_id for c in r.json()["citations"])
    stream = client.post(
        "/api/ask/stream", json={"question": EN_Q, "filters": {"doc_ids": ["nope"]}}
    )
    assert stream.status_code == 422
    assert stream.json()["error"]["code"] == "unknown_doc_ids"


def test_question_exactly_at_the_limit_is_accepted(client: httpx.Client) -> None:
    question = ("Hvad er kvalitet? " * 200)[:2000]
    assert client.post("/api/ask", json={"question": question}).status_code == 200


def test_malformed_json_and_wrong_content(client: httpx.Client) -> None:
    r = client.post(
        "/api/ask", content=b'{"question": "x"', headers={"content-type": "application/json"}
    )
    _error(r, 422, "invalid_request")
    _error(client.post("/api/ask", content=b"question=x"), 422)


def test_body_over_one_megabyte_is_413(client: httpx.Client) -> None:
    big = {"question": "x", "history": [{"role": "user", "content": "y" * 1_100_000}]}
    _error(client.post("/api/ask", json=big), 413, "too_large")

    # Chunked, without Content-Length: refused while streaming, not after buffering it all.
    def chunks():  # noqa: ANN202
        yield b'{"question": "'
        for _ in range(12):
            yield b"z" * 100_000
        yield b'"}'

    r = client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    _error(r, 413, "too_large")


def test_unknown_route_and_method(client: httpx.Client) -> None:
    _error(client.get("/api/nope"), 404, "not_found")
    _error(client.get("/api/ask"), 405, "method_not_allowed")


def test_request_ids(client: httpx.Client) -> None:
    a = client.get("/healthz").headers["x-request-id"]
    b = client.get("/healthz").headers["x-request-id"]
    assert a and b and a != b
    r = client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert r.headers["x-request-id"] == "trace-42"
    # Unsafe ids (spaces, too long) are replaced rather than copied into logs.
    r = client.get("/healthz", headers={"X-Request-ID": "bad id 010203-1234"})
    assert r.headers["x-request-id"] != "bad id 010203-1234"


def test_search(client: httpx.Client) -> None:
    r = client.get("/api/search", params={"q": "kvalitet botilbud", "k": 3})
    assert r.status_code == 200, r.text
    hits = r.json()
    assert 0 < len(hits) <= 3
    assert set(hits[0]) >= {"chunk_id", "doc_id", "title", "text", "score", "start", "end"}
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    r = client.get("/api/search", params={"q": "quality", "language": "en", "kind": "news"})
    assert r.status_code == 200
    assert all(h["language"] == "en" and h["kind"] == "news" for h in r.json())


@pytest.mark.parametrize(
    "params",
    [{}, {"q": ""}, {"q": "x", "k": 0}, {"q": "x", "k": "many"}, {"q": "x", "kind": "blog"}],
)
def test_search_validation(client: httpx.Client, params: dict) -> None:
    _error(client.get("/api/search", params=params), 422)


def test_documents(client: httpx.Client) -> None:
    listing = client.get("/api/documents").json()
    assert listing["count"] == len(listing["documents"]) >= 3
    ids = {d["doc_id"] for d in listing["documents"]}
    assert "nyhed-kvalitet-botilbud-bostoette-da" in ids
    doc = client.get("/api/documents/nyhed-kvalitet-botilbud-bostoette-da").json()
    assert doc["document"]["title"] == "Hvad er kvalitet på botilbud og i bostøtte?"
    assert doc["text"]
    assert doc["chunks"] and all(
        0 <= c["start"] < c["end"] <= len(doc["text"]) for c in doc["chunks"]
    )
    for s in doc["sections"]:
        assert s["text"] == doc["text"][s["start"] : s["end"]]
    _error(client.get("/api/documents/no-such-doc"), 404, "document_not_found")


def test_feedback_stored(api: Server, client: httpx.Client) -> None:
    from assistant.db.feedback import FeedbackStore

    r = client.post(
        "/api/feedback",
        json={"question": DA_Q, "answer": "Svar 010203-1234", "rating": "up", "comment": "god"},
    )
    assert r.status_code == 201, r.text
    row = FeedbackStore(api.app.state.db).get(r.json()["id"])
    assert row["rating"] == "up" and row["question"] == DA_Q
    assert "010203-1234" not in row["answer"]
    assert row["request_id"] == r.headers["x-request-id"]
    history = [{"role": "user", "content": "Hvad med 010203-1234?"}]
    r = client.post(
        "/api/feedback",
        json={"question": "og botilbud?", "answer": "a", "rating": "down", "history": history},
    )
    assert r.status_code == 201, r.text
    row = FeedbackStore(api.app.state.db).get(r.json()["id"])
    assert json.loads(row["history"]) == [{"role": "user", "content": "Hvad med ******-****?"}]
    bad = client.post("/api/feedback", json={"question": DA_Q, "answer": "a", "rating": "meh"})
    _error(bad, 422)
    _error(client.post("/api/feedback", json={"question": "", "answer": "a", "rating": "up"}), 422)


def test_jobs_unknown(client: httpx.Client) -> None:
    _error(client.get("/api/jobs/nope"), 404, "job_not_found")
