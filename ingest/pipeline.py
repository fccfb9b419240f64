"""The ingestion run: discover -> load -> chunk -> embed -> write -> commit, incrementally.

What makes it incremental and safe:
- Each document is keyed by its source path and a hash of its bytes plus its manifest entry;
  an unchanged file is skipped, an edited one replaces all its chunks, a file gone from a
  folder that was ingested loses its chunks, and a renamed file keeps its id (same content).
- Vectors are reused by text hash, so a rename or a small edit does not re-embed everything.
- Nothing becomes visible until one SQLite transaction commits the new state (see
  ``ingest.records``); new vectors are written to Chroma before it, stale ones removed after.
  A crash or Ctrl-C before the commit leaves the previous state queryable; orphans left in
  Chroma are swept by the next run.
- A file that fails keeps whatever was stored for it before.

LangChain's ``index()`` was the first candidate; it commits per batch, so an interrupted run
could leave an edited document with old and new chunks side by side, which this design rules out.

Example:
    >>> import tempfile
    >>> from ingest.pipeline import Indexer
    >>> from ingest.settings import Settings
    >>> report = Indexer(Settings(data_dir=tempfile.mkdtemp())).run(["corpus"])
    >>> report.ok, len(report.added)
    (True, 3)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from ingest.check import (
    CheckReport,
    expected_vectors,
    record_verified,
    repair_store,
    verify_vectors,
)
from ingest.chunker import Chunker
from ingest.discovery import discover
from ingest.embeddings import make_embeddings
from ingest.language import detect_language
from ingest.lexical import LEXICAL_VERSION, LexicalIndex
from ingest.lexical_delta import LayeredLexicalIndex, commit_folder, load_index, sweep_folders
from ingest.loaders import LOADERS_VERSION, LoadError
from ingest.loaders.base import LoadedDocument
from ingest.loaders.isolated import LoaderProcess
from ingest.loaders.limits import MAX_LOAD_SECONDS
from ingest.manifest import DocumentMeta, ManifestError, infer_meta, load_manifest, slugify
from ingest.records import ChunkRecord, Records, SectionRecord, UnitRecord
from ingest.settings import PROJECT_ROOT, Settings, get_settings
from ingest.store import DocumentStore, open_store, store_kind
from ingest.units import answer_units, pooled
from ingest.vector_store import StoreModelMismatch, VectorStore, sweep_segment_dirs

_log = logging.getLogger("kva.ingest")

# A broken Chroma folder set aside by a repair: "chroma.replaced-<ms>" beside the live one.
_ASIDE = ".replaced-"

# Part of each chunk's text hash: bump when unit segmentation changes, so vectors are redone.
UNITS_VERSION = "units-v2"

Progress = Callable[[str, int, int], None]
"""Called as progress(stage, done, total); stages: 'load', 'embed'."""


class IngestReport(BaseModel):
    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    failed: list[tuple[str, str]] = Field(default_factory=list)
    repaired: list[str] = Field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class _Prepared:
    path: Path
    source: str
    content_hash: str
    meta: DocumentMeta
    loaded: LoadedDocument
    chunks: list[ChunkRecord]
    sections: list[SectionRecord]
    units: list[UnitRecord] = field(default_factory=list)
    # A new file's id taken from its name, free to move if another file holds that id.
    id_from_name: bool = False


def source_key(path: Path) -> str:
    """Paths inside the project are stored relative to it, so a fresh clone finds its store."""
    path = path.absolute()
    try:
        return path.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _under(source: str, roots: list[Path]) -> bool:
    path = Path(source) if Path(source).is_absolute() else PROJECT_ROOT / source
    return any(path == root or root in path.parents for root in roots)


def _hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


class Indexer:
    """Brings the store in step with files on disk."""

    def __init__(self, settings: Settings | None = None, progress: Progress | None = None) -> None:
        self.settings = settings or get_settings()
        self.progress = progress or (lambda stage, done, total: None)
        # Told when the run must wait for another writer (the CLI prints it).
        self.on_wait: Callable[[str], None] = _log.warning
        # The generation this indexer committed, once it has (an interrupt after it must not
        # claim that nothing was committed).
        self.committed: int | None = None
        # Files are read in a child process with this budget each (ingest.loaders.isolated).
        self.load_timeout_s = MAX_LOAD_SECONDS
        self._loader: LoaderProcess | None = None

    # --- public -------------------------------------------------------------------------
    def run(self, paths: list[Path | str] | None = None, *, rebuild: bool = False) -> IngestReport:
        started = time.perf_counter()
        roots = [Path(p) for p in (paths or [self.settings.corpus_dir])]
        uploads = self.settings.uploads_dir
        if rebuild and uploads.is_dir() and not any(_within(uploads, r) for r in roots):
            # Files uploaded through the API live only there: a rebuild re-reads them too,
            # instead of dropping every uploaded document.
            roots.append(uploads)
        server = self._server_store()
        if server is not None:
            from ingest.store.indexing import run_on_store

            try:
                report = run_on_store(self, server, roots, rebuild)
            finally:
                server.close()
                if self._loader is not None:
                    self._loader.close()
                    self._loader = None
            report.seconds = round(time.perf_counter() - started, 3)
            return report
        with self._lock():
            try:
                report = self._run(roots, rebuild)
            finally:
                if self._loader is not None:
                    self._loader.close()
                    self._loader = None
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def remove(self, doc_id: str) -> bool:
        """Remove one document from the store (and its file, if it was uploaded)."""
        server = self._server_store()
        if server is not None:
            from ingest.store.indexing import remove_from_store

            try:
                return remove_from_store(self, server, doc_id)
            finally:
                server.close()
        with self._lock():
            records = Records(self.settings.records_path)
            doc = records.get_document(doc_id)
            if doc is None:
                return False
            stale = [c.chunk_id for c in records.get_chunks(doc_id)]
            store = self._open_store(records, rebuild=False)
            generation = records.generation() + 1
            folder, lexical = self._next_lexical(records, {doc_id}, [], generation)
            with records.transaction() as conn:
                Records.delete_document(conn, doc_id)
                self._commit_meta(conn, generation, folder, store, lexical)
            self.committed = generation
            store.delete(stale)
            self._sweep_lexical(folder)
            record_verified(self.settings, generation)
            source = PROJECT_ROOT / doc.source_path
            if self.settings.uploads_dir in source.parents:
                source.unlink(missing_ok=True)
            return True

    def repair(self, report: CheckReport) -> list[str]:
        """Rebuild the indexes ``report`` found incomplete from the records; one new generation.
        Call under the lock (``repair_store`` does, through ``run``)."""
        records = Records(self.settings.records_path)
        broken = {p.index for p in report.problems}
        done: list[str] = []
        chunks = records.get_chunks()
        no_units = {cid for p in report.problems if p.index == "units" for cid in p.chunk_ids}
        units: list[UnitRecord] = []
        if no_units:
            embeddings = make_embeddings(self.settings)
            for chunk in (c for c in chunks if c.chunk_id in no_units):
                text = records.get_text(chunk.doc_id) or ""
                spans = answer_units(text, chunk.start, chunk.end)
                vectors = embeddings.embed_documents([text[s:e] for s, e in spans])
                units.extend(
                    UnitRecord(
                        chunk_id=chunk.chunk_id,
                        seq=i,
                        start=s,
                        end=e,
                        vector=np.asarray(v, dtype=np.float32).tobytes(),
                    )
                    for i, ((s, e), v) in enumerate(zip(spans, vectors, strict=True))
                )
            with records.transaction() as conn:
                conn.executemany(
                    "DELETE FROM units WHERE chunk_id = ?", [(cid,) for cid in sorted(no_units)]
                )
                conn.executemany(
                    'INSERT OR REPLACE INTO units(chunk_id, seq, start, "end", vector) '
                    "VALUES(?,?,?,?,?)",
                    [(u.chunk_id, u.seq, u.start, u.end, u.vector) for u in units],
                )
            done.append(f"re-embedded the sentences of {len(no_units)} chunks")
            broken.add("chroma")  # their pooled vectors change with them
        model_id = records.get_meta("embedding_model") or self._model_id()
        old_collection = records.get_meta("collection")
        store = None
        replaced: Path | None = None
        if "chroma" in broken:
            # A fresh collection, never the broken one: its files may crash whoever loads them.
            # Embedded, a fresh Chroma folder too: Chroma's own database may be what is garbled
            # (then no collection can be made in it), and every vector comes from the records.
            replaced = self._set_chroma_aside()
            name = f"{self.settings.collection}-{int(time.time() * 1000)}"
            store = VectorStore(self.settings, model_id, name)
            docs = {d.doc_id: d for d in records.list_documents()}
            expected = expected_vectors(records, [c.chunk_id for c in chunks])
            store.upsert(
                [c.chunk_id for c in chunks],
                [list(map(float, expected[c.chunk_id])) for c in chunks],
                [
                    {
                        "doc_id": c.doc_id,
                        "language": c.language,
                        "doc_language": docs[c.doc_id].language,
                        "kind": docs[c.doc_id].kind,
                        "seq": c.seq,
                    }
                    for c in chunks
                ],
            )
            done.append(f"re-wrote {len(chunks)} vectors into collection {name}")
        else:
            store = VectorStore(self.settings, model_id, old_collection, create=False)
        generation = records.generation() + 1
        if "bm25" in broken:
            # Whole: a delta would be written on the index the check found broken.
            folder, lexical = self._next_lexical(records, set(), [], generation, whole=True)
            done.append(f"rebuilt the keyword index ({lexical.size()} chunks)")
        else:
            # The folder kept, with its own id order: a rebuild from the records orders the ids
            # differently after incremental runs, and its digest would not match the folder.
            folder = self.settings.bm25_dir / (records.get_meta("bm25_dir") or "")
            lexical = load_index(folder)
        with records.transaction() as conn:
            self._commit_meta(conn, generation, folder, store, lexical)
        self.committed = generation
        self._sweep_lexical(folder)
        if replaced is not None:
            shutil.rmtree(replaced, ignore_errors=True)
        elif old_collection and store.name != old_collection:
            self._drop_collection(store, old_collection)
            sweep_segment_dirs(self.settings)
        record_verified(self.settings, generation)
        return done

    def _set_chroma_aside(self) -> Path | None:
        """Move the embedded Chroma folder aside (removed after the commit, or by the next run
        if this one dies); readers holding it open keep reading it until they reload."""
        chroma = self.settings.chroma_dir
        if self.settings.chroma_url or not chroma.exists():
            return None
        aside = chroma.with_name(f"{chroma.name}{_ASIDE}{int(time.time() * 1000)}")
        chroma.rename(aside)
        return aside

    def _sweep_uncommitted(self, records: Records) -> None:
        """What a killed run left behind and nothing committed names: BM25 folders, Chroma
        collections. (Orphan vectors inside the live collection are swept after the check.)"""
        keep = records.get_meta("bm25_dir")
        if keep:
            self._sweep_lexical(self.settings.bm25_dir / keep)
        for aside in self.settings.store_dir.glob(f"{self.settings.chroma_dir.name}{_ASIDE}*"):
            shutil.rmtree(aside, ignore_errors=True)
        active = records.get_meta("collection")
        if active:
            try:
                store = VectorStore(
                    self.settings, records.get_meta("embedding_model") or "", active, create=False
                )
            except Exception:  # noqa: BLE001 - the check reports a missing collection
                return
            self._drop_other_collections(store)

    # --- the run ------------------------------------------------------------------------
    def _run(self, roots: list[Path], rebuild: bool) -> IngestReport:
        report = IngestReport()
        records = Records(self.settings.records_path)
        aside: Path | None = None
        if not rebuild:
            # Never build on (or report "unchanged" over) a store that lost part of an index;
            # and never open Chroma here (the API's process) before the check has: a garbled
            # index crashes whoever opens it.
            report.repaired = repair_store(self.settings).repaired
        elif records.generation() and verify_vectors(
            self.settings, records.store_id(), records.generation()
        ):
            # A rebuild writes every vector anew; a broken Chroma folder is set aside first.
            aside = self._set_chroma_aside()
        self._sweep_uncommitted(records)
        store = self._open_store(records, rebuild)
        found = discover(roots)
        report.failed.extend((str(p), why) for p, why in found.problems)
        existing = records.source_index()
        by_hash = {h: (src, doc_id) for src, (doc_id, h) in existing.items()}
        manifests: dict[Path, dict[str, DocumentMeta] | ManifestError] = {}

        prepared: list[_Prepared] = []
        seen_sources: set[str] = set()
        failed_sources: set[str] = set()
        for i, path in enumerate(found.files):
            self.progress("load", i, len(found.files))
            source = source_key(path)
            seen_sources.add(source)
            try:
                item = self._prepare(path, source, manifests, existing, rebuild)
            except (LoadError, ManifestError) as exc:
                report.failed.append((source, getattr(exc, "reason", None) or str(exc)))
                failed_sources.add(source)
                continue
            if item is None:
                report.unchanged.append(existing[source][0])
            else:
                prepared.append(item)
        self.progress("load", len(found.files), len(found.files))

        gone = {
            src: doc_id
            for src, (doc_id, _) in existing.items()
            if src not in seen_sources and (rebuild or _under(src, found.roots))
        }
        # A renamed file arrives as new content identical to a vanished file: keep its id.
        renamed: set[str] = set()
        for item in prepared:
            if item.source not in existing and item.content_hash in by_hash:
                old_src, old_id = by_hash[item.content_hash]
                # Equal hashes mean equal manifest entries too, so only inferred ids move.
                if old_src in gone:
                    _rename(item, old_id)
                    item.id_from_name = False
                    renamed.add(old_id)
        _disambiguate(prepared, existing, gone)
        self._check_ids(prepared, existing, gone, report)

        replaced_ids = {existing[p.source][0] for p in prepared if p.source in existing}
        new_ids = {p.meta.id for p in prepared}
        removed_ids = {doc_id for doc_id in gone.values() if doc_id not in new_ids}
        if rebuild:
            removed_ids |= (
                {doc_id for doc_id, _ in existing.values()}
                - new_ids
                - {existing[s][0] for s in failed_sources if s in existing}
            )
        lexical_current = records.get_meta("lexical_version") == LEXICAL_VERSION
        if not prepared and not removed_ids and not rebuild and lexical_current:
            self._sweep_orphans(records, store)
            record_verified(self.settings, records.generation())
            return report

        report.embedded = self._embed_and_write(prepared, records, store, rebuild)
        dropped = replaced_ids | removed_ids | new_ids
        # Read once: at a million chunks each read of every record takes seconds.
        committed = records.get_chunks()
        stale = [c.chunk_id for c in committed if c.doc_id in dropped]
        generation = records.generation() + 1
        folder, lexical = self._next_lexical(
            records,
            dropped,
            prepared,
            generation,
            whole=rebuild or not lexical_current,
            committed=committed,
        )
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with records.transaction() as conn:
            for doc_id in removed_ids | replaced_ids:
                Records.delete_document(conn, doc_id)
            for item in prepared:
                Records.put_document(
                    conn, self._doc_row(item, now), item.sections, item.chunks, item.units
                )
            self._commit_meta(conn, generation, folder, store, lexical)
        self.committed = generation
        # After the commit nothing references these any more.
        new_chunk_ids = {c.chunk_id for p in prepared for c in p.chunks}
        store.delete([c for c in stale if c not in new_chunk_ids])
        self._sweep_lexical(folder)
        self._sweep_orphans(records, store)
        if rebuild:
            self._drop_other_collections(store)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        record_verified(self.settings, generation)

        for item in prepared:
            moved = item.source in existing or item.meta.id in renamed
            (report.updated if moved else report.added).append(item.meta.id)
        report.removed = sorted(removed_ids)
        report.chunks = sum(len(p.chunks) for p in prepared)
        return report

    def _prepare(
        self,
        path: Path,
        source: str,
        manifests: dict[Path, dict[str, DocumentMeta] | ManifestError],
        existing: dict[str, tuple[str, str]],
        rebuild: bool,
    ) -> _Prepared | None:
        folder = path.parent
        if folder not in manifests:
            try:
                manifests[folder] = load_manifest(folder)
            except ManifestError as exc:
                manifests[folder] = exc
        manifest = manifests[folder]
        if isinstance(manifest, ManifestError):
            raise manifest
        entry = manifest.get(path.name)
        max_bytes = int(self.settings.max_file_mb * 1024 * 1024)
        try:
            size = path.stat().st_size
        except FileNotFoundError as exc:
            raise LoadError(path, "file disappeared while reading") from exc
        if size > max_bytes:
            raise LoadError(
                path,
                f"file is {size / 1024 / 1024:.0f} MB, "
                f"over the {self.settings.max_file_mb:g} MB limit",
            )
        try:
            raw = path.read_bytes()
        except FileNotFoundError as exc:
            raise LoadError(path, "file disappeared while reading") from exc
        except OSError as exc:
            raise LoadError(path, f"cannot read file ({exc.strerror or exc})") from exc
        chunker = self._chunker()
        content_hash = _hash(
            raw, entry.model_dump_json() if entry else "", chunker_signature(chunker), UNITS_VERSION
        )
        if not rebuild and source in existing and existing[source][1] == content_hash:
            return None
        loader = self._loader or LoaderProcess(self.load_timeout_s)
        self._loader = loader
        loaded = loader.load(path, max_bytes=max_bytes, max_text_chars=self.settings.max_text_chars)
        if not loaded.text.strip():
            raise LoadError(path, "no text in file")
        meta = entry or infer_meta(path, loaded.text, loaded.title, loaded=loaded)
        if entry is None and source in existing:
            # A file keeps the id it was stored under, even if that was disambiguated.
            meta = meta.model_copy(update={"id": existing[source][0]})
        chunks = chunker.run(loaded)
        if not chunks:
            raise LoadError(path, "no text in file")
        records = []
        for c in chunks:
            text = loaded.text[c.start : c.end]
            language = detect_language(text, default=None) if len(text) > 40 else None
            if language not in ("da", "en"):
                language = meta.language if meta.language in ("da", "en") else "en"
            text_hash = _hash(self._model_id(), UNITS_VERSION, text)
            records.append(
                ChunkRecord(
                    chunk_id=_chunk_id(meta.id, c.start, c.end, text_hash),
                    doc_id=meta.id,
                    seq=c.seq,
                    start=c.start,
                    end=c.end,
                    section=c.section,
                    page=c.page,
                    language=language,
                    tokens=c.tokens,
                    text_hash=text_hash,
                )
            )
        return _Prepared(
            path,
            source,
            content_hash,
            meta,
            loaded,
            records,
            _sections(loaded, chunks),
            id_from_name=entry is None and source not in existing,
        )

    def _check_ids(
        self,
        prepared: list[_Prepared],
        existing: dict[str, tuple[str, str]],
        gone: dict[str, str],
        report: IngestReport,
    ) -> None:
        """Two sources may not share a document id; the later one fails, nothing is lost."""
        owners = {doc_id: src for src, (doc_id, _) in existing.items() if src not in gone}
        keep = []
        for item in prepared:
            owner = owners.get(item.meta.id)
            if owner is not None and owner != item.source:
                report.failed.append(
                    (item.source, f"document id {item.meta.id!r} is already used by {owner}")
                )
                continue
            owners[item.meta.id] = item.source
            keep.append(item)
        prepared[:] = keep

    def _embed_and_write(
        self, prepared: list[_Prepared], records: Records, store: VectorStore, rebuild: bool
    ) -> int:
        """Embed every answer unit once; a chunk's vector is the pooled mean of its units'.
        Units of a chunk whose text was embedded before are copied, not re-embedded."""
        chunks = [(c, p) for p in prepared for c in p.chunks]
        reusable = {} if rebuild else records.chunk_ids_with_hash([c.text_hash for c, _ in chunks])
        old_units: dict[str, list[UnitRecord]] = {}
        for unit in records.get_units(sorted(set(reusable.values()))) if reusable else []:
            old_units.setdefault(unit.chunk_id, []).append(unit)
        todo: list[tuple[_Prepared, ChunkRecord, int, int]] = []
        for chunk, item in chunks:
            old = old_units.get(reusable.get(chunk.text_hash, ""))
            if old:
                shift = chunk.start - records_chunk_start(old)
                item.units.extend(
                    UnitRecord(
                        chunk_id=chunk.chunk_id,
                        seq=u.seq,
                        start=u.start + shift,
                        end=u.end + shift,
                        vector=u.vector,
                    )
                    for u in old
                )
            else:
                text = item.loaded.text
                todo.extend(
                    (item, chunk, s, e) for s, e in answer_units(text, chunk.start, chunk.end)
                )
        embeddings = make_embeddings(self.settings)
        batch = 32
        seqs: dict[str, int] = {}
        for i in range(0, len(todo), batch):
            self.progress("embed", i, len(todo))
            part = todo[i : i + batch]
            texts = [item.loaded.text[s:e] for item, _, s, e in part]
            for (item, chunk, s, e), vec in zip(
                part, embeddings.embed_documents(texts), strict=True
            ):
                seq = seqs.get(chunk.chunk_id, 0)
                seqs[chunk.chunk_id] = seq + 1
                item.units.append(
                    UnitRecord(
                        chunk_id=chunk.chunk_id,
                        seq=seq,
                        start=s,
                        end=e,
                        vector=np.asarray(vec, dtype=np.float32).tobytes(),
                    )
                )
        self.progress("embed", len(todo), len(todo))
        by_chunk: dict[str, list[UnitRecord]] = {}
        for item in prepared:
            for unit in item.units:
                by_chunk.setdefault(unit.chunk_id, []).append(unit)
        store.upsert(
            [c.chunk_id for c, _ in chunks],
            [
                pooled(
                    [np.frombuffer(u.vector, dtype=np.float32) for u in by_chunk[c.chunk_id]],
                    [u.end - u.start for u in by_chunk[c.chunk_id]],
                )
                for c, _ in chunks
            ],
            [
                {
                    "doc_id": c.doc_id,
                    "language": c.language,
                    "doc_language": p.meta.language,
                    "kind": p.meta.kind,
                    "seq": c.seq,
                }
                for c, p in chunks
            ],
        )
        return len(todo)

    # --- helpers ------------------------------------------------------------------------
    def _server_store(self) -> DocumentStore | None:
        """The store when it is a database server (its own single commit point, written
        through the store seam); None for the embedded store, written by ``_run`` below."""
        if store_kind(self.settings) == "embedded":
            return None
        return open_store(self.settings, model_id=self._model_id())

    def _model_id(self) -> str:
        return make_embeddings(self.settings).model_id

    def _chunker(self) -> Chunker:
        emb = make_embeddings(self.settings)
        return Chunker(
            self.settings.chunk_min_tokens, self.settings.chunk_max_tokens, emb.count_tokens
        )

    def _open_store(self, records: Records, rebuild: bool) -> VectorStore:
        model_id = self._model_id()
        recorded = records.get_meta("embedding_model")
        if recorded and recorded != model_id and not rebuild:
            raise StoreModelMismatch(
                f"the store was built with embedding model {recorded!r}, but the settings ask "
                f"for {model_id!r}; re-ingest with `python -m ingest --rebuild` or switch back"
            )
        active = records.get_meta("collection")
        if rebuild or not active:
            # A rebuild fills a fresh collection; the old one serves queries until the commit.
            active = f"{self.settings.collection}-{int(time.time() * 1000)}"
        return VectorStore(self.settings, model_id, active)

    def _commit_meta(  # noqa: ANN001
        self,
        conn,
        generation: int,
        folder: Path,
        store: VectorStore,
        lexical: LexicalIndex | LayeredLexicalIndex,
    ) -> None:
        Records.set_meta(conn, "generation", str(generation))
        Records.set_meta(conn, "bm25_dir", folder.name)
        Records.set_meta(conn, "bm25_digest", lexical.digest())
        Records.set_meta(conn, "collection", store.name)
        Records.set_meta(conn, "embedding_model", store.model_id)
        Records.set_meta(conn, "lexical_version", LEXICAL_VERSION)
        # The sentence index of the new generation, from this transaction's own rows.
        from ingest.store.sentence_file import commit_sentence_file

        commit_sentence_file(conn, self.settings.store_dir / "sentences", generation)

    def _next_lexical(
        self,
        records: Records,
        dropped: set[str],
        prepared: list[_Prepared],
        generation: int,
        *,
        whole: bool = False,
        committed: list[ChunkRecord] | None = None,
    ) -> tuple[Path, LexicalIndex | LayeredLexicalIndex]:
        """The keyword index of the next generation: the committed chunks (``committed``, or
        read from ``records``) but those of ``dropped`` documents, and ``prepared``'s; written
        as a delta on the committed one where few chunks changed (``ingest.lexical_delta``),
        else (and when ``whole``) whole."""
        if committed is None:
            committed = records.get_chunks()
        chunks = [c for c in committed if c.doc_id not in dropped]

        def triples(only: set[str] | None = None) -> Iterator[tuple[str, str, str]]:
            texts: dict[str, str] = {}
            for chunk in chunks:
                if only is not None and chunk.chunk_id not in only:
                    continue
                if chunk.doc_id not in texts:
                    texts[chunk.doc_id] = records.get_text(chunk.doc_id) or ""
                yield chunk.chunk_id, texts[chunk.doc_id][chunk.start : chunk.end], chunk.language
            for item in prepared:
                for c in item.chunks:
                    if only is None or c.chunk_id in only:
                        yield c.chunk_id, item.loaded.text[c.start : c.end], c.language

        current = {c.chunk_id for c in chunks} | {c.chunk_id for p in prepared for c in p.chunks}
        return commit_folder(
            self.settings.bm25_dir,
            generation,
            None if whole else records.get_meta("bm25_dir"),
            current,
            triples,
            triples,
        )

    def _sweep_lexical(self, keep: Path) -> None:
        sweep_folders(self.settings.bm25_dir, keep)

    def _sweep_orphans(self, records: Records, store: VectorStore) -> None:
        """Vectors written by an interrupted run were never committed: remove them."""
        committed = {c.chunk_id for c in records.get_chunks()}
        orphans = sorted(store.all_ids() - committed)
        if orphans:
            store.delete(orphans)

    def _drop_other_collections(self, store: VectorStore) -> None:
        prefix = f"{self.settings.collection}-"
        for col in store.client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name != store.name and (name == self.settings.collection or name.startswith(prefix)):
                self._drop_collection(store, name)
        sweep_segment_dirs(self.settings)

    @staticmethod
    def _drop_collection(store: VectorStore, name: str) -> None:
        # A collection nothing references; if Chroma cannot drop it, the next run tries again.
        with contextlib.suppress(Exception):
            store.client.delete_collection(name)

    @staticmethod
    def _doc_row(item: _Prepared, now: str) -> dict[str, object]:
        meta = item.meta
        return {
            "doc_id": meta.id,
            "source_path": item.source,
            "content_hash": item.content_hash,
            "title": meta.title,
            "language": meta.language,
            "kind": meta.kind,
            "published": meta.published,
            "publisher": meta.publisher,
            "translation_of": meta.translation_of,
            "page_count": item.loaded.page_count,
            "text": item.loaded.text,
            "ingested_at": now,
        }

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """The writers' lock, for callers that change the store outside ``run``."""
        return self._lock()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.settings.store_dir.mkdir(parents=True, exist_ok=True)
        self.settings.bm25_dir.mkdir(parents=True, exist_ok=True)
        with open(self.settings.store_dir / "ingest.lock", "w") as handle:
            # One writer at a time across processes (CLI and API); readers never take it.
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.on_wait(
                    f"waiting for another ingestion run to finish (lock: {handle.name}) ..."
                )
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _within(path: Path, root: Path) -> bool:
    path, root = path.resolve(), root.resolve()
    return path == root or root in path.parents


