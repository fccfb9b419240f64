"""The document store behind one seam, two backends (see ``ingest.store.base``).

``open_store(settings)`` is the one place that chooses: the embedded store under the data dir
when ``KVA_DATABASE_URL`` is unset (or names a SQLite file, which holds only the API's own
state), PostgreSQL with pgvector when it is ``postgresql://…``.

Example:
    >>> import tempfile
    >>> from ingest.settings import Settings
    >>> open_store(Settings(data_dir=tempfile.mkdtemp())).kind
    'embedded'
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from ingest.settings import Settings
from ingest.store.base import ChunkFilter, DocumentStore, StoreError, StoreRun, UnitHit

__all__ = [
    "ChunkFilter",
    "DocumentStore",
    "StoreError",
    "StoreRun",
    "UnitHit",
    "describe",
    "open_store",
    "store_kind",
]


def store_kind(settings: Settings) -> str:
    """ "embedded" or "postgresql": which store ``open_store`` opens (without opening it)."""
    url = settings.database_url
    backend = make_url(url).get_backend_name() if url else "sqlite"
    if backend == "sqlite":
        return "embedded"
    if backend in ("postgresql", "postgres"):
        return "postgresql"
    raise StoreError(f"KVA_DATABASE_URL must be postgresql://… or sqlite:///…, not {backend}://…")


def describe(settings: Settings) -> str:
    """Where the store is, for messages: its folder, or the database URL without password."""
    if store_kind(settings) == "embedded":
        return str(settings.store_dir)
    return make_url(settings.database_url or "").render_as_string(hide_password=True)


def open_store(settings: Settings, *, model_id: str | None = None) -> DocumentStore:
    """The document store the settings name (its schema upgraded, on PostgreSQL)."""
    if store_kind(settings) == "embedded":
        from ingest.store.embedded import EmbeddedStore

        return EmbeddedStore(settings, model_id)
    from ingest.store.postgres import PostgresStore

    assert settings.database_url is not None
    return PostgresStore(settings.database_url, model_id, settings)
