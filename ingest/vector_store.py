"""Chroma access: the embedded persistent client by default, ``HttpClient`` for a server URL.

The collection never gets an embedding function (Chroma's default one downloads a model):
vectors always come from our own ``Embeddings`` backend, and the collection's metadata
records which model made them.

Example:
    >>> import tempfile
    >>> from ingest.settings import Settings
    >>> from ingest.vector_store import VectorStore
    >>> store = VectorStore(Settings(data_dir=tempfile.mkdtemp()), "demo-model", "demo")
    >>> store.count()
    0
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import threading
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from ingest.embeddings import EmbeddingModelError
from ingest.settings import Settings

_BATCH = 1000
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_FRESH = threading.Lock()


class StoreModelMismatch(EmbeddingModelError):
    """The store was built with another embedding model than the one configured."""


def make_client(settings: Settings, *, fresh: bool = False) -> ClientAPI:
    """A Chroma client. ``fresh``: never reuse the process-wide cached embedded instance.

    Chroma keeps one embedded instance per path for the whole process, with its HNSW index in
    memory; it never sees vectors another process (the CLI, another uvicorn worker) wrote since
    it loaded, so a filtered query for such an id fails with "Error finding id". Readers open a
    fresh instance when the committed generation moves, and writers open one per run, so
    neither works from (nor persists) a stale in-memory index. Clients already handed out keep
    their own instance until they are dropped.
    """
    chroma_settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(
                f"KVA_CHROMA_URL must look like http://host:port, got {settings.chroma_url!r}"
            )
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 80),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    if not fresh:
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    with _FRESH:
        _forget_cached_instance(str(settings.chroma_dir))
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def _forget_cached_instance(path: str) -> None:
    # Chroma's cache is keyed by path (SharedSystemClient); dropping the entry makes the next
    # PersistentClient load the store from disk. Not stopped: older clients may still query it.
    from chromadb.api.shared_system_client import SharedSystemClient

    for key in [k for k in SharedSystemClient._identifier_to_system if k == path]:
        SharedSystemClient._identifier_to_system.pop(key, None)
        SharedSystemClient._identifier_to_refcount.pop(key, None)


def sweep_segment_dirs(settings: Settings) -> list[str]:
    """Remove HNSW folders of deleted collections; returns their names.

    Chroma 1.5 deletes a collection from its database but leaves its segment folder (a UUID)
    on disk (chroma-core/chroma#1309), so every rebuild and repair left the old index behind,
    a garbled one included. A folder is removed only when the database names other segments
    but not it. Call under the ingest lock (no other writer may be creating a collection).
    """
    db = settings.chroma_dir / "chroma.sqlite3"
    if settings.chroma_url or not db.is_file():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            live = {str(row[0]) for row in conn.execute("SELECT id FROM segments")}
        finally:
            conn.close()
    except sqlite3.Error:
        return []  # a schema we do not know: leave everything alone
    if not live:
        return []
    removed = []
    for folder in settings.chroma_dir.iterdir():
        if folder.is_dir() and _UUID.fullmatch(folder.name) and folder.name not in live:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


class VectorStore:
    """One Chroma collection of chunk vectors, tied to one embedding model."""

    def __init__(
        self,
        settings: Settings,
        model_id: str,
        name: str | None = None,
        *,
        create: bool = True,
        fresh: bool = True,
    ) -> None:
        self.client = make_client(settings, fresh=fresh)
        self.name = name or settings.collection
        self.model_id = model_id
        if create:
            self.collection: Collection = self.client.get_or_create_collection(
                self.name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": model_id},
            )
        else:
            self.collection = self.client.get_collection(self.name, embedding_function=None)
        stored = (self.collection.metadata or {}).get("embedding_model")
        if stored != model_id:
            raise StoreModelMismatch(
                f"the store was built with embedding model {stored!r}, but the settings ask for "
                f"{model_id!r}; re-ingest with `python -m ingest --rebuild` or switch back"
            )

    def count(self) -> int:
        return self.collection.count()

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        offset = 0
        while True:
            batch = self.collection.get(include=[], limit=10_000, offset=offset)["ids"]
            ids.update(batch)
            if len(batch) < 10_000:
                return ids
            offset += len(batch)

    def get_vectors(self, ids: list[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for i in range(0, len(ids), _BATCH):
            got = self.collection.get(ids=ids[i : i + _BATCH], include=["embeddings"])
            for id_, vec in zip(got["ids"], got["embeddings"], strict=True):
                found[id_] = list(map(float, vec))
        return found

    def upsert(
        self, ids: list[str], vectors: list[list[float]], metadatas: list[dict[str, Any]]
    ) -> None:
        for i in range(0, len(ids), _BATCH):
            self.collection.upsert(
                ids=ids[i : i + _BATCH],
                embeddings=vectors[i : i + _BATCH],
                metadatas=metadatas[i : i + _BATCH],
            )

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), _BATCH):
            self.collection.delete(ids=ids[i : i + _BATCH])

    def query(
        self, vector: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) pairs, best first."""
        if k < 1:
            return []
        # Not capped at count(): Chroma returns what it has, and counting a million-vector
        # collection took 82 ms of every question (the search itself: 1.4 ms).
        result = self.collection.query(
            query_embeddings=[vector], n_results=k, where=where or None, include=["distances"]
        )
        return [
            (id_, 1.0 - float(dist))
            for id_, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def drop(self) -> None:
        # An absent collection is the goal anyway.
        with contextlib.suppress(Exception):
            self.client.delete_collection(self.name)
