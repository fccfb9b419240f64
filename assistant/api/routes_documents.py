"""Documents: list, read (metadata, text by section, chunks), upload (admin), delete (admin),
and ingestion job status.

Uploads are stored in the API's database with their job (and copied under
``settings.uploads_dir``, where the indexer reads them), and ingested by the first worker of any
replica that claims the job; the response is 202 with a job id to poll at ``GET /api/jobs/{id}``
on any replica.

Example (against a running server)::

    import httpx
    httpx.post("http://127.0.0.1:8000/api/documents", files={"files": open("a.pdf", "rb")},
               headers={"Authorization": "Bearer KEY"}).json()["job_id"]
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from assistant.api.auth import ADMIN_RESPONSES, require_admin
from assistant.api.deps import get_records, get_settings
from assistant.api.errors import ApiError
from assistant.api.uploads import check_suffix, safe_filename, save_stream
from ingest.settings import PROJECT_ROOT, Settings

log = logging.getLogger("kva.api.documents")

MAX_FILES_PER_UPLOAD = 20
SettingsDep = Annotated[Settings, Depends(get_settings)]


@contextmanager
def _read_snapshot(records: Any) -> Iterator[None]:
    """One read transaction, so metadata, text, sections and chunks come from the same commit
    even while an ingestion commits: old state or new, never a mix of both."""
    consistent = getattr(records, "consistent", None)
    if consistent is not None:  # a store from ingest.store (PostgreSQL) pins its own
        with consistent():
            yield
        return
    # Records keeps one connection per thread and its readers all use it, so a deferred BEGIN
    # on that connection (WAL mode) pins a consistent snapshot for the reads that follow.
    conn = records._connect()
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def public_paths(value: Any, settings: Settings) -> Any:
    """``value`` with every file system path shown relative to its folder: ``uploads/…``,
    the corpus folder's name (``corpus/…``), the project, else ``data/…`` under the data dir.
    Readers without a key see where a document came from, not the server's disk layout;
    error texts in job reports are rewritten too.

    >>> s = Settings(data_dir="/srv/kva", corpus_dir="/srv/texts")
    >>> public_paths({"p": ["/srv/kva/uploads/a.pdf", "/srv/texts/b.txt: not UTF-8"]}, s)
    {'p': ['uploads/a.pdf', 'texts/b.txt: not UTF-8']}
    >>> public_paths(".data/uploads/a.pdf", Settings(data_dir=PROJECT_ROOT / ".data"))
    'uploads/a.pdf'
    >>> public_paths("corpus/x.txt", Settings(data_dir="/srv/kva"))
    'corpus/x.txt'
    """
    roots = [
        (settings.uploads_dir, "uploads/"),
        (settings.corpus_dir, f"{settings.corpus_dir.name}/"),
        (settings.data_dir, "data/"),
    ]
    prefixes = [(f"{root.as_posix()}/", shown) for root, shown in roots]
    # Files inside the project are stored relative to it (".data/uploads/a.pdf").
    prefixes += [
        (f"{root.relative_to(PROJECT_ROOT).as_posix()}/", shown)
        for root, shown in roots
        if root.is_relative_to(PROJECT_ROOT) and root != PROJECT_ROOT
    ]
    prefixes.append((f"{PROJECT_ROOT.as_posix()}/", ""))
    # Longest first (the uploads folder wins over the data dir that holds it); a prefix counts
    # only where a path starts, not inside another path.
    prefixes.sort(key=lambda p: len(p[0]), reverse=True)
    pattern = re.compile(
        "|".join(rf"(?<![\w./-]){re.escape(prefix)}" for prefix, _ in prefixes)
    )
    shown_for = dict(prefixes)

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return pattern.sub(lambda m: shown_for[m[0]], item)
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        return item

    return walk(value)


def _missing(doc_id: str) -> ApiError:
    return ApiError(404, "document_not_found", f"No document with id '{doc_id}'.")


def upload_body_cap(settings: Settings) -> int:
    """The whole multipart body may hold MAX_FILES_PER_UPLOAD files at the per-file limit."""
    return int(settings.max_upload_mb * 1024 * 1024) * MAX_FILES_PER_UPLOAD + 1024 * 1024


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api", tags=["documents"])

    @router.get("/documents")
    def list_documents(request: Request) -> dict[str, Any]:
        """All ingested documents with their metadata."""
        records = get_records(request)
        docs = records.list_documents() if records else []
        assistant = request.app.state.assistant
        problem = getattr(assistant, "store_problem", None) if assistant is not None else None
        if problem and not docs:
            # A records file cut short reads as empty: not "no documents" while it is broken.
            raise ApiError(503, "store_unavailable", problem, headers={"Retry-After": "30"})
        listing = public_paths([d.model_dump() for d in docs], request.app.state.settings)
        return {"documents": listing, "count": len(docs)}

    @router.get("/documents/{doc_id}")
    def get_document(doc_id: str, request: Request) -> dict[str, Any]:
        """Metadata, full text, sections (with their text) and chunk offsets of one document.

        Offsets are character offsets into ``text``, the same as citations' ``start``/``end``.
        """
        records = get_records(request)
        if records is None:
            raise _missing(doc_id)
        with _read_snapshot(records):
            doc = records.get_document(doc_id)
            if doc is None:
                raise _missing(doc_id)
            text = records.get_text(doc_id) or ""
            found = records.get_sections(doc_id)
            chunks = [c.model_dump() for c in records.get_chunks(doc_id)]
        sections = [{**s.model_dump(), "text": text[s.start : s.end]} for s in found]
        document = public_paths(doc.model_dump(), request.app.state.settings)
        return {"document": document, "text": text, "sections": sections, "chunks": chunks}

    @router.post(
        "/documents",
        status_code=202,
        dependencies=[Depends(require_admin)],
        responses={
            **ADMIN_RESPONSES,
            409: {"description": "A file of that name was uploaded before (use replace=true)."},
            413: {"description": "A file or the whole body is over the upload limit."},
            415: {"description": "A file type that cannot be ingested."},
            422: {"description": "No files, too many, duplicate names or an empty file."},
            503: {"description": "The database is unreachable (Retry-After); nothing stored."},
        },
    )
    def upload_documents(
        request: Request,
        files: Annotated[list[UploadFile], File(description="One or more documents.")],
        settings: SettingsDep,
        replace: Annotated[
            bool,
            Query(description="Replace documents uploaded before under the same file name."),
        ] = False,
    ) -> JSONResponse:
        """Admin: save the files and ingest them in the background (202 + job id)."""
        from ingest.loaders import SUPPORTED_SUFFIXES

        if not files:
            raise ApiError(422, "no_files", "No files were uploaded.")
        if len(files) > MAX_FILES_PER_UPLOAD:
            raise ApiError(
                422, "too_many_files", f"At most {MAX_FILES_PER_UPLOAD} files per upload."
            )
        names = [safe_filename(f.filename) for f in files]
        for name in names:
            check_suffix(name, SUPPORTED_SUFFIXES)
        if len(set(names)) < len(names):
            raise ApiError(422, "duplicate_names", "Two files in this upload have the same name.")
        jobs = request.app.state.jobs
        stored = jobs.store.uploaded(names)  # uploaded through any replica
        existing = [n for n in names if n in stored or (settings.uploads_dir / n).exists()]
        if existing and not replace:
            # A new file under an old name would silently replace that document.
            raise ApiError(
                409,
                "document_exists",
                f"{', '.join(existing)}: a file of that name was uploaded before; upload again "
                "with ?replace=true to replace it.",
            )
        max_bytes = int(settings.max_upload_mb * 1024 * 1024)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Received into a scratch folder, then stored in the database with the job (one
        # commit); a refused or failed upload leaves nothing behind.
        with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=".incoming-") as scratch:
            saved: list[Path] = []
            for upload, name in zip(files, names, strict=True):
                target = Path(scratch) / name
                save_stream(upload.file, target, max_bytes)
                saved.append(target)
            job_id = jobs.submit(saved)
            for path in saved:  # this machine's working copy (the worker reads it from there)
                try:
                    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
                    os.replace(path, settings.uploads_dir / path.name)
                except OSError as exc:  # the worker writes it from the database instead
                    log.warning("upload not copied to %s: %s", settings.uploads_dir, exc)
        log.info("upload queued", extra={"job_id": job_id, "files": names})
        return JSONResponse(
            {"job_id": job_id, "status": "queued", "files": names, "url": f"/api/jobs/{job_id}"},
            status_code=202,
            headers={"Location": f"/api/jobs/{job_id}"},
        )

    @router.delete(
        "/documents/{doc_id}",
        dependencies=[Depends(require_admin)],
        responses={**ADMIN_RESPONSES, 404: {"description": "No document with that id."}},
    )
    def delete_document(doc_id: str, settings: SettingsDep, request: Request) -> dict[str, Any]:
        """Admin: remove a document from the store (and its file, if it was uploaded)."""
        from ingest.pipeline import Indexer

        records = get_records(request)
        doc = records.get_document(doc_id) if records is not None else None
        # Waits for a running ingestion (the indexer's file lock); answering is unaffected.
        if not Indexer(settings).remove(doc_id):
            raise _missing(doc_id)
        if doc is not None and Path(doc.source_path).parent.name == settings.uploads_dir.name:
            # Its original too, so that no replica's rebuild or re-run brings it back.
            request.app.state.jobs.store.delete_upload(Path(doc.source_path).name)
        assistant = request.app.state.assistant
        if assistant is not None:
            assistant.refresh()
        log.info("document deleted", extra={"doc_id": doc_id})
        return {"deleted": doc_id}

    @router.get("/jobs/{job_id}")
    def get_job(job_id: str, request: Request) -> dict[str, Any]:
        """Status (queued/running/done/failed), progress 0..1 and the ingestion report."""
        job = request.app.state.jobs.store.get(job_id)  # any replica's job
        if job is None:
            raise ApiError(404, "job_not_found", f"No ingestion job with id '{job_id}'.")
        job.pop("worker", None)  # host and process: for the logs, not for every reader
        return public_paths(job, request.app.state.settings)

    return router
