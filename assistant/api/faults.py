"""Faults of the server's own storage, as clear errors instead of a bare 500.

- a full disk (``ENOSPC``/``EDQUOT``/``EFBIG``, SQLite's "database or disk is full", a Chroma
  write failing with little space left) is **507** ``insufficient_storage``: nothing new was
  saved, nothing stored was lost;
- a corrupt or unreadable database (``sqlite3.DatabaseError``, a records file that vanished,
  a failing Chroma) is **503** ``store_unavailable`` with the reason and what to run;
- a database server that does not answer (PostgreSQL stopped, restarting, out of reach) is
  **503** ``database_unavailable`` with Retry-After; the next request after it is back works.

Both use the project's error shape (:mod:`assistant.api.errors`) and are logged with their
traceback, once.

Example:
    >>> import errno, sqlite3
    >>> from assistant.api.faults import storage_error
    >>> storage_error(OSError(errno.ENOSPC, "No space left on device")).status_code
    507
    >>> storage_error(sqlite3.OperationalError("database or disk is full")).status_code
    507
    >>> storage_error(sqlite3.DatabaseError("database disk image is malformed")).code
    'store_unavailable'
    >>> storage_error(ValueError("x")) is None
    True
    >>> from sqlalchemy.exc import OperationalError
    >>> storage_error(OperationalError("SELECT 1", {}, ConnectionRefusedError())).code
    'database_unavailable'
"""

from __future__ import annotations

import errno
import logging
import resource
import sqlite3
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from assistant.api.errors import ApiError, error_response

log = logging.getLogger("kva.api.faults")

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_FULL_TEXT = ("disk is full", "No space left", "File too large", "Disk quota")
RETRY_AFTER = {"Retry-After": "30"}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _file_size_limited() -> bool:
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return soft != resource.RLIM_INFINITY


def _chroma_error() -> type[BaseException] | None:
    try:
        from chromadb.errors import ChromaError
    except ImportError:  # pragma: no cover
        return None
    return ChromaError


def _records_missing() -> type[BaseException] | None:
    # The store engineer's "records database deleted" error, where this version has it.
    try:
        from ingest.records import RecordsMissing  # type: ignore[attr-defined]
    except ImportError:
        return None
    return RecordsMissing


def storage_error(exc: BaseException, data_dir: Path | None = None) -> ApiError | None:
    """The 507/503 for a storage fault; None for anything else. With ``data_dir``, a Chroma
    failure or an SQLite "disk I/O error" with little space left there counts as a full disk
    (both report one as whatever write failed)."""
    text = str(exc)
    inner = getattr(exc, "orig", None)
    if isinstance(inner, sqlite3.DatabaseError):
        exc = inner  # SQLAlchemy's wrapper of an SQLite error: judged as that error
    elif server_unreachable(exc):
        from assistant.api.database import unreachable

        return unreachable(exc)
    chroma = _chroma_error()
    full = (isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS) or any(
        marker in text for marker in _FULL_TEXT
    )
    vague = "disk I/O error" in text or (chroma is not None and isinstance(exc, chroma))
    if not full and vague and data_dir is not None:
        from ingest.check import LOW_DISK_MB, free_mb

        free = free_mb(data_dir)
        # A file size limit (ulimit -f) fails writes as a full disk does (EFBIG).
        full = (free is not None and free < LOW_DISK_MB) or _file_size_limited()
    if full:
        return ApiError(
            507,
            "insufficient_storage",
            f"The server's disk is full ({_first_line(exc)}): nothing was saved; what was "
            "stored before is unchanged. Try again once an administrator has freed space.",
        )
    missing = _records_missing()
    if (
        isinstance(exc, sqlite3.DatabaseError)
        or (chroma is not None and isinstance(exc, chroma))
        or (missing is not None and isinstance(exc, missing))
    ):
        return ApiError(
            503,
            "store_unavailable",
            f"A database of the server is corrupt or unreadable ({_first_line(exc)}); an "
            "administrator should run `python -m ingest check --repair`.",
            headers=RETRY_AFTER,
        )
    if isinstance(exc, OSError) and exc.errno is not None and exc.filename:
        # A file the server needs (permissions, a vanished folder); not network errors.
        return ApiError(
            503,
            "storage_error",
            f"The server could not read or write {exc.filename}: {exc.strerror or exc}.",
            headers=RETRY_AFTER,
        )
    return None


def _server_errors() -> list[type[BaseException]]:
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    found: list[type[BaseException]] = [DBAPIError, PoolTimeout]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return found
    return [*found, psycopg.OperationalError, psycopg.InterfaceError]


def server_unreachable(exc: BaseException) -> bool:
    """A database server that did not answer: a failed connection, one the server closed
    (it stopped or restarted), a pool with no connection to give."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


def install_fault_handlers(app: FastAPI) -> None:
    """Answer storage faults raised by any route with their 507/503."""

    async def _fault(request: Request, exc: Exception) -> JSONResponse:
        error = storage_error(exc, request.app.state.settings.data_dir)
        if error is None:  # not a storage fault after all: the last-resort 500
            log.error("unhandled error", exc_info=exc)
            return error_response(500, "internal_error", "Internal server error.")
        log.error(
            "storage fault: %s %s -> %s",
            request.method,
            request.url.path,
            error.status_code,
            exc_info=exc,
        )
        request.app.state.last_fault = error.message
        return error_response(error.status_code, error.code, error.message, headers=error.headers)

    classes: list[Any] = [sqlite3.DatabaseError, OSError]
    classes += [c for c in (_chroma_error(), _records_missing()) if c is not None]
    classes += _server_errors()
    for cls in classes:
        app.add_exception_handler(cls, _fault)
