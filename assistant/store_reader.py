"""A read-only snapshot of the committed store, swapped whole when ingestion commits.

Readers trust only chunk ids listed in the record database at the snapshot's generation, so a
query never sees half of an ingestion run: vectors of an uncommitted run are skipped.

Example:
    >>> import tempfile
    >>> from ingest.settings import Settings
    >>> from assistant.store_reader import StoreReader
    >>> StoreReader(Settings(data_dir=tempfile.mkdtemp())).snapshot().chunk_count
    0
"""

from __future__ import annotations

import logging
import math
import sqlite3
import sys
import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

from assistant.chunk_table import ChunkTable
from assistant.document_texts import DocumentTexts, SnapshotMoved
from assistant.language_balance import LanguageStats, spread_of, standardised
from ingest.check import (
    CheckReport,
    check_in_child,
    check_store,
    record_verified,
    verify_vectors,
)
from ingest.embeddings import make_embeddings
from ingest.lexical import LexicalIndex, tokenize
from ingest.lexical_delta import LayeredLexicalIndex, load_index
from ingest.records import ChunkRecord, DocumentRecord, Records, RecordsMissing
from ingest.settings import Settings
from ingest.store import DocumentStore, open_store, store_kind
from ingest.store.sentence_file import META_KEY as SENTENCE_META
from ingest.units import pooled
from ingest.vector_store import StoreModelMismatch, VectorStore

log = logging.getLogger("kva.store")


# An embedded store with more chunks than this is served before the per-row part of its
# check is done (minutes at a million chunks; see ``check_store(full=False)``).
CHECK_LATER_CHUNKS = 200_000
# A server store's replica of at least this many chunks prepares a new generation beside the
# one it serves (``StoreReader.snapshot``): at a million chunks the preparation takes about
# 35 s, which every question arriving meanwhile waited. A smaller one switches at once, as
# an embedded reader does, so an upload is answered from on the next question.
PREPARE_BESIDE_MIN_CHUNKS = 40_000
# Chunks per language whose vectors stand for "an unrelated chunk" (``dense_background``):
# the spread of 2,000 cosines is known to about 2 %, and pooling them costs one read.
DENSE_BACKGROUND_CHUNKS = 2_000


def _done() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


