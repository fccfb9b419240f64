"""One error shape for every 4xx/5xx: ``{"error": {"code", "message"}, "request_id"}``.

Client mistakes (validation, wrong types, bad JSON, too large bodies) become 4xx with a
message a person can act on; only genuine faults become 500.

Example:
    >>> from assistant.api.errors import ApiError
    >>> ApiError(422, "empty_question", "The question is empty.").status_code
    422
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.api.logging import request_id_var
from assistant.document_texts import SnapshotMoved

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "not_ready",
}


class ApiError(Exception):
    """Raised by routes; rendered by :func:`install_error_handlers`."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers
        # More fields for the error object, e.g. OpenAI's ``type`` and ``param`` on /v1.
        self.extra = extra


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message, **extra}}
    body["request_id"] = request_id_var.get()
    return body


def error_response(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, **extra), status_code=status_code, headers=headers
    )


def _describe(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    # The raw ``input`` is left out on purpose: it may be a whole question with personal data.
    details = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e["msg"]}
        for e in errors
    ]
    first = details[0] if details else {"field": "", "problem": "invalid request"}
    where = f"{first['field']}: " if first["field"] else ""
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{where}{first['problem']}{more}", details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            exc.status_code, exc.code, exc.message, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _describe(list(exc.errors()))
        return error_response(422, "invalid_request", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code == 413:
            message = "The request body is too large."
        return error_response(exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(SnapshotMoved)
    async def _moved(_: Request, exc: SnapshotMoved) -> JSONResponse:
        # Ingestion committed while the request read the old snapshot (a large store's
        # texts are read on demand); the next request reads the new one.
        return error_response(
            503,
            "store_changed",
            "The material changed while this request was answered; try again.",
            headers={"Retry-After": "1"},
        )
