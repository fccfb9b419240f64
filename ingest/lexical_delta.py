"""The keyword index of a generation that changed few chunks of a large store: the last full
index, its removed and replaced chunks hidden, and a small index of the new chunks only.

A replica of a million-chunk PostgreSQL store rebuilt its BM25 index at every generation:
over three minutes of reading and tokenizing every chunk after any upload, while questions
waited; the embedded store's commit did the same. Here an upload costs its own chunks: a
replica's cache (``assistant.store_snapshot``) and an embedded commit (``commit_folder``,
the folder the committed meta names) write a delta on the last full index. Stores under
``DELTA_MIN_BASE_CHUNKS`` are rebuilt whole, as always.

BM25 weighs a term by how rare it is in the whole corpus (idf) and a chunk by its length
against the corpus's mean; a small index scored on its own would give every term of a new
document a large weight. So the delta is scored with the base's document frequencies (plus
its own) and the base's mean length, by bm25s's formula for the base's method (lucene), and
is then an ordinary bm25s index: saved, loaded and searched by bm25s. The base's weights do
not count the delta's chunks nor forget the hidden ones; both together are held to a tenth of
the base (``worth_a_delta``), so rankings differ from a rebuilt index's only by that.

Example:
    >>> base = LexicalIndex.build([("a", "bostøtte efter serviceloven", "da"),
    ...                            ("b", "botilbud og bostøtte", "da")])
    >>> delta = build_delta([("c", "ny metode til bostøtte", "da")], base)
    >>> layered = LayeredLexicalIndex(base, delta, dead={"b"})
    >>> [hit.chunk_id for hit in layered.search(["bostøt"], "da", k=5)], layered.size()
    (['a', 'c'], 2)
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

import bm25s
import numpy as np

from ingest.lexical import LexicalHit, LexicalIndex, index_language, tokenize

DELTA_MIN_BASE_CHUNKS = 40_000
DELTA_MAX_CHUNKS = 20_000
DELTA_MAX_SHARE = 0.1
"""A generation that adds, changes or removes more chunks than ``DELTA_MAX_CHUNKS``, or than
this share of the base's, gets its keyword index rebuilt: the base's weights count neither.
(2,000 chunks of seed-corpus sentences, 50 added and 50 removed: the questions' top 5 shared
93 % with a rebuilt index's and every top 1, each score within 5 %: ``test_lexical_delta``.)"""
LAYER_FILE = "layer.json"
log = logging.getLogger("kva.ingest")
_EMPTY = "\u2205"  # as ``LexicalIndex.build``: a chunk without tokens keeps its row


def worth_a_delta(changed: int, dead: int, base_chunks: int) -> bool:
    """Whether ``changed`` new chunks and ``dead`` hidden ones are few enough to layer on a
    base of ``base_chunks`` (the base's weights count neither), and the base large enough to
    be worth it (a smaller one is rebuilt in seconds, and ranks as a rebuilt index does)."""
    if base_chunks < DELTA_MIN_BASE_CHUNKS:
        return False
    return changed + dead <= min(DELTA_MAX_CHUNKS, DELTA_MAX_SHARE * base_chunks)


def write_next(
    into: Path,
    base: Path | None,
    current: Collection[str],
    texts: Callable[[set[str]], Iterable[tuple[str, str, str]]],
    everything: Callable[[], Iterable[tuple[str, str, str]]],
) -> bool:
    """Write into ``into`` the keyword index of a generation whose chunk ids are ``current``:
    a delta on the full index in ``base`` where ``worth_a_delta`` (``texts`` gives the
    (chunk id, text, language) of the chunks it asks for), else whole from ``everything``.
    True where a delta was written."""
    if base is not None and base.is_dir():
        try:
            full = LexicalIndex.load(base, mmap=True)
        except (OSError, ValueError) as exc:
            log.warning("keyword index %s unreadable (%s); writing it whole", base, exc)
        else:
            in_base = {c for lang in full.languages for c in full.chunk_ids(lang)}
            changed = {c for c in current if c not in in_base}
            dead = in_base.difference(current)
            if worth_a_delta(len(changed), len(dead), len(in_base)):
                save_delta(build_delta(texts(changed), full), into, base.name, dead)
                return True
    LexicalIndex.build(everything()).save(into)
    return False


def build_delta(chunks: Iterable[tuple[str, str, str]], base: LexicalIndex) -> LexicalIndex:
    """The keyword index of ``chunks`` ((chunk id, text, language)), each language's scores
    weighted as if its chunks had been indexed together with ``base``'s."""
    by_lang: dict[str, tuple[list[list[str]], list[str]]] = {}
    for chunk_id, text, language in chunks:
        tokens, ids = by_lang.setdefault(index_language(language), ([], []))
        tokens.append(tokenize(text, language) or [_EMPTY])
        ids.append(chunk_id)
    background = base.document_frequencies()
    indexes = {}
    for lang, (tokens, ids) in by_lang.items():
        reference = base.retriever(lang)
        n_base, frequencies = background.get(lang, (0, {}))
        mean = base.mean_length(lang)
        indexes[lang] = (
            _scored(tokens, reference, n_base, frequencies, mean),
            ids,
        )
    return LexicalIndex(indexes)


def _scored(
    tokens: list[list[str]],
    reference: bm25s.BM25 | None,
    n_base: int,
    frequencies: dict[str, int],
    mean_length: float | None,
) -> bm25s.BM25:
    """A bm25s index of ``tokens`` whose idf counts ``n_base`` more chunks with these
    document ``frequencies``, and whose length norm uses ``mean_length`` (the base's)."""
    params = {"k1": 1.5, "b": 0.75, "method": "lucene"}
    if reference is not None:
        params = {"k1": reference.k1, "b": reference.b, "method": reference.method}
    if params["method"] != "lucene":
        raise ValueError(f"a delta is scored as lucene BM25, not {params['method']}")
    retriever = bm25s.BM25(**params)
    vocab = {token: i for i, token in enumerate(sorted({t for doc in tokens for t in doc}))}
    vocab.setdefault("", len(vocab))  # bm25s adds the empty token to every vocabulary
    rows: list[int] = []
    cols: list[int] = []
    counts: list[int] = []
    lengths = np.asarray([len(doc) for doc in tokens], dtype=np.float64)
    for row, doc in enumerate(tokens):
        for token, tf in Counter(doc).items():
            rows.append(row)
            cols.append(vocab[token])
            counts.append(tf)
    col = np.asarray(cols, dtype=np.int64)
    df_delta = np.bincount(col, minlength=len(vocab))
    df = df_delta + np.asarray([frequencies.get(t, 0) for t in vocab], dtype=np.int64)
    n_docs = n_base + len(tokens)
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    mean = mean_length if mean_length else float(lengths.mean()) if len(lengths) else 1.0
    tf = np.asarray(counts, dtype=np.float64)
    row = np.asarray(rows, dtype=np.int64)
    k1, b = params["k1"], params["b"]
    scores = idf[col] * tf / (tf + k1 * (1 - b + b * lengths[row] / mean))
    order = np.lexsort((row, col))
    indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(df_delta, out=indptr[1:])
    retriever.scores = {
        "data": scores[order].astype(np.float32),
        "indices": row[order].astype(np.int32),
        "indptr": indptr,
        "num_docs": len(tokens),
    }
    retriever.vocab_dict = vocab
    retriever.unique_token_ids_set = set(vocab.values())
    retriever.nonoccurrence_array = None  # lucene has none (only BM25L and BM25+)
    return retriever


class LayeredLexicalIndex:
    """``LexicalIndex``'s reading side over a full index and a delta: the base's rows of
    ``dead`` chunks (removed, or replaced by the delta) never match."""

    def __init__(self, base: LexicalIndex, delta: LexicalIndex, dead: Collection[str]) -> None:
        self.base = base
        self.delta = delta
        gone = self._dead = set(dead)
        self._live = {
            lang: np.fromiter((c not in gone for c in ids), dtype=np.float32, count=len(ids))
            for lang, ids in ((lang, base.chunk_ids(lang)) for lang in base.languages)
        }
        # A language none of whose rows is hidden is searched without a mask (a weight mask
        # costs bm25s a pass over every row).
        self._hides = {lang: not live.all() for lang, live in self._live.items()}

    @property
    def languages(self) -> list[str]:
        return sorted(set(self.base.languages) | set(self.delta.languages))

    def size(self) -> int:
        return int(sum(live.sum() for live in self._live.values())) + self.delta.size()

    def ids(self) -> set[str]:
        found = self.delta.ids()
        for lang, live in self._live.items():
            found.update(c for c, keep in zip(self.base.chunk_ids(lang), live, strict=True) if keep)
        return found

    def digest(self) -> str:
        """Fingerprint of both layers' id lists and the hidden ids (``LexicalIndex.digest``)."""
        h = hashlib.sha256(b"layered\0" + self.base.digest().encode())
        h.update(self.delta.digest().encode())
        h.update("\n".join(sorted(self._dead)).encode())
        return h.hexdigest()

    def document_frequencies(self) -> dict[str, tuple[int, dict[str, int]]]:
        """As ``LexicalIndex.document_frequencies``, of the base (hidden chunks' terms still
        counted) and the delta together."""
        base, delta = self.base.document_frequencies(), self.delta.document_frequencies()
        out = {}
        for lang in self.languages:
            n_base, f_base = base.get(lang, (0, {}))
            n_delta, f_delta = delta.get(lang, (0, {}))
            live = int(self._live[lang].sum()) if lang in self._live else n_base
            out[lang] = (live + n_delta, dict(Counter(f_base) + Counter(f_delta)))
        return out

    def mask(self, language: str, allowed: Collection[str]) -> np.ndarray | None:
        parts = [
            self.base.mask(language, allowed) if language in self._live else None,
            self.delta.mask(language, allowed),
        ]
        if parts[0] is None and parts[1] is None:
            return None
        sizes = self._rows(language)
        return np.concatenate(
            [
                part if part is not None else np.zeros(n, np.float32)
                for part, n in zip(parts, sizes, strict=True)
            ]
        )

    def _rows(self, language: str) -> tuple[int, int]:
        return len(self.base.chunk_ids(language)), len(self.delta.chunk_ids(language))

    def search(
        self,
        tokens: list[str],
        language: str,
        k: int,
        allowed: Collection[str] | None = None,
        mask: np.ndarray | None = None,
    ) -> list[LexicalHit]:
        """As ``LexicalIndex.search``; ``mask`` as ``mask`` makes it (base rows, then the
        delta's)."""
        n_base, n_delta = self._rows(language)
        if mask is None and allowed is not None:
            mask = self.mask(language, allowed)
        if mask is not None and len(mask) != n_base + n_delta:
            raise ValueError(f"a mask of {len(mask)} rows for an index of {n_base + n_delta}")
        hits: list[LexicalHit] = []
        if n_base:
            weights = None if mask is None else mask[:n_base]
            if self._hides[language]:
                live = self._live[language]
                weights = live if weights is None else live * weights
            hits += self.base.search(tokens, language, k, mask=weights)
        if n_delta:
            part = None if mask is None else mask[n_base:]
            hits += self.delta.search(tokens, language, k, mask=part)
        return sorted(hits, key=lambda hit: -hit.score)[:k]


def save_delta(delta: LexicalIndex, folder: Path, base: str, dead: Iterable[str]) -> None:
    """Write ``delta`` into ``folder``, naming the full index it is on (a sibling folder).
    The folder appears whole: a delta without its layer file would read as a full index."""
    tmp = folder.with_name(folder.name + ".delta-tmp")
    delta.save(tmp)
    layer = {"base": base, "dead": sorted(dead)}
    (tmp / LAYER_FILE).write_text(json.dumps(layer), encoding="utf-8")
    tmp.rename(folder)


def commit_folder(
    root: Path,
    generation: int,
    previous: str | None,
    current: Collection[str],
    texts: Callable[[set[str]], Iterable[tuple[str, str, str]]],
    everything: Callable[[], Iterable[tuple[str, str, str]]],
) -> tuple[Path, LexicalIndex | LayeredLexicalIndex]:
    """An embedded store's keyword index for its next generation, in a new folder under
    ``root`` that the commit will name: a delta on the full index behind ``previous`` (the
    committed folder, itself or its base) where ``worth_a_delta``, else whole. ``previous``
    None: whole (a rebuild, or another tokenizer)."""
    folder = root / f"gen-{generation}-{int(time.time() * 1000)}"
    base = None
    if previous and (root / previous).is_dir():
        base = root / (base_of(root / previous) or previous)
    root.mkdir(parents=True, exist_ok=True)
    write_next(folder, base, current, texts, everything)
    return folder, load_index(folder)


def sweep_folders(root: Path, keep: Path) -> None:
    """Remove the folders under ``root`` but ``keep`` and the full index it is a delta on."""
    kept = {keep.name, base_of(keep) or keep.name}
    for folder in root.iterdir() if root.is_dir() else []:
        if folder.name not in kept:
            shutil.rmtree(folder, ignore_errors=True)


def base_of(folder: Path) -> str | None:
    """The full index a delta folder is written on; None for a full index."""
    path = folder / LAYER_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["base"]


def load_index(folder: Path) -> LexicalIndex | LayeredLexicalIndex:
    """A folder ``LexicalIndex.save`` or ``save_delta`` wrote, memory-mapped."""
    path = folder / LAYER_FILE
    if not path.is_file():
        return LexicalIndex.load(folder, mmap=True)
    layer = json.loads(path.read_text(encoding="utf-8"))
    base = folder.parent / layer["base"]
    if not base.is_dir():
        raise FileNotFoundError(f"{folder}: the index it is written on, {base.name}, is gone")
    return LayeredLexicalIndex(
        LexicalIndex.load(base, mmap=True), LexicalIndex.load(folder, mmap=True), layer["dead"]
    )