@dataclass
class Snapshot:
    generation: int
    # Which store: a store deleted and ingested anew restarts its generations.
    store_id: str = ""
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    texts: DocumentTexts = field(default_factory=DocumentTexts.empty)
    chunks: ChunkTable = field(default_factory=ChunkTable)
    lexical: LexicalIndex | LayeredLexicalIndex = field(default_factory=lambda: LexicalIndex({}))
    vectors: VectorStore | None = None
    idf: dict[str, dict[str, float]] = field(default_factory=dict)

    records: Records | None = None
    # Why the committed state failed its check (None: it passed); readiness reports it.
    problem: str | None = None
    # Uncommitted vectors a killed run left in the collection: asked for on top of k, so
    # that filtering them out does not shorten the dense ranking.
    orphans: int = 0
    reopen: Callable[[], VectorStore | None] | None = None
    # Stat signature of the store's files when this snapshot was checked (readiness re-checks
    # when it changes).
    signature: tuple = ()
    _vector_lock: threading.Lock = field(default_factory=threading.Lock)
    _chunk_matrix: tuple[list[str], np.ndarray, dict[str, np.ndarray]] | None = None
    _background: dict[str, np.ndarray] | None = None
    # What questions' filters allow in this snapshot (``assistant.filter_scope``), the most
    # recently asked last; a new generation is a new snapshot, so nothing goes stale.
    filter_scopes: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict)
    filter_scopes_lock: threading.Lock = field(default_factory=threading.Lock)

    # The record database is gone (the store deleted, maybe being ingested anew).
    missing: bool = False
    # Over CHECK_LATER_CHUNKS chunks: the per-row part of the store check runs after the
    # snapshot is served; ``checked`` is set when it is done (at once for other stores).
    large: bool = False
    checked: threading.Event = field(default_factory=_done)
    # The sentence index written at ingest for this generation (``sentence_file``), or where
    # a server store's replica keeps the one it makes from the database; neither: in memory.
    sentence_dir: Path | None = None
    sentence_cache: Path | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.store_id, -1) if self.missing else (self.store_id, self.generation)

    def dense(
        self, vector: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]] | None:
        """Dense hits; None when the vector index is unavailable (it failed its check, or a
        query failed twice: once more after reopening it), so the caller searches without it
        and says so. Never raises."""
        if self.vectors is None:
            return None
        k += self.orphans
        try:
            return self.vectors.query(vector, k, where)
        except Exception as first:  # noqa: BLE001 - any Chroma failure gets one fresh retry
            if self._moved():
                # A commit replaced this snapshot's collection (a --rebuild drops the old one):
                # answer this question without it; the next one gets the new snapshot.
                log.warning("dense query failed (%s) after a new commit; scanning", first)
                return None
            log.warning("dense query failed (%s); reopening the vector store", first)
            try:
                with self._vector_lock:
                    self.vectors = self.reopen() if self.reopen is not None else None
                if self.vectors is None:
                    raise RuntimeError(self.problem or "the vector index is unavailable")
                return self.vectors.query(vector, k, where)
            except Exception as second:  # noqa: BLE001
                log.error(
                    "dense query failed again (%s); answering from keyword and sentence "
                    "search only; run `python -m ingest check --repair`",
                    second,
                )
                return None

    def _moved(self) -> bool:
        try:
            return self.records is not None and self.records.state() != self.key
        except Exception:  # noqa: BLE001 - a store that cannot be read has moved on too
            return True

    def scan_dense(
        self,
        vector: list[float],
        k: int,
        allowed: Collection[str],
        stats: LanguageStats | None = None,
    ) -> list[tuple[str, float]]:
        """The dense ranking without Chroma: every chunk's vector pooled from its sentence
        vectors in the records (what Chroma holds), compared exactly. Built on first use.
        With ``stats`` (``dense_background``) ranked as ``balance`` ranks."""
        with self._vector_lock:
            if self._chunk_matrix is None:
                kept, matrix = self._pooled(sorted(self.chunks))
                langs = np.asarray([self.chunks.language(c) for c in kept], dtype=object)
                masks = {lang: langs == lang for lang in set(langs)}
                self._chunk_matrix = (kept, matrix, masks)
        ids, matrix, masks = self._chunk_matrix
        if not ids:
            return []
        sims = matrix @ np.asarray(vector, dtype=np.float32)
        key = standardised(sims, masks, stats)
        out: list[tuple[str, float]] = []
        for i in np.argsort(-key):
            if ids[i] in allowed:
                out.append((ids[i], float(sims[i])))
                if len(out) >= k:
                    break
        return out

    def dense_background(self, vector: list[float]) -> LanguageStats:
        """Per chunk language, the mean and spread of ``vector``'s cosine to an even sample
        of that language's chunks (``DENSE_BACKGROUND_CHUNKS``, pooled once per snapshot):
        what an unrelated chunk scores. A language with fewer than 2 chunks has none."""
        query = np.asarray(vector, dtype=np.float32)
        stats: LanguageStats = {}
        for lang, matrix in self.background_vectors().items():
            found = spread_of(matrix @ query)
            if found is not None:
                stats[lang] = found
        return stats

    def background_vectors(self) -> dict[str, np.ndarray]:
        """Per chunk language, the pooled vectors of ``dense_background``'s sample, read once
        (about 3 s from PostgreSQL at a million chunks: a replica reads them while it prepares
        the snapshot, not inside its first question)."""
        with self._vector_lock:
            if self._background is None:
                self._background = {
                    lang: self._pooled(self.chunks.sample(lang, DENSE_BACKGROUND_CHUNKS))[1]
                    for lang in self.chunks.languages()
                }
            return self._background

    def _pooled(self, chunk_ids: list[str]) -> tuple[list[str], np.ndarray]:
        """The chunks that have answer units, and their vectors pooled from those units'
        vectors in the records, as Chroma holds them (one row per kept chunk)."""
        units = self.unit_vectors(chunk_ids)
        kept = [c for c in chunk_ids if units.get(c)]
        rows = [pooled([v for _, _, v in units[c]], [e - s for s, e, _ in units[c]]) for c in kept]
        return kept, np.asarray(rows, dtype=np.float32).reshape(len(kept), -1)

    def balance(
        self, scored: list[tuple[str, float]], stats: LanguageStats
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine) pairs best first by each cosine's distance from its chunk
        language's background (``dense_background``), in spreads: a question's cosine to
        any chunk of its own language runs higher than to any chunk of the other, so raw
        cosines bury the other language's answer. By raw cosine when a language present
        has no background."""
        langs = np.asarray([self.chunks.language(cid) for cid, _ in scored], dtype=object)
        sims = np.asarray([score for _, score in scored], dtype=np.float32)
        key = standardised(sims, {lang: langs == lang for lang in set(langs)}, stats)
        return [scored[i] for i in np.argsort(-key, kind="stable")]

    def score_chunks(self, vector: list[float], chunk_ids: list[str]) -> list[tuple[str, float]]:
        """Cosine of ``vector`` with these chunks' vectors (pooled from their sentence
        vectors in the records, as Chroma holds them), best first."""
        units = self.unit_vectors(chunk_ids)
        query = np.asarray(vector, dtype=np.float32)
        scored = [
            (c, float(np.dot(pooled([v for _, _, v in rows], [e - s for s, e, _ in rows]), query)))
            for c, rows in units.items()
            if rows
        ]
        return sorted(scored, key=lambda pair: -pair[1])

    def unit_vectors(self, chunk_ids: list[str]) -> dict[str, list[tuple[int, int, np.ndarray]]]:
        """chunk id -> [(start, end, vector)] of its answer units."""
        out: dict[str, list[tuple[int, int, np.ndarray]]] = {}
        if self.records is None:
            return out
        for u in self.records.get_units(chunk_ids):
            out.setdefault(u.chunk_id, []).append(
                (u.start, u.end, np.frombuffer(u.vector, dtype=np.float32))
            )
        return out

    @property
    def chunk_count(self) -> int:
        return len(self.chunks)

    def chunk_text(self, chunk: ChunkRecord) -> str:
        return self.texts[chunk.doc_id][chunk.start : chunk.end]

    def term_weight(self, stem: str, language: str) -> float:
        """Inverse document frequency of a stemmed term among the chunks of ``language``."""
        table = self.idf.get(language)
        if not table:
            return 1.0
        return table.get(stem, table.get("\0max", 1.0))


T = TypeVar("T")

# While a replica prepares a generation, its questions share the interpreter with the
# preparation: a question gives the lock up at every database wait and numpy call and, with
# the preparation tokenizing, got it back only after the default 5 ms switch interval each
# time (single questions took 4-5 s). A shorter interval while preparing hands it back sooner.
_PREPARING_SWITCH_INTERVAL = 0.0005
_preparing_count = 0
_preparing_lock = threading.Lock()
_usual_switch_interval = sys.getswitchinterval()


@contextmanager
def _questions_first() -> Iterator[None]:
    """The interpreter's switch interval shortened while any preparation runs."""
    global _preparing_count, _usual_switch_interval
    with _preparing_lock:
        if _preparing_count == 0:
            _usual_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_usual_switch_interval, _PREPARING_SWITCH_INTERVAL))
        _preparing_count += 1
    try:
        yield
    finally:
        with _preparing_lock:
            _preparing_count -= 1
            if _preparing_count == 0:
                sys.setswitchinterval(_usual_switch_interval)


