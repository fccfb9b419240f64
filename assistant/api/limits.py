"""Request body size limits: 1 MB for JSON, a larger cap for uploads, checked while reading.

A declared ``Content-Length`` over the limit is refused before anything is read; a chunked body
is counted as it arrives and refused as soon as it passes the limit, so an oversized request
never sits in memory.

Example:
    >>> from fastapi import FastAPI
    >>> from assistant.api.limits import BodyLimitMiddleware
    >>> app = FastAPI()
    >>> app.add_middleware(BodyLimitMiddleware, default=1024 * 1024, overrides={})
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import error_response


class BodyTooLarge(HTTPException):
    # An HTTPException so FastAPI's body parsing re-raises it instead of turning it into a 400.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit // 1024} KB.")


class BodyLimitMiddleware:
    """``overrides`` maps (method, path) to a limit in bytes; everything else gets ``default``."""

    def __init__(self, app: ASGIApp, default: int, overrides: dict[tuple[str, str], int]) -> None:
        self.app = app
        self.default = default
        self.overrides = overrides

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get((scope["method"], scope["path"].rstrip("/")), self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = error_response(
                413, "too_large", f"The request body is larger than {limit // 1024} KB."
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
