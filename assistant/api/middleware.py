"""Request ids, access logging and the last-resort 500, as one pure ASGI middleware.

Pure ASGI (not ``BaseHTTPMiddleware``) so streamed responses pass through untouched and a
client that disconnects mid-stream does not turn into an error.

Example:
    >>> from fastapi import FastAPI
    >>> from assistant.api.middleware import RequestContextMiddleware
    >>> app = FastAPI(); app.add_middleware(RequestContextMiddleware)
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import error_response
from assistant.api.logging import monotonic_ms, request_id_var
from assistant.api.privacy import contains_cpr

log = logging.getLogger("kva.api.access")

# Accept a caller's id only if it is short and harmless, so it cannot smuggle data into logs.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            # A CPR number fits the id pattern; such an id is replaced, never logged.
            return text if _SAFE_ID.match(text) and not contains_cpr(text) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        start = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if status == 0:
                response = error_response(500, "internal_error", "Internal server error.")
                await response(scope, receive, send_with_id)
            else:
                status = status or 500
        finally:
            # Decoded so that "%20" before a CPR number cannot hide it from the masking.
            query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
            log.info(
                "%s %s -> %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": query,
                    "status": status,
                    "duration_ms": monotonic_ms(start),
                },
            )
            request_id_var.reset(token)