def _chunk_id(doc_id: str, start: int, end: int, text_hash: str) -> str:
    return _hash(doc_id, str(start), str(end), text_hash)[:32]


def _disambiguate(
    prepared: list[_Prepared], existing: dict[str, tuple[str, str]], gone: dict[str, str]
) -> None:
    """Give a new file whose name-derived id is taken (``a/report.md`` beside
    ``b/report.md``) an id prefixed with its folders, nearest first: ``b-report``.

    Ids already stored, and manifest ids, never move; the files are in discovery (sorted)
    order, so the same corpus gets the same ids run after run.
    """
    owners = {doc_id: src for src, (doc_id, _) in existing.items() if src not in gone}
    for item in prepared:
        if not item.id_from_name:
            owners.setdefault(item.meta.id, item.source)
    for item in prepared:
        if not item.id_from_name:
            continue
        owner = owners.get(item.meta.id)
        if owner is not None and owner != item.source:
            doc_id = next(c for c in _id_candidates(item.path, item.meta.id) if c not in owners)
            _rename(item, doc_id)
        owners[item.meta.id] = item.source


def _id_candidates(path: Path, base: str) -> Iterator[str]:
    folders = [p for p in path.absolute().parent.parts if p not in ("/", "")]
    for k in range(1, len(folders) + 1):
        prefix = slugify("-".join(folders[-k:]))[: 120 - len(base)].strip("-")
        if prefix:
            yield f"{prefix}-{base}"
    digest = hashlib.sha256(str(path.absolute()).encode()).hexdigest()
    for n in range(8, 65):
        yield f"{base[:100]}-{digest[:n]}"


