"""The workshop pages' HTTP calls (``/api/workshops``, and ``/api/study`` for preparing one),
on the UI's one API client.

The list is polled with its ETag: an unchanged room costs a 304 and one small query.

Example:
    >>> client = WorkshopClient("http://127.0.0.1:8000")
    >>> client.base_url
    'http://127.0.0.1:8000'
"""

from __future__ import annotations

from typing import Any, Literal

from ui.api_client import ApiClient

Action = Literal["approve", "hide", "spotlight", "unspotlight", "answered", "unanswered"]


def _trainer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _participant(participant_id: str) -> dict[str, str]:
    return {"X-Participant-Id": participant_id}


class WorkshopClient(ApiClient):
    def create(self, title: str, language: str, api_key: str | None = None) -> dict[str, Any]:
        headers = _trainer(api_key) if api_key else None
        body = {"title": title, "language": language}
        return self._request("POST", "/api/workshops", json=body, headers=headers).json()

    def info(self, code: str) -> dict[str, Any]:
        return self._request("GET", f"/api/workshops/{code}").json()

    def join(self, code: str) -> dict[str, Any]:
        return self._request("POST", f"/api/workshops/{code}/join").json()

    def questions(
        self,
        code: str,
        *,
        token: str | None = None,
        participant_id: str | None = None,
        etag: str | None = None,
    ) -> tuple[dict[str, Any] | None, str | None]:
        """(the list, its ETag); the list is None when nothing changed since ``etag``."""
        headers = _trainer(token) if token else {}
        if participant_id and not token:
            headers.update(_participant(participant_id))
        if etag:
            headers["If-None-Match"] = etag
        response = self._request("GET", f"/api/workshops/{code}/questions", headers=headers)
        if response.status_code == 304:
            return None, etag
        return response.json(), response.headers.get("ETag")

    def ask(
        self, code: str, participant_id: str, text: str, name: str | None = None
    ) -> dict[str, Any]:
        return self._request(
            "POST",
            f"/api/workshops/{code}/questions",
            json={"text": text, "name": name or None},
            headers=_participant(participant_id),
        ).json()

    def vote(self, code: str, participant_id: str, question_id: int) -> dict[str, Any]:
        path = f"/api/workshops/{code}/questions/{question_id}/vote"
        return self._request("POST", path, headers=_participant(participant_id)).json()

    def moderate(self, code: str, token: str, question_id: int, action: Action) -> dict[str, Any]:
        method = "DELETE" if action.startswith("un") else "POST"
        path = f"/api/workshops/{code}/questions/{question_id}/{action.removeprefix('un')}"
        return self._request(method, path, headers=_trainer(token)).json()

    def close(self, code: str, token: str) -> dict[str, Any]:
        return self._request("POST", f"/api/workshops/{code}/close", headers=_trainer(token)).json()

    def export(self, code: str, token: str, fmt: str) -> bytes:
        return self._request(
            "GET", f"/api/workshops/{code}/export", params={"format": fmt}, headers=_trainer(token)
        ).content

    def study(self, params: dict[str, str]) -> dict[str, Any]:
        """Key points, FAQ and quiz for ``doc_id`` (+ ``section``) or ``topic``."""
        return self._request("GET", "/api/study", params=params).json()
