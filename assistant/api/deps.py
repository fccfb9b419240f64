"""Shared FastAPI dependencies: the app's settings and the (possibly still loading) Assistant.

Example:
    >>> from assistant.api.deps import get_assistant  # used as Depends(get_assistant)
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from fastapi import Request

from assistant.api.errors import ApiError
from assistant.models import Filters
from ingest.settings import Settings

if TYPE_CHECKING:
    from assistant.pipeline import Assistant

_READY_POLL_S = 0.05


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_records(request: Request) -> Any:
    """One ``Records`` per app (it keeps a connection per thread); None before any ingestion."""
    from ingest.records import Records

    state = request.app.state
    settings: Settings = state.settings
    if getattr(state, "records", None) is None:
        from ingest.store import open_store, store_kind

        if store_kind(settings) != "embedded":
            # The documents live in the database: read through the store (same methods).
            state.records = open_store(settings)
            return state.records
        if not settings.records_path.exists():
            return None
        state.records = Records(settings.records_path)
    return state.records


def check_doc_ids(request: Request, filters: Filters | None) -> None:
    """A filter on document ids that do not exist is a client mistake (422), not "no hits"."""
    if not filters or not filters.doc_ids:
        return
    records = get_records(request)
    known = {d.doc_id for d in records.list_documents()} if records else set()
    unknown = sorted(set(filters.doc_ids) - known)
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise ApiError(422, "unknown_doc_ids", f"filters.doc_ids: unknown document ids: {shown}")


async def get_assistant(request: Request) -> Assistant:
    """The loaded Assistant. While this worker is still loading it, the request waits (up to
    ``ready_wait_s``, on the event loop, holding no thread) rather than getting a 503: a
    starting worker accepts connections before its models are in memory."""
    state = request.app.state
    deadline = time.monotonic() + state.settings.ready_wait_s
    while (
        getattr(state, "assistant", None) is None
        and getattr(state, "loading", False)
        and time.monotonic() < deadline
    ):
        await asyncio.sleep(_READY_POLL_S)
    assistant: Any = getattr(state, "assistant", None)
    if assistant is None:
        error = getattr(state, "load_error", None)
        message = (
            f"The assistant failed to load: {error}"
            if error
            else "The assistant is still loading; try again in a few seconds."
        )
        raise ApiError(503, "not_ready", message, headers={"Retry-After": "5"})
    return assistant