def _rename(item: _Prepared, doc_id: str) -> None:
    item.meta = item.meta.model_copy(update={"id": doc_id})
    item.chunks = [
        c.model_copy(
            update={"doc_id": doc_id, "chunk_id": _chunk_id(doc_id, c.start, c.end, c.text_hash)}
        )
        for c in item.chunks
    ]


def records_chunk_start(units: list[UnitRecord]) -> int:
    """Where the old chunk started, from its first unit (units start at the chunk start)."""
    return min(u.start for u in units)


def chunker_signature(chunker: Chunker) -> str:
    return f"chunker-v2:{chunker.min_tokens}:{chunker.max_tokens}:{LOADERS_VERSION}"


def _sections(loaded: LoadedDocument, chunks: list) -> list[SectionRecord]:  # noqa: ANN001
    """Section spans for reading a document section by section."""
    sections: list[SectionRecord] = []
    for chunk in chunks:
        heading = chunk.section or ""
        if sections and sections[-1].heading == heading:
            last = sections[-1]
            sections[-1] = last.model_copy(update={"end": chunk.end})
        else:
            sections.append(
                SectionRecord(
                    seq=len(sections),
                    heading=heading,
                    start=chunk.start,
                    end=chunk.end,
                    page=chunk.page,
                )
            )
    return sections