class SnapshotCache(Generic[T]):
    """What ``build`` makes of a snapshot, kept until ingestion commits a new one.

    >>> cache = SnapshotCache(lambda snap: snap.generation * 10)
    >>> snap = Snapshot(generation=2)
    >>> cache.get(snap), cache.get(snap) is cache.get(snap)
    (20, True)
    """

    def __init__(self, build: Callable[[Snapshot], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        # Two snapshots' values, newest first: a replica prepares the next generation's while
        # questions are still answered from the one it serves. Held by weak reference, so a
        # snapshot no longer served or asked about takes its values with it.
        self._cached: tuple[tuple[weakref.ref[Snapshot], T], ...] = ()

    def get(self, snap: Snapshot) -> T:
        # Keyed on the snapshot object itself: a new commit gives a new snapshot, and two
        # stores (an evaluation over two corpora) never share one.
        for held, value in self._cached:
            if held() is snap:
                return value
        with self._lock:
            for held, value in self._cached:
                if held() is snap:
                    return value
            value = self._build(snap)
            alive = [(held, v) for held, v in self._cached if held() is not None]
            self._cached = ((weakref.ref(snap), value), *alive[:1])
            return value


class StoreReader:
    """Opens the store for reading and keeps a current snapshot (cheap to check, thread-safe).

    A snapshot is keyed on (store id, generation): the record database is reopened when its
    file was replaced, so a store deleted and ingested anew is followed, not served from the
    deleted files. Chroma is opened in this process only after the check vouched for its
    files (their checksums since the last commit, or a child process that opened them).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # A server store (PostgreSQL) is read through the store seam; nothing on local disk.
        self.server = None if store_kind(settings) == "embedded" else open_store(settings)
        self.records = Records(settings.records_path) if self.server is None else None
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._deep_lock = threading.Lock()
        self._checking = False
        self._waiting: Snapshot | None = None
        self._snapshot: Snapshot | None = None
        self._preparing: threading.Thread | None = None
        self._prepare_lock = threading.Lock()
        self._prepare_error: str | None = None
        self.warmers: list[Callable[[Snapshot], object]] = []
        """Called with each new snapshot before it is served (the sentence index, source
        cards and boilerplate lines a question needs), so that a replica preparing a new
        generation beside the old one has it whole when it switches."""

    def snapshot(self) -> Snapshot:
        """The snapshot to answer from. A server store's replica of a large store
        (``PREPARE_BESIDE_MIN_CHUNKS``) keeps serving its snapshot while it prepares the
        committed generation in a thread, then switches; ``settle`` waits for that."""
        try:
            key = self.records.state() if self.server is None else self.server.state()
        except RecordsMissing:
            key = ("", -1)
        current = self._snapshot
        if current is not None and current.key == key:
            return current
        if current is not None and self._beside(current, key):
            self._prepare()
            return current
        with self._lock:
            if self._snapshot is None or self._snapshot.key != key:
                self._snapshot = self._load(*key)
            return self._snapshot

    def settle(self) -> None:
        """Wait until a generation being prepared is served (the question that read a
        document changed since its snapshot is asked again on the new one)."""
        thread = self._preparing
        if thread is not None:
            thread.join()

    def serving(self) -> dict[str, int | bool | str | None]:
        """The generation answered from, and whether a newer one is being prepared."""
        current, thread = self._snapshot, self._preparing
        found: dict[str, int | bool | str | None] = {
            "generation": None if current is None else current.generation,
            "preparing": thread is not None and thread.is_alive(),
        }
        if self._prepare_error is not None:
            found["error"] = self._prepare_error
        return found

    def _beside(self, current: Snapshot, key: tuple[str, int]) -> bool:
        return (
            self.server is not None
            and not current.missing
            and current.store_id == key[0]
            and current.generation < key[1]
            and current.chunk_count >= PREPARE_BESIDE_MIN_CHUNKS
        )

    def _warm(self, snap: Snapshot) -> None:
        for warm in self.warmers:
            warm(snap)

    def _prepare(self) -> None:
        with self._prepare_lock:
            if self._preparing is not None and self._preparing.is_alive():
                return
            self._preparing = threading.Thread(
                target=self._prepare_newest, name="kva-prepare-generation", daemon=True
            )
            self._preparing.start()

    def _prepare_newest(self) -> None:
        """Load and warm the committed generation, again while commits keep landing
        meanwhile, then serve it."""
        server = self.server
        assert server is not None
        try:
            while True:
                with _questions_first():
                    snap = self._load(*server.state())
                    try:
                        self._warm(snap)
                    except SnapshotMoved:
                        continue
                if server.state() == snap.key:
                    break
                log.info("generation %s was replaced while it was prepared", snap.generation)
            with self._lock:
                current = self._snapshot
                if current is None or current.store_id != snap.store_id or (
                    current.generation < snap.generation
                ):
                    self._snapshot = snap
            self._prepare_error = None
            log.info("serving generation %s (prepared beside the last)", snap.generation)
        except Exception as exc:  # noqa: BLE001 - the next question starts another preparation
            self._prepare_error = f"preparing the committed generation failed: {exc}"
            log.exception("preparing the committed generation failed; serving the last one")

    def problem(self) -> str | None:
        """Why the store on disk fails its check now, or None. Cheap while nothing changed on
        disk (a stat of the store's files); when something did, the check runs again (not
        while an ingestion run holds the lock: its commit brings a new snapshot anyway)."""
        snap = self.snapshot()
        if snap.generation <= 0 or self.server is not None:
            return snap.problem
        seen = store_signature(self.settings)
        if seen == snap.signature or writer_active(self.settings):
            return snap.problem
        with self._check_lock:
            if seen != snap.signature:
                check = check_store(self.settings, full=not snap.large)
                stale = check.ok or check.generation != snap.generation
                snap.problem = None if stale else _problem_line(check)
                if snap.problem:
                    log.error(snap.problem)
                snap.signature = seen
                if snap.large:
                    self._check_later(snap)
        return snap.problem

    def _check_later(self, snap: Snapshot) -> None:
        """A large store's per-row part of the check (every page of the record database,
        every chunk's offsets and units: minutes at a million chunks), run after the replica
        is ready; what it finds turns readiness off as a finding at start does. One at a
        time: a snapshot that comes while one runs is checked after it."""
        snap.checked.clear()
        with self._deep_lock:
            if self._checking:
                self._waiting = snap
                return
            self._checking = True

        def run(snap: Snapshot) -> None:
            try:
                check = check_in_child(self.settings)
                if not check.ok and check.generation == snap.generation:
                    snap.problem = _problem_line(check)
                    log.error(snap.problem)
            except Exception:  # noqa: BLE001 - a check that cannot run says so in the log
                log.exception("the store check after start failed")
            finally:
                snap.checked.set()
                with self._deep_lock:
                    following, self._waiting = self._waiting, None
                    self._checking = following is not None
                if following is not None:
                    start(following)

        def start(snap: Snapshot) -> None:
            threading.Thread(target=run, args=(snap,), name="kva-store-check", daemon=True).start()

        start(snap)

    def _load(self, store_id: str, generation: int) -> Snapshot:
        if self.server is not None:
            from assistant.store_snapshot import load_server_snapshot

            cache = self.settings.index_dir
            snap = load_server_snapshot(
                self.server,
                store_id,
                generation,
                self.settings.text_memory_chars,
                lexical_cache=cache / "bm25",
            )
            snap.sentence_cache = cache / "sentences" / snap.store_id
            return snap
        if generation < 0:
            snap = Snapshot(generation=0, store_id=store_id, missing=True)
            snap.problem = (
                f"the record database {self.settings.records_path} was removed (the store "
                "deleted or being replaced); ingest again into an empty store/, or restore it"
            )
            log.error(snap.problem)
            return snap
        records = self.records
        snap = Snapshot(generation=generation, store_id=store_id, records=records)
        snap.signature = store_signature(self.settings)
        try:
            snap.large = generation > 0 and records.chunk_count() > CHECK_LATER_CHUNKS
        except sqlite3.DatabaseError:
            snap.large = False  # the check below says what is wrong with the records
        check = check_store(self.settings, full=not snap.large)
        if snap.large:
            self._check_later(snap)
        if not check.ok:
            snap.problem = _problem_line(check)
            log.error(snap.problem)
        if generation == 0:
            return snap
        model_id = make_embeddings(self.settings).model_id
        stored = records.get_meta("embedding_model")
        if stored != model_id:
            raise StoreModelMismatch(
                f"the store was built with embedding model {stored!r}, but the settings ask for "
                f"{model_id!r}; query with the same model or re-ingest with --rebuild"
            )
        if any(p.index == "records" for p in check.problems) or (
            any(p.index == "disk" for p in check.problems) and not check.chunks
        ):
            return snap  # the records themselves could not be read
        snap.documents = {d.doc_id: d for d in records.list_documents()}
        snap.texts = DocumentTexts(
            snap.documents,
            read=records.get_text,
            current=lambda: _still_at(records, (store_id, generation)),
            budget_chars=self.settings.text_memory_chars,
            read_leads=records.get_text_leads,
            read_many=records.get_texts,
        )
        snap.chunks = ChunkTable.from_rows(records.iter_chunk_rows())
        sentences = records.get_meta(SENTENCE_META)
        if sentences:
            snap.sentence_dir = self.settings.store_dir / "sentences" / sentences
        folder = records.get_meta("bm25_dir")
        if folder and not any(p.index == "bm25" for p in check.problems):
            snap.lexical = load_index(self.settings.bm25_dir / folder)
        collection = records.get_meta("collection")

        def reopen() -> VectorStore | None:
            # A reopen reads the files from disk again: vouched for first, as at the start.
            found = verify_vectors(self.settings, store_id, generation)
            if found:
                snap.problem = _problem_line(CheckReport(generation=generation, problems=found))
                log.error(snap.problem)
                return None
            return VectorStore(self.settings, model_id, collection, create=False)

        snap.reopen = reopen
        snap.idf = _idf(snap)
        if any(p.index in ("chroma", "disk") for p in check.problems):
            # Opening a collection whose files crash the process would take the server down.
            return snap
        snap.vectors = VectorStore(self.settings, model_id, collection, create=False)
        snap.orphans = max(0, snap.vectors.count() - len(snap.chunks))
        if snap.chunks and not check.problems:
            # One search loads the HNSW files; this process survived opening them, as a child
            # would have: their bytes as Chroma left them now are the verified ones.
            first = next(iter(snap.unit_vectors([next(iter(snap.chunks))]).values()), [])
            if first:
                snap.vectors.query(list(map(float, first[0][2])), 1)
            record_verified(self.settings, generation, store_id)
            snap.signature = store_signature(self.settings)
        return snap


def _still_at(records: Records | DocumentStore, key: tuple[str, int]) -> bool:
    """The store is at ``key`` still (False too when it cannot say)."""
    try:
        return records.state() == key
    except Exception:  # noqa: BLE001 - a store that cannot be read has moved on
        return False


def _problem_line(check: CheckReport) -> str:
    return f"store check failed: {check.summary()}; run `python -m ingest check --repair`"


def store_signature(settings: Settings) -> tuple:
    """(path, inode, size, mtime) of every file of the store that the check reads: a stat
    per file, so readiness can ask on every call whether anything changed on disk."""
    out = []
    wal = settings.records_path.with_name(settings.records_path.name + "-wal")
    roots = [settings.records_path, wal, settings.chroma_dir, settings.bm25_dir]
    for root in roots:
        try:
            paths = [root] if not root.is_dir() else sorted(root.rglob("*"))
        except OSError:
            paths = []
        for path in paths:
            try:
                st = path.stat()
            except OSError:
                continue
            if not path.is_dir():
                out.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def writer_active(settings: Settings) -> bool:
    """An ingestion run holds the writers' lock (in this process or another)."""
    import fcntl

    path = settings.store_dir / "ingest.lock"
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, the lock with it
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _idf(snap: Snapshot) -> dict[str, dict[str, float]]:
    counts: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    if snap.lexical.size() == len(snap.chunks) and snap.lexical.languages:
        # The keyword index of this generation holds the same chunks: its columns are the
        # document frequencies (tokenizing a million chunks again took minutes at start).
        for lang, (n, frequencies) in snap.lexical.document_frequencies().items():
            counts[lang], totals[lang] = Counter(frequencies), n
    for chunk in snap.chunks.values() if not totals else ():
        lang = chunk.language if chunk.language in ("da", "en") else "en"
        counts.setdefault(lang, Counter()).update(set(tokenize(snap.chunk_text(chunk), lang)))
        totals[lang] += 1
    tables = {}
    for lang, counter in counts.items():
        n = totals[lang]
        table = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in counter.items()}
        table["\0max"] = math.log(1 + (n + 0.5) / 0.5)
        tables[lang] = table
    return tables
