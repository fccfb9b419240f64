"""The UI's only way to data: a small httpx client for the assistant's HTTP API.

Every failure becomes an ``ApiError`` with a ``kind`` the pages can turn into a kind sentence
("down", "timeout", "rejected", "auth", "not_found", "server"), so no page ever shows a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
ErrorKind = Literal["down", "timeout", "rejected", "auth", "not_found", "server"]

# Tests swap in an httpx.MockTransport here; production leaves it None (real network).
_transport_override: httpx.BaseTransport | None = None


def set_transport(transport: httpx.BaseTransport | None) -> None:
    global _transport_override
    _transport_override = transport


class ApiError(Exception):
    def __init__(self, kind: ErrorKind, message: str = "", status: int | None = None) -> None:
        super().__init__(message or kind)
        self.kind = kind
        self.message = message
        self.status = status


@dataclass
class StreamEvent:
    event: str
    data: Any


def _error_from_response(response: httpx.Response) -> ApiError:
    message = ""
    try:
        body = response.json()
        err = body.get("error") if isinstance(body, dict) else None
        if isinstance(err, dict):
            message = str(err.get("message") or err.get("code") or "")
        elif isinstance(body, dict) and "detail" in body:
            message = str(body["detail"])
    except (ValueError, json.JSONDecodeError):
        message = response.text[:200]
    status = response.status_code
    if status in (401, 403):
        kind: ErrorKind = "auth"
    elif status == 404:
        kind = "not_found"
    elif 400 <= status < 500:
        kind = "rejected"
    else:
        kind = "server"
    return ApiError(kind, message or f"HTTP {status}", status)


def _parse_sse(lines: Iterator[str]) -> Iterator[StreamEvent]:
    """Server-sent events: ``event:``/``data:`` lines, dispatched on a blank line."""
    event, data_lines = "message", []
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data_lines:
                yield StreamEvent(event, _maybe_json("\n".join(data_lines)))
            event, data_lines = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data_lines.append(value)
    if data_lines:
        yield StreamEvent(event, _maybe_json("\n".join(data_lines)))


def _stream_error_message(data: Any) -> str:
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("code") or "")
    return str(data)


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class ApiClient:
    def __init__(
        self,
        base_url: str | None = None,
        timeout_s: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("API_URL") or DEFAULT_API_URL).rstrip("/")
        read = timeout_s or float(os.environ.get("KVA_UI_TIMEOUT_S", "90"))
        # A short connect timeout makes "API down" show quickly; answers may legitimately be slow.
        self.timeout = httpx.Timeout(read, connect=min(5.0, read))
        self._transport = transport or _transport_override

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=self.timeout, transport=self._transport)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            with self._client() as client:
                response = client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise ApiError("down", str(exc)) from exc
            raise ApiError("timeout", str(exc)) from exc
        except httpx.TransportError as exc:
            raise ApiError("down", str(exc)) from exc
        if response.status_code >= 400:
            raise _error_from_response(response)
        return response

    # --- questions -------------------------------------------------------------------------

    def ask(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/api/ask", json=payload).json()

    def ask_stream(self, payload: dict[str, Any]) -> Iterator[StreamEvent]:
        """Yield SSE events; falls back to one ``done`` event if the API has no stream route."""
        try:
            with (
                self._client() as client,
                client.stream(
                    "POST", "/api/ask/stream", json=payload, headers={"Accept": "text/event-stream"}
                ) as response,
            ):
                if response.status_code in (404, 405):
                    fallback = True
                elif response.status_code >= 400:
                    response.read()
                    raise _error_from_response(response)
                else:
                    fallback = False
                    for item in _parse_sse(response.iter_lines()):
                        if item.event == "error":
                            data = item.data if isinstance(item.data, dict) else {}
                            err = data.get("error", data) if isinstance(data, dict) else {}
                            msg = (
                                err.get("message", str(item.data)) if isinstance(err, dict) else ""
                            )
                            raise ApiError("server", msg)
                        yield item
        except httpx.TimeoutException as exc:
            kind: ErrorKind = "down" if isinstance(exc, httpx.ConnectTimeout) else "timeout"
            raise ApiError(kind, str(exc)) from exc
        except httpx.TransportError as exc:
            raise ApiError("down", str(exc)) from exc
        if fallback:
            yield StreamEvent("done", self.ask(payload))

    def feedback(self, payload: dict[str, Any]) -> None:
        self._request("POST", "/api/feedback", json=payload)

    # --- documents -------------------------------------------------------------------------

    def study_topics(self) -> list[dict[str, Any]]:
        """The trainers' question bank: ``[{n, title: {da, en}, questions: {da, en}}]``."""
        return self._request("GET", "/api/study/topics").json()

    def documents(self) -> list[dict[str, Any]]:
        body = self._request("GET", "/api/documents").json()
        # Accept both a bare list and the {"documents": [...], "count": n} envelope.
        return body.get("documents", []) if isinstance(body, dict) else body

    def document(self, doc_id: str) -> dict[str, Any]:
        """Metadata, ``text``, ``sections`` and ``chunks`` as one flat dict."""
        body = self._request("GET", f"/api/documents/{doc_id}").json()
        meta = body.get("document")
        return {**meta, **{k: v for k, v in body.items() if k != "document"}} if meta else body

    def upload(
        self, files: list[tuple[str, bytes, str]], api_key: str, *, replace: bool = False
    ) -> str:
        """Start an ingestion job; a name uploaded before is a 409 unless ``replace``."""
        multipart = [("files", (name, data, mime)) for name, data, mime in files]
        response = self._request(
            "POST",
            "/api/documents",
            files=multipart,
            headers=_bearer(api_key),
            params={"replace": "true"} if replace else None,
        )
        return str(response.json()["job_id"])

    def job(self, job_id: str, api_key: str) -> dict[str, Any]:
        return self._request("GET", f"/api/jobs/{job_id}", headers=_bearer(api_key)).json()

    def delete_document(self, doc_id: str, api_key: str) -> None:
        self._request("DELETE", f"/api/documents/{doc_id}", headers=_bearer(api_key))

    def healthy(self) -> bool:
        try:
            self._request("GET", "/healthz")
        except ApiError:
            return False
        return True


def _bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}
