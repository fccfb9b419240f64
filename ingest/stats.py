"""What the store holds, as printed by ``python -m ingest stats``."""

from __future__ import annotations

from collections import Counter

from ingest.records import Records
from ingest.settings import Settings


def store_stats(settings: Settings) -> dict[str, object]:
    records = Records(settings.records_path)
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
    }
