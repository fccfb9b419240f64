"""Concurrency and privacy against the real server: 50 simultaneous asks, CPR never logged."""

from __future__ import annotations

import asyncio
import json

import api_fixtures
import httpx
from api_fixtures import Server

api = api_fixtures.api
client = api_fixtures.client

QUESTIONS = [
    "Hvad er kvalitet på botilbud og i bostøtte?",
    "What is quality in housing support?",
    "Hvilke delinitiativer er der om kvalitet i socialpsykiatrien?",
    "What are the sub-initiatives on quality in social psychiatry?",
]


def test_fifty_concurrent_asks_all_succeed(api: Server) -> None:
    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=api.url, timeout=180, limits=limits) as c:
            return await asyncio.gather(
                *(
                    c.post("/api/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
                    for i in range(50)
                )
            )

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 50
    ids = {r.headers["x-request-id"] for r in responses}
    assert len(ids) == 50
    # Same question, same answer, whatever the interleaving.
    by_question: dict[str, set[str]] = {}
    for i, r in enumerate(responses):
        by_question.setdefault(QUESTIONS[i % len(QUESTIONS)], set()).add(r.json()["answer"])
    assert all(len(answers) == 1 for answers in by_question.values())


CPRS = ["010203-1234", "3112991234", "150687-4321"]


def test_cpr_is_masked_in_logs_and_warned_about(api: Server, client: httpx.Client) -> None:
    da = client.post(
        "/api/ask",
        json={"question": f"Borgeren med CPR {CPRS[0]} bor på botilbud. Hvad er kvalitet?"},
    )
    assert da.status_code == 200
    assert any("CPR" in w and "personoplysninger" in w for w in da.json()["warnings"])
    assert CPRS[0] not in da.text

    en = client.post(
        "/api/ask",
        json={"question": f"What is quality for citizen {CPRS[1]}?", "language": "en"},
    )
    assert any("personal data" in w for w in en.json()["warnings"])

    r = client.get("/api/search", params={"q": f"kvalitet {CPRS[2]}"})
    assert r.status_code == 200
    client.get(f"/api/search?q=kvalitet%20{CPRS[1]}")
    stream = client.post("/api/ask/stream", json={"question": f"{CPRS[2]} kvalitet?"})
    assert "personoplysninger" in stream.text or "personal data" in stream.text
    chat = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": f"Hvad er kvalitet? {CPRS[0]}"}]},
    )
    assert "⚠" in chat.json()["choices"][0]["message"]["content"]

    text = api.logs.text()
    for cpr in CPRS:
        assert cpr not in text
        assert cpr.replace("-", "") not in text
    records = api.logs.records()  # every line is JSON
    asks = [r for r in records if r.get("msg") == "ask" and r.get("cpr")]
    assert asks and all("******-****" in r["question"] for r in asks)
    searches = [r for r in records if r.get("path") == "/api/search" and "******" in r["query"]]
    assert len(searches) >= 2
    assert all(r.get("request_id") for r in records if r["logger"] == "kva.api.access")


def test_log_lines_are_json_with_request_ids(api: Server, client: httpx.Client) -> None:
    rid = client.get("/healthz", headers={"X-Request-ID": "log-check-1"}).headers["x-request-id"]
    lines = [json.loads(line) for line in api.logs.text().splitlines()]
    mine = [r for r in lines if r.get("request_id") == rid]
    assert mine and mine[-1]["path"] == "/healthz" and mine[-1]["status"] == 200
