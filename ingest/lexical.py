"""BM25 keyword index (bm25s) with per-language stemming (PyStemmer) and stopwords.

There is one index per chunk language: Danish chunks are stemmed with the Danish Snowball
stemmer and Danish stopwords, English chunks with the English ones, so "bostøtten" meets
"bostøtte" and "benchmarks" meets "benchmark". Chunks in a third language go to the English
index. The index is written whole into a fresh folder per store generation; the record
database names the folder that belongs to the committed state.

Example:
    >>> from ingest.lexical import tokenize
    >>> tokenize("Bostøtten efter serviceloven § 85", "da")
    ['bostøt', 'servicelov', '85']
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_DANISH, STOPWORDS_EN_PLUS

LANGUAGES = ("da", "en")
# Bump when tokenisation changes: the next ingestion run then rebuilds the BM25 indexes.
LEXICAL_VERSION = "2"
_STEMMERS = {"da": "danish", "en": "english"}
# Question words and verbs of asking carry no topic; leaving them in makes every question
# look half-unanswered to the composer's coverage measure.
_EXTRA_STOPWORDS = {
    "da": """hos mange meget findes gælder står siger sige fortæl fortælle handler hvilken hvilket
    hvilke hvornår hvordan hvorfor hvem hvad hvor kan kunne skal vil må får gør bliver blevet
    noget nogen nogle andre anden andet ift iflg mht vedr""",
    "en": """say says said tell many much does do did get gets can could would should will shall
    may might must also there here please""",
}
_STOPWORDS = {
    "da": frozenset(STOPWORDS_DANISH) | frozenset(_EXTRA_STOPWORDS["da"].split()),
    "en": frozenset(STOPWORDS_EN_PLUS) | frozenset(_EXTRA_STOPWORDS["en"].split()),
}
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_STATS = "kva_stats.json"


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(_STEMMERS[language])


def index_language(language: str) -> str:
    return language if language in LANGUAGES else "en"


def is_stopword(word: str, language: str) -> bool:
    return word.lower() in _STOPWORDS[index_language(language)]


def tokenize(text: str, language: str) -> list[str]:
    """Lower-cased, stopword-free, stemmed tokens; numbers are kept (section numbers matter)."""
    lang = index_language(language)
    words = [w for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS[lang]]
    return _stemmer(lang).stemWords(words)


@dataclass
class LexicalHit:
    chunk_id: str
    score: float


class LexicalIndex:
    """Per-language BM25 indexes over chunk texts, persisted in one folder."""

    def __init__(
        self,
        indexes: dict[str, tuple[bm25s.BM25, list[str]]],
        mean_lengths: dict[str, float] | None = None,
    ) -> None:
        self._indexes = indexes
        self._mean_lengths = mean_lengths or {}

    @classmethod
    def build(cls, chunks: Iterable[tuple[str, str, str]]) -> LexicalIndex:
        """``chunks``: (chunk id, text, language) triples."""
        by_lang: dict[str, tuple[list[list[str]], list[str]]] = {}
        for chunk_id, text, language in chunks:
            tokens, ids = by_lang.setdefault(index_language(language), ([], []))
            # bm25s cannot index an empty token list; a lone placeholder keeps ids aligned.
            tokens.append(tokenize(text, language) or ["\u2205"])
            ids.append(chunk_id)
        indexes = {}
        for lang, (tokens, ids) in by_lang.items():
            retriever = bm25s.BM25()
            retriever.index(tokens, show_progress=False)
            indexes[lang] = (retriever, ids)
        means = {lang: float(np.mean([len(t) for t in d])) for lang, (d, _) in by_lang.items()}
        return cls(indexes, means)

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for lang, (retriever, ids) in self._indexes.items():
            retriever.save(str(tmp / lang))
            (tmp / lang / "chunk_ids.json").write_text(json.dumps(ids))
            if lang in self._mean_lengths:
                # What a delta on this index scores its chunks' lengths against.
                stats = {"mean_length": self._mean_lengths[lang]}
                (tmp / lang / _STATS).write_text(json.dumps(stats))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = False) -> LexicalIndex:
        """``mmap``: map the score matrix read-only instead of reading it (a replica of a
        million chunks keeps it in the page cache, shared and reclaimable, not in its heap).
        A new generation writes a new folder, so a mapped one is never rewritten."""
        indexes = {}
        means = {}
        if folder.is_dir():
            for sub in sorted(folder.iterdir()):
                ids_file = sub / "chunk_ids.json"
                if ids_file.is_file():
                    indexes[sub.name] = (
                        bm25s.BM25.load(str(sub), mmap=mmap),
                        json.loads(ids_file.read_text()),
                    )
                if (sub / _STATS).is_file():
                    means[sub.name] = json.loads((sub / _STATS).read_text())["mean_length"]
        return cls(indexes, means)

    @property
    def languages(self) -> list[str]:
        return list(self._indexes)

    def size(self) -> int:
        return sum(len(ids) for _, ids in self._indexes.values())

    def chunk_ids(self, language: str) -> list[str]:
        """The chunk id of each row of ``language``'s index (none: no such index)."""
        entry = self._indexes.get(language)
        return entry[1] if entry is not None else []

    def retriever(self, language: str) -> bm25s.BM25 | None:
        entry = self._indexes.get(language)
        return entry[0] if entry is not None else None

    def mean_length(self, language: str) -> float | None:
        """Mean tokens per chunk of ``language``'s index (None for an index saved before
        it was recorded)."""
        return self._mean_lengths.get(language)

    def ids(self) -> set[str]:
        """Chunk ids, or ValueError when an id list does not match its index's row count."""
        found: set[str] = set()
        for lang, (retriever, ids) in self._indexes.items():
            rows = int(retriever.scores.get("num_docs", len(ids)))
            if rows != len(ids):
                raise ValueError(f"{lang}: {len(ids)} chunk ids for {rows} indexed rows")
            found.update(ids)
        return found

    def document_frequencies(self) -> dict[str, tuple[int, dict[str, int]]]:
        """Per language: (chunks, stem -> chunks holding it), read off the index's columns
        (a replica gets its term weights without tokenizing every chunk again)."""
        out = {}
        for lang, (retriever, ids) in self._indexes.items():
            counts = np.diff(np.asarray(retriever.scores["indptr"]))
            out[lang] = (
                len(ids),
                {
                    token: int(counts[i])
                    for token, i in retriever.vocab_dict.items()
                    if i < len(counts) and counts[i] and token != "\u2205"
                },
            )
        return out

    def digest(self) -> str:
        """Fingerprint of the id lists in order: a shifted id file changes it."""
        h = hashlib.sha256()
        for lang in sorted(self._indexes):
            h.update(lang.encode() + b"\0" + "\n".join(self._indexes[lang][1]).encode() + b"\0")
        return h.hexdigest()

    def mask(self, language: str, allowed: Collection[str]) -> np.ndarray | None:
        """The index of ``language``'s rows in ``allowed`` (1.0) or not (0.0), for
        ``search``; None when there is no index of ``language``. Built in Python over every
        row: at a million chunks it was half of a filtered question's time, so callers that
        ask again under the same filter keep it."""
        entry = self._indexes.get(language)
        if entry is None:
            return None
        ids = entry[1]
        return np.fromiter((i in allowed for i in ids), dtype=np.float32, count=len(ids))

    def search(
        self,
        tokens: list[str],
        language: str,
        k: int,
        allowed: Collection[str] | None = None,
        mask: np.ndarray | None = None,
    ) -> list[LexicalHit]:
        """Search the index of ``language`` with already tokenized query terms; only the
        chunks in ``allowed``, or those ``mask`` (``mask(language, allowed)``) marks."""
        entry = self._indexes.get(language)
        if entry is None or not tokens:
            return []
        retriever, ids = entry
        if mask is None and allowed is not None:
            mask = self.mask(language, allowed)
        if mask is not None:
            if len(mask) != len(ids):
                raise ValueError(f"a mask of {len(mask)} rows for an index of {len(ids)}")
            if not mask.any():
                return []
        k = min(k, len(ids))
        docs, scores = retriever.retrieve(
            [tokens], k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [
            LexicalHit(ids[int(d)], float(s))
            for d, s in zip(docs[0], scores[0], strict=True)
            if s > 0
        ]
