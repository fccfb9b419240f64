"""Admin endpoints sit behind ``Authorization: Bearer <settings.api_key>``.

Without a configured key the admin endpoints are *off* (403 ``admin_disabled``), never open.

Example:
    >>> from assistant.api.auth import bearer_token
    >>> bearer_token("Bearer s3cret")
    's3cret'
"""

from __future__ import annotations

import secrets

from fastapi import Request

from assistant.api.errors import ApiError


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def require_admin(request: Request) -> None:
    """FastAPI dependency for admin routes."""
    expected = request.app.state.settings.api_key
    if not expected:
        raise ApiError(
            403,
            "admin_disabled",
            "Admin endpoints are off: no API key is configured (set KVA_API_KEY).",
        )
    given = bearer_token(request.headers.get("authorization"))
    # compare_digest: a wrong key must not be guessable from response timing.
    if given is None or not secrets.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "A valid admin key is required: Authorization: Bearer <key>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
