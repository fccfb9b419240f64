"""What the store holds, as printed by ``python -m ingest stats``."""

from __future__ import annotations

from collections import Counter

from ingest.settings import Settings
from ingest.store import open_store


def store_stats(settings: Settings) -> dict[str, object]:
    records = open_store(settings)  # the embedded store, or PostgreSQL (KVA_DATABASE_URL)
    docs = records.list_documents()
    chunks = records.get_chunks()
    return {
        "documents": len(docs),
        "chunks": len(chunks),
        "by_language": dict(Counter(c.language for c in chunks)),
        "documents_by_language": dict(Counter(d.language for d in docs)),
        "by_kind": dict(Counter(d.kind for d in docs)),
        "embedding_model": records.get_meta("embedding_model"),
        "generation": records.generation(),
        "store": records.kind,
    }
