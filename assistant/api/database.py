"""The API's database as the routes and the ingestion worker reach it: opened (and migrated)
at start, or by the first request after a start when it was unreachable; the files of earlier
versions imported once (:mod:`assistant.db.legacy`); and the check ``/readyz`` makes.

While the database is unreachable every request that needs it gets a 503
``database_unavailable`` with Retry-After (here, or from :mod:`assistant.api.faults` when a
query fails mid-request); the engine's pre-ping reconnects when it is back, no restart.

Example:
    >>> from assistant.api.database import unreachable
    >>> unreachable(ConnectionRefusedError("connection refused")).status_code
    503
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import text

from assistant.api.errors import ApiError
from assistant.db import Database, database_url
from assistant.db.engine import redacted

log = logging.getLogger("kva.api.database")
_lock = threading.Lock()
RETRY_AFTER = {"Retry-After": "5"}


def unreachable(exc: BaseException) -> ApiError:
    """The 503 for a database that does not answer (the body names no server: readyz does)."""
    return ApiError(
        503,
        "database_unavailable",
        "The database is unreachable at the moment; nothing was changed. Try again shortly.",
        headers=RETRY_AFTER,
    )


def app_database(state: Any) -> Database:
    """The app's Database; opened here when opening it at start failed. Raises the 503."""
    db: Database | None = getattr(state, "db", None)
    if db is None:
        with _lock:
            db = getattr(state, "db", None)
            if db is None:
                try:
                    db = Database.from_settings(state.settings)
                except Exception as exc:
                    log.warning("database unavailable: %s", _line(exc))
                    raise unreachable(exc) from exc
                state.db = db
    if not getattr(state, "legacy_imported", False):
        with _lock:
            if not getattr(state, "legacy_imported", False):
                from assistant.db.legacy import import_legacy

                import_legacy(db, state.settings)
                state.legacy_imported = True
    return db


def database_problem(state: Any) -> str | None:
    """Why the database does not answer now (naming it, without its password), or None."""
    settings = state.settings
    url = getattr(getattr(state, "db", None), "url", None) or database_url(settings)
    try:
        db = app_database(state)
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        cause = exc.__cause__ if isinstance(exc, ApiError) and exc.__cause__ else exc
        return f"the database {redacted(url)} is unreachable: {_line(cause)}"
    return None


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
