"""A fake assistant API for the UI's AppTest tests, served through httpx.MockTransport.

It is not a server: it answers in-process requests made by ``ui.api_client`` so the tests can
exercise the pages' logic (streaming, citations, abstentions, errors) without the real stack.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx

from assistant.guard import contains_cpr
from assistant.question_bank import BankError, bank_topics

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # lets `pytest tests/...` import `ui` without installing it
    sys.path.insert(0, str(ROOT))

APP = str(ROOT / "ui" / "app.py")

DA_TEXT = (
    "Hvad er kvalitet på botilbud og i bostøtte?\n\n"
    "Socialstyrelsen sætter fokus på kvalitet i socialpsykiatrien.\n\n"
    "Recovery\n\n"
    "Samarbejdet mellem borger og medarbejder skal være ligeværdigt, og borgerens egen "
    "forståelse af et meningsfuldt liv skal være central i indsatsen."
)
DA_QUOTE = "Samarbejdet mellem borger og medarbejder skal være ligeværdigt"
DA_QUOTE_START = DA_TEXT.index(DA_QUOTE)
RECOVERY_START = DA_TEXT.index("Recovery")

# Markup as the seed texts carry it (headings, bold, dead links, "- >" list items).
MARKUP_TEXT = (
    "# The sub-initiatives\n\n## **The individual sub-initiatives**\n\n"
    "[Literature study: Quality of housing](#)\n\n"
    "> How you as a leader create a common professional approach\n\n"
    "- > How to implement and anchor common professional methods\n"
    "- > How to ensure that employees have the necessary competencies\n"
)

DOCS: list[dict[str, Any]] = [
    {
        "doc_id": "nyhed-da",
        "title": "Hvad er kvalitet på botilbud og i bostøtte?",
        "language": "da",
        "kind": "news",
        "published": "2020-09-03",
        "publisher": "Socialstyrelsen",
        "translation_of": None,
        "source_path": "corpus/001.txt",
        "chunk_count": 2,
        "char_count": len(DA_TEXT),
    },
    {
        "doc_id": "news-en",
        "title": "What is the quality of housing and housing support?",
        "language": "en",
        "kind": "news",
        "published": "2020-08-03",
        "publisher": "Socialstyrelsen",
        "translation_of": "nyhed-da",
        "source_path": "corpus/000.txt",
        "chunk_count": 2,
        "char_count": 100,
    },
]

DOC_DETAIL: dict[str, Any] = {
    **DOCS[0],
    "text": DA_TEXT,
    "sections": [
        {"heading": "Indledning", "start": 0, "end": RECOVERY_START, "page": None},
        {"heading": "Recovery", "start": RECOVERY_START, "end": len(DA_TEXT), "page": None},
    ],
    "chunks": [],
}

CITATION: dict[str, Any] = {
    "n": 1,
    "doc_id": "nyhed-da",
    "title": DOCS[0]["title"],
    "language": "da",
    "section": "Recovery",
    "page": None,
    "quote": DA_QUOTE,
    "start": DA_QUOTE_START,
    "end": DA_QUOTE_START + len(DA_QUOTE),
    "score": 0.9,
}

ANSWER: dict[str, Any] = {
    "answer": "Kvalitet handler om et ligeværdigt samarbejde med borgeren [1].",
    "language": "da",
    "abstained": False,
    "citations": [CITATION],
    "related": [],
    "warnings": [],
    "timings_ms": {"total": 12.0},
}

ABSTAIN: dict[str, Any] = {
    "answer": "Det kan jeg ikke svare på ud fra materialet.",
    "language": "da",
    "abstained": True,
    "citations": [],
    "related": [
        {
            "chunk_id": "nyhed-da:0",
            "doc_id": "nyhed-da",
            "title": DOCS[0]["title"],
            "language": "da",
            "kind": "news",
            "section": "Indledning",
            "page": None,
            "start": 0,
            "end": 40,
            "text": DA_TEXT[:40],
            "score": 0.2,
        }
    ],
    "warnings": [],
    "timings_ms": {},
}


def sse(events: list[tuple[str, Any]]) -> bytes:
    return "".join(
        f"event: {name}\r\ndata: {json.dumps(data)}\r\n\r\n" for name, data in events
    ).encode()


class FakeApi:
    """Records requests; ``mode`` switches between normal, 'down', 'timeout' and 'reject'."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[httpx.Request] = []
        self.feedback: list[dict[str, Any]] = []
        self.asked: list[dict[str, Any]] = []
        self.other_versions: list[dict[str, Any]] = []
        self.answer_extra: dict[str, Any] = {}  # more answer fields (fell_back, ...)
        self.uploaded: set[str] = set()
        self.uploads: list[tuple[list[str], bool]] = []  # (file names, replace?) per 202

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        path, method = request.url.path, request.method
        if path.startswith("/api/ask"):
            if self.mode == "timeout":
                raise httpx.ReadTimeout("read timed out", request=request)
            body = json.loads(request.content)
            self.asked.append(body)
            answer = ABSTAIN if "pizza" in body["question"].lower() else ANSWER
            answer = {**answer, "other_versions": self.other_versions, **self.answer_extra}
            if contains_cpr(body["question"]) or any(
                contains_cpr(turn["content"]) for turn in body.get("history", [])
            ):
                # As the real API does: a warning whenever the request holds a CPR number.
                answer["warnings"] = ["Spørgsmålet ser ud til at indeholde et CPR-nummer."]
            if path == "/api/ask/stream":
                words = answer["answer"].split(" ")
                deltas = [("delta", {"text": w + " "}) for w in words]
                events = [("citations", answer["citations"]), *deltas, ("done", answer)]
                return httpx.Response(
                    200, content=sse(events), headers={"content-type": "text/event-stream"}
                )
            return httpx.Response(200, json=answer)
        if path == "/api/study/topics":
            # As the real API does: the bank file KVA_QUESTION_BANK names, a broken one a 503.
            try:
                return httpx.Response(200, json=bank_topics())
            except BankError as exc:
                error = {"code": "question_bank_unreadable", "message": f"The question bank: {exc}"}
                return httpx.Response(503, json={"error": error})
        if path == "/api/documents" and method == "GET":
            return httpx.Response(200, json={"documents": DOCS, "count": len(DOCS)})
        if path == "/api/documents" and method == "POST":
            if request.headers.get("authorization") != "Bearer secret":
                return httpx.Response(403, json={"error": {"code": "forbidden", "message": "no"}})
            if self.mode == "reject":
                return httpx.Response(
                    415,
                    json={"error": {"code": "unsupported", "message": "file type not allowed"}},
                )
            # As the real API does: a name uploaded before needs ?replace=true.
            names = re.findall(rb'filename="([^"]+)"', request.content)
            names = [n.decode() for n in names]
            taken = [n for n in names if n in self.uploaded]
            if taken and request.url.params.get("replace") != "true":
                message = (
                    f"{', '.join(taken)}: a file of that name was uploaded before; upload again "
                    "with ?replace=true to replace it."
                )
                return httpx.Response(
                    409, json={"error": {"code": "document_exists", "message": message}}
                )
            self.uploaded.update(names)
            self.uploads.append((names, request.url.params.get("replace") == "true"))
            return httpx.Response(202, json={"job_id": "job-1"})
        if path.startswith("/api/documents/") and method == "DELETE":
            if request.headers.get("authorization") != "Bearer secret":
                return httpx.Response(403, json={"error": {"code": "forbidden", "message": "no"}})
            return httpx.Response(204)
        if path == "/api/jobs/job-1":
            return httpx.Response(200, json={"status": "done", "report": {"added": 1}})
        if path == "/api/documents/nyhed-da" and method == "GET":
            body = {k: v for k, v in DOC_DETAIL.items() if k not in ("text", "sections", "chunks")}
            return httpx.Response(
                200,
                json={
                    "document": body,
                    **{k: DOC_DETAIL[k] for k in ("text", "sections", "chunks")},
                },
            )
        if path == "/api/feedback":
            self.feedback.append(json.loads(request.content))
            return httpx.Response(200, json={"ok": True})
        if path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        return httpx.Response(404, json={"error": {"code": "not_found", "message": path}})
