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

__all__ = ["ChunkFilter", "DocumentStore", "StoreError", "StoreRun", "UnitHit", "open_store"]


def open_store(settings: Settings, *, model_id: str | None = None) -> DocumentStore:
    """The document store the settings name (its schema upgraded, on PostgreSQL)."""
    url = settings.database_url
    backend = make_url(url).get_backend_name() if url else "sqlite"
    if backend == "sqlite":
        from ingest.store.embedded import EmbeddedStore

        return EmbeddedStore(settings, model_id)
    if backend in ("postgresql", "postgres"):
        from ingest.store.postgres import PostgresStore

        return PostgresStore(url, model_id, settings)
    raise StoreError(f"KVA_DATABASE_URL must be postgresql://… or sqlite:///…, not {backend}://…")
