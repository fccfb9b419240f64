"""The ingestion run over the store seam, for a store that is its own single commit point
(PostgreSQL): the run works inside ``store.run()`` (the store's writers' lock and its one
transaction), and there is nothing beside it to sweep, set aside or repair.

The embedded store keeps ``Indexer``'s own run: Chroma and the BM25 folders live beside the
SQLite records there, and the check/repair/sweep steps around its commit exist for them.
``Indexer`` reads, loads, chunks and embeds the same way for both (its helpers are used here).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.discovery import discover
from ingest.loaders import LoadError
from ingest.manifest import DocumentMeta, ManifestError
from ingest.store.base import DocumentStore
from ingest.vector_store import StoreModelMismatch

if TYPE_CHECKING:
    from ingest.pipeline import Indexer, IngestReport


class _NoSideVectors:
    """The store makes chunk vectors itself at commit; nothing is written beside it."""

    name = ""

    def upsert(self, *_: Any) -> None:
        return None


def run_on_store(
    indexer: Indexer, store: DocumentStore, roots: list[Path], rebuild: bool
) -> IngestReport:
    from ingest.pipeline import (
        IngestReport,
        _disambiguate,
        _Prepared,
        _rename,
        _under,
        source_key,
    )

    report = IngestReport()
    with store.run(indexer.on_wait) as run:
        model_id = indexer._model_id()
        recorded = store.get_meta("embedding_model")
        if recorded and recorded != model_id and not rebuild:
            raise StoreModelMismatch(
                f"the store was built with embedding model {recorded!r}, but the settings ask "
                f"for {model_id!r}; re-ingest with `python -m ingest --rebuild` or switch back"
            )
        found = discover(roots)
        report.failed.extend((str(p), why) for p, why in found.problems)
        existing = store.source_index()
        by_hash = {h: (src, doc_id) for src, (doc_id, h) in existing.items()}
        manifests: dict[Path, dict[str, DocumentMeta] | ManifestError] = {}
        prepared: list[_Prepared] = []
        seen: set[str] = set()
        failed: set[str] = set()
        for i, path in enumerate(found.files):
            indexer.progress("load", i, len(found.files))
            source = source_key(path)
            seen.add(source)
            try:
                item = indexer._prepare(path, source, manifests, existing, rebuild)
            except (LoadError, ManifestError) as exc:
                report.failed.append((source, getattr(exc, "reason", None) or str(exc)))
                failed.add(source)
                continue
            if item is None:
                report.unchanged.append(existing[source][0])
            else:
                prepared.append(item)
        indexer.progress("load", len(found.files), len(found.files))
        gone = {
            src: doc_id
            for src, (doc_id, _) in existing.items()
            if src not in seen and (rebuild or _under(src, found.roots))
        }
        renamed: set[str] = set()
        for item in prepared:
            if item.source not in existing and item.content_hash in by_hash:
                old_src, old_id = by_hash[item.content_hash]
                if old_src in gone:
                    _rename(item, old_id)
                    item.id_from_name = False
                    renamed.add(old_id)
        _disambiguate(prepared, existing, gone)
        indexer._check_ids(prepared, existing, gone, report)
        replaced = {existing[p.source][0] for p in prepared if p.source in existing}
        new_ids = {p.meta.id for p in prepared}
        removed = {doc_id for doc_id in gone.values() if doc_id not in new_ids}
        if rebuild:
            removed |= (
                {doc_id for doc_id, _ in existing.values()}
                - new_ids
                - {existing[s][0] for s in failed if s in existing}
            )
        if not prepared and not removed:
            return report  # the run commits nothing
        report.embedded = indexer._embed_and_write(prepared, store, _NoSideVectors(), rebuild)  # type: ignore[arg-type]
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        for doc_id in sorted(removed | replaced):
            run.delete_document(doc_id)
        for item in prepared:
            run.put_document(indexer._doc_row(item, now), item.sections, item.chunks, item.units)
    indexer.committed = store.generation()
    for item in prepared:
        moved = item.source in existing or item.meta.id in renamed
        (report.updated if moved else report.added).append(item.meta.id)
    report.removed = sorted(removed)
    report.chunks = sum(len(p.chunks) for p in prepared)
    return report


def remove_from_store(indexer: Indexer, store: DocumentStore, doc_id: str) -> bool:
    """Remove one document (and its file, if it was uploaded) in one run."""
    from ingest.settings import PROJECT_ROOT

    with store.run(indexer.on_wait) as run:
        doc = store.get_document(doc_id)
        if doc is None:
            return False
        run.delete_document(doc_id)
    indexer.committed = store.generation()
    source = PROJECT_ROOT / doc.source_path
    if indexer.settings.uploads_dir in source.parents:
        source.unlink(missing_ok=True)
    return True
