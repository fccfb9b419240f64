"""Copy one document store into another in one run (``python -m ingest migrate --to URL``):
records and vectors are copied as they are, nothing is embedded again; documents the target
holds that the source lacks are removed, so the target ends equal to the source.

Example:
    >>> import tempfile
    >>> from ingest.settings import Settings
    >>> from ingest.store import open_store
    >>> a = open_store(Settings(data_dir=tempfile.mkdtemp()), model_id="m")
    >>> b = open_store(Settings(data_dir=tempfile.mkdtemp()), model_id="m")
    >>> copy_store(a, b)
    0
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from ingest.settings import Settings
from ingest.store.base import DocumentRow, DocumentStore, OnWait, StoreError

_ROW = [
    "doc_id",
    "source_path",
    "content_hash",
    "title",
    "language",
    "kind",
    "published",
    "publisher",
    "translation_of",
    "page_count",
    "ingested_at",
]


def copy_store(source: DocumentStore, target: DocumentStore, on_wait: OnWait | None = None) -> int:
    """The target's generation after the copy (unchanged when both were empty)."""
    docs = source.list_documents()
    keep = {d.doc_id for d in docs}
    # Into an empty store (a migration) the copy is a bulk load: indexes built once, after.
    with target.run(on_wait, bulk=True) as run:
        for doc_id, _ in target.source_index().values():
            if doc_id not in keep:
                run.delete_document(doc_id)
        for doc in docs:
            row: DocumentRow = {c: getattr(doc, c) for c in _ROW}
            row["text"] = source.get_text(doc.doc_id) or ""
            chunks = source.get_chunks(doc.doc_id)
            units = source.get_units([c.chunk_id for c in chunks])
            run.put_document(row, source.get_sections(doc.doc_id), chunks, units)
    return target.generation()


def migrate_embedded(settings: Settings, url: str, on_wait: OnWait | None = None) -> str:
    """Copy the embedded store under ``settings.data_dir`` into the PostgreSQL database at
    ``url`` (``python -m ingest migrate --to URL``); returns a line saying what was copied."""
    from ingest.store.embedded import EmbeddedStore
    from ingest.store.postgres import PostgresStore

    if not settings.records_path.is_file():
        raise StoreError(f"no embedded store at {settings.store_dir} (nothing to migrate)")
    source = EmbeddedStore(settings)
    model_id = source.get_meta("embedding_model")
    if not model_id:
        raise StoreError(f"the embedded store at {settings.store_dir} holds no committed run")
    target = PostgresStore(url, model_id, settings)
    try:
        recorded = target.get_meta("embedding_model")
        if recorded and recorded != model_id:
            raise StoreError(
                f"the database holds vectors of {recorded!r}, the embedded store of {model_id!r}"
            )
        generation = copy_store(source, target, on_wait)
        docs = len(target.list_documents())
        chunks = len(target.get_chunks())
        where = make_url(target.url).render_as_string(hide_password=True)
    finally:
        target.close()
    return f"copied {docs} documents, {chunks} chunks into {where} (generation {generation})"
