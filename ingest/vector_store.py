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
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from ingest.embeddings import EmbeddingModelError
from ingest.settings import Settings

_BATCH = 1000


class StoreModelMismatch(EmbeddingModelError):
    """The store was built with another embedding model than the one configured."""


def make_client(settings: Settings) -> ClientAPI:
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
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


class VectorStore:
    """One Chroma collection of chunk vectors, tied to one embedding model."""

    def __init__(
        self, settings: Settings, model_id: str, name: str | None = None, *, create: bool = True
    ) -> None:
        self.client = make_client(settings)
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
        n = min(k, self.count())
        if n == 0:
            return []
        result = self.collection.query(
            query_embeddings=[vector], n_results=n, where=where or None, include=["distances"]
        )
        return [
            (id_, 1.0 - float(dist))
            for id_, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def drop(self) -> None:
        # An absent collection is the goal anyway.
        with contextlib.suppress(Exception):
            self.client.delete_collection(self.name)
