"""Backends: the one seam between the runner and whatever answers the questions.

A backend answers a question, returns a document's text (to check citations) and describes
itself (settings and corpus fingerprint, so runs are comparable). Three exist: the in-process
``Assistant``, the HTTP API, and ``StaticBackend`` with canned answers for tests and examples.

Example:
    >>> from assistant.models import Answer
    >>> backend = StaticBackend(
    ...     {"Hvem?": Answer(answer="VIVE.", language="da", abstained=False)},
    ...     documents={"doc-a": "VIVE wrote it."})
    >>> backend.ask("Hvem?").answer
    'VIVE.'
    >>> backend.describe()["corpus_fingerprint"][:8]
    '3b332106'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from assistant.models import Answer, Filters, Turn

_SECRET_HINTS = ("key", "secret", "password", "token")


class Backend(Protocol):
    """What the runner needs from an assistant."""

    def ask(
        self,
        question: str,
        *,
        language: str | None = None,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
    ) -> Answer: ...

    def document_text(self, doc_id: str) -> str | None: ...

    def describe(self) -> dict[str, Any]: ...


def redact(config: Mapping[str, Any]) -> dict[str, Any]:
    """Settings safe to write into results.json: secret-looking values replaced.

    >>> redact({"api_key": "s3cret", "collection": "kvalitet"})
    {'api_key': '***', 'collection': 'kvalitet'}
    """
    return {
        k: ("***" if v and any(h in k.lower() for h in _SECRET_HINTS) else v)
        for k, v in config.items()
    }


def fingerprint(docs: Iterable[tuple[str, str]]) -> str:
    """A stable hash over (doc_id, content hash) pairs, independent of their order."""
    digest = hashlib.sha256()
    for doc_id, content_hash in sorted(docs):
        digest.update(f"{doc_id}\0{content_hash}\n".encode())
    return digest.hexdigest()


class StaticBackend:
    """Canned answers keyed by question; unknown questions get an abstention.

    Deterministic, needs no store: for unit tests and for trying a suite's format.
    """

    def __init__(
        self,
        answers: Mapping[str, Answer | Mapping[str, Any]],
        documents: Mapping[str, str] | None = None,
    ) -> None:
        self._answers = {
            q: a if isinstance(a, Answer) else Answer.model_validate(a) for q, a in answers.items()
        }
        self._documents = dict(documents or {})
        self.calls: list[dict[str, Any]] = []

    def ask(
        self,
        question: str,
        *,
        language: str | None = None,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        self.calls.append(
            {"question": question, "language": language, "history": history, "filters": filters}
        )
        if not question.strip():
            raise ValueError("empty question")
        if question in self._answers:
            return self._answers[question]
        lang = language or "da"
        text = "Det står ikke i materialet." if lang == "da" else "That is not in the material."
        return Answer(answer=text, language=lang, abstained=True)

    def document_text(self, doc_id: str) -> str | None:
        return self._documents.get(doc_id)

    def describe(self) -> dict[str, Any]:
        docs = [(d, hashlib.sha256(t.encode()).hexdigest()) for d, t in self._documents.items()]
        return {
            "backend": "static",
            "settings": {},
            "corpus_fingerprint": fingerprint(docs),
            "documents": sorted(self._documents),
        }


class InProcessBackend:
    """The real ``Assistant`` in this process, over the store described by ``settings``."""

    def __init__(self, settings: Any | None = None) -> None:
        # Imported here so suites can be validated and reports compared without the
        # assistant's heavy dependencies (embeddings, Chroma) being importable.
        from assistant.pipeline import Assistant
        from ingest.settings import get_settings
        from ingest.store import open_store

        self.settings = settings or get_settings()
        self.assistant = Assistant(self.settings)
        # Through the store seam: on PostgreSQL the texts citations are checked against live
        # in the database, not in a records file under the data dir.
        self.records = open_store(self.settings)
        self._texts: dict[str, str | None] = {}

    def ask(
        self,
        question: str,
        *,
        language: str | None = None,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        return self.assistant.ask(question, language=language, history=history, filters=filters)

    def document_text(self, doc_id: str) -> str | None:
        if doc_id not in self._texts:
            self._texts[doc_id] = self.records.get_text(doc_id)
        return self._texts[doc_id]

    def describe(self) -> dict[str, Any]:
        docs: list[tuple[str, str]] = []
        list_documents = getattr(self.records, "list_documents", None)
        if list_documents is not None:
            docs = [(d.doc_id, d.content_hash) for d in list_documents()]
        return {
            "backend": "in-process",
            "settings": redact(self.settings.model_dump(mode="json")),
            "corpus_fingerprint": fingerprint(docs) if docs else None,
            "documents": sorted(d for d, _ in docs),
            "lexicon": self.assistant.glossary.lexicon.description,
        }


class HttpBackend:
    """A running API: ``POST /api/ask`` and ``GET /api/documents/{id}``."""

    def __init__(self, url: str, *, timeout: float = 120.0, client: Any | None = None) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.client = client or httpx.Client(base_url=self.url, timeout=timeout)
        self._texts: dict[str, str | None] = {}

    def ask(
        self,
        question: str,
        *,
        language: str | None = None,
        history: list[Turn] | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        body: dict[str, Any] = {"question": question}
        if language:
            body["language"] = language
        if history:
            body["history"] = [t.model_dump() for t in history]
        if filters:
            body["filters"] = filters.model_dump(exclude_none=True)
        resp = self.client.post("/api/ask", json=body)
        if resp.status_code >= 400:
            raise RuntimeError(f"POST /api/ask -> HTTP {resp.status_code}: {resp.text[:300]}")
        return Answer.model_validate(resp.json())

    def document_text(self, doc_id: str) -> str | None:
        if doc_id not in self._texts:
            resp = self.client.get(f"/api/documents/{doc_id}")
            self._texts[doc_id] = resp.json().get("text") if resp.status_code == 200 else None
        return self._texts[doc_id]

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "backend": "http",
            "settings": {"api_url": self.url},
            "corpus_fingerprint": None,
            "documents": [],
        }
        # The document list is not part of the guaranteed API; use it when it is there.
        try:
            resp = self.client.get("/api/documents")
            data = resp.json() if resp.status_code == 200 else None
        except Exception:  # noqa: BLE001 - describing must never stop a run
            data = None
        if isinstance(data, dict):
            data = data.get("documents")
        if isinstance(data, list):
            docs = [
                (str(d["doc_id"]), str(d.get("content_hash", "")))
                for d in data
                if isinstance(d, dict) and "doc_id" in d
            ]
            if docs:
                info["documents"] = sorted(d for d, _ in docs)
                if all(h for _, h in docs):
                    info["corpus_fingerprint"] = fingerprint(docs)
        # The dictionaries the server's assistant bridges the languages with.
        try:
            resp = self.client.get("/readyz")
            info["lexicon"] = resp.json().get("lexicon")
        except Exception:  # noqa: BLE001 - describing must never stop a run
            pass
        return info
