"""Admin endpoints sit behind ``Authorization: Bearer <settings.api_key>``.

Without a configured key the admin endpoints are *off* (403 ``admin_disabled``), never open.

Example:
    >>> from assistant.api.auth import bearer_token
    >>> bearer_token("Bearer s3cret")
    's3cret'
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.api.errors import ApiError, error_response


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


# Declares the scheme in the OpenAPI spec (and the lock icon in /docs); the check itself is
# ours, so that a missing key is the API's 401 error body rather than FastAPI's 403.
bearer_scheme = HTTPBearer(auto_error=False, description="The admin key (KVA_API_KEY).")

# Documented answers of admin routes, for the OpenAPI spec.
ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or wrong admin key (`Authorization: Bearer <key>`)."},
    403: {"description": "Admin endpoints are off: no KVA_API_KEY is configured."},
}


def require_admin(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
) -> None:
    """FastAPI dependency for admin routes."""
    refusal = admin_refusal(
        request.app.state.settings.api_key, request.headers.get("authorization")
    )
    if refusal is not None:
        raise refusal


def admin_refusal(expected: str | None, authorization: str | None) -> ApiError | None:
    """The error for a request without the admin key, or None when the key is right."""
    if not expected:
        return ApiError(
            403,
            "admin_disabled",
            "Admin endpoints are off: no API key is configured (set KVA_API_KEY).",
        )
    given = bearer_token(authorization)
    # compare_digest: a wrong key must not be guessable from response timing.
    if given is None or not secrets.compare_digest(given.encode(), expected.encode()):
        return ApiError(
            401,
            "unauthorized",
            "A valid admin key is required: Authorization: Bearer <key>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return None


class AdminGateMiddleware:
    """Refuses admin requests without the key before a byte of their body is read.

    FastAPI parses (and spools to disk) a multipart body before it runs route dependencies,
    so an unauthenticated 900 MB upload would be written to temp before its 401. ``routes``:
    (method, path prefix) pairs that need the admin key.
    """

    def __init__(self, app: ASGIApp, api_key: str | None, routes: list[tuple[str, str]]) -> None:
        self.app = app
        self.api_key = api_key
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(
            scope["method"] == method and scope["path"].startswith(prefix)
            for method, prefix in self.routes
        ):
            header = next(
                (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"authorization"),
                None,
            )
            refusal = admin_refusal(self.api_key, header)
            if refusal is not None:
                response = error_response(
                    refusal.status_code, refusal.code, refusal.message, headers=refusal.headers
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
