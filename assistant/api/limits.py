"""Request limits: body size (1 MB for JSON, a larger cap for uploads, checked while
reading), header count and size, and a per-client rate for anonymous writes.

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

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

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


class HeaderLimitMiddleware:
    """431 for a request with more than ``max_count`` headers or ``max_bytes`` of them (a
    server run with httptools parses any number; ``assistant serve`` also caps the head)."""

    def __init__(self, app: ASGIApp, max_count: int = 100, max_bytes: int = 16 * 1024) -> None:
        self.app = app
        self.max_count = max_count
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope.get("headers", ())
            size = sum(len(k) + len(v) + 4 for k, v in headers)
            if len(headers) > self.max_count or size > self.max_bytes:
                response = error_response(
                    431,
                    "headers_too_large",
                    f"At most {self.max_count} request headers and "
                    f"{self.max_bytes // 1024} KB of them.",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class RateLimitMiddleware:
    """429 (with Retry-After) for a client that makes more than ``per_minute`` requests to
    ``routes`` ((method, path) pairs) within a minute: anonymous writes such as feedback.

    Counted per client address in this process (a sliding minute), so N workers allow up
    to N times the rate; enough to stop one client filling the database in seconds.
    ``limit`` is called on each request, so the figure follows the app's settings.
    """

    max_clients = 10_000  # the oldest are forgotten beyond this, so memory stays bounded

    def __init__(
        self, app: ASGIApp, routes: list[tuple[str, str]], limit: Callable[[Scope], int]
    ) -> None:
        self.app = app
        self.routes = set(routes)
        self.limit = limit
        self.seen: OrderedDict[str, deque[float]] = OrderedDict()
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"].rstrip("/")) in self.routes:
            wait = self._admit(scope)
            if wait is not None:
                response = error_response(
                    429,
                    "too_many_requests",
                    f"Too many requests from this client: at most {self.limit(scope)} a "
                    f"minute. Try again in {wait} s.",
                    headers={"Retry-After": str(wait)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _admit(self, scope: Scope) -> int | None:
        """None if the request may pass (and counts it), else the seconds to wait."""
        client = (scope.get("client") or ("unknown", 0))[0]
        now = time.monotonic()
        limit = self.limit(scope)
        with self.lock:
            times = self.seen.pop(client, None) or deque()
            while times and now - times[0] >= 60:
                times.popleft()
            self.seen[client] = times
            while len(self.seen) > self.max_clients:
                self.seen.popitem(last=False)
            if len(times) >= limit:
                return max(1, math.ceil(60 - (now - times[0])))
            times.append(now)
            return None
