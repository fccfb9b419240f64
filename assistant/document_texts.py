"""The texts of a snapshot's documents: all in memory for a store of ordinary size, read on
demand (and the most recent kept, up to a budget) for a large one.

A replica of a million chunks held ~700 MB of document text it mostly never quoted. Above
``budget_chars`` of text a document is read from the store when it is asked for. A read made
after ingestion committed a newer generation may hold a replaced text, so every read is
followed by a check that the store is still at the snapshot's generation; when it is not,
``SnapshotMoved`` is raised and the question is asked again on the new snapshot (commits are
whole, so a read with the generation unchanged on both sides of it read the snapshot's text).
Where the store can say whether one document is as the snapshot has it (``unchanged``: the
same content hash and ingestion time, read after the text), a read after a commit that left
that document alone is kept: a replica serving its last generation while it prepares the
next one answers on.

Example:
    >>> from ingest.records import DocumentRecord
    >>> doc = DocumentRecord(doc_id="d", title="T", language="da", kind="k", source_path="p",
    ...                      content_hash="h", ingested_at="t", char_count=4)
    >>> texts = DocumentTexts({"d": doc}, read=lambda doc_id: "Hej.", current=lambda: True,
    ...                       budget_chars=2, read_leads=lambda n: {"d": "Hej."[:n]})
    >>> texts["d"], texts.get("x"), len(texts), texts.preloaded, texts.leads(2)
    ('Hej.', None, 1, False, {'d': 'He'})
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping

from ingest.records import DocumentRecord


class SnapshotMoved(RuntimeError):
    """Ingestion committed a new generation while a question read the old snapshot; ask
    again (the next snapshot is loaded then)."""


class DocumentTexts(Mapping[str, str]):
    """doc id -> text, for the documents of one snapshot."""

    def __init__(
        self,
        documents: Mapping[str, DocumentRecord],
        read: Callable[[str], str | None],
        current: Callable[[], bool],
        budget_chars: int,
        read_leads: Callable[[int], dict[str, str]] | None = None,
        unchanged: Callable[[str], bool] | None = None,
        read_many: Callable[[list[str]], dict[str, str]] | None = None,
    ) -> None:
        if budget_chars < 0:
            raise ValueError("budget_chars must be >= 0")
        self._ids = list(documents)
        self._known = set(self._ids)
        self._read = read
        self._read_leads = read_leads
        self._read_many = read_many
        self._current = current
        self._unchanged = unchanged
        self._budget = budget_chars
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._chars = 0
        total = sum(doc.char_count for doc in documents.values())
        # Read with the rest of what the snapshot loads (on PostgreSQL in one consistent read).
        self.preloaded = total <= budget_chars
        if self.preloaded:
            for doc_id in self._ids:
                self._cache[doc_id] = read(doc_id) or ""

    @classmethod
    def empty(cls) -> DocumentTexts:
        """The texts of a snapshot with no documents (nothing committed, or the store gone)."""
        return cls({}, lambda _doc_id: None, lambda: True, 0)

    def __getitem__(self, doc_id: str) -> str:
        if self.preloaded:
            return self._cache[doc_id]  # never changes after loading: no lock
        if doc_id not in self._known:
            raise KeyError(doc_id)
        with self._lock:
            text = self._cache.get(doc_id)
            if text is not None:
                self._cache.move_to_end(doc_id)
                return text
        text = self._read(doc_id)
        if text is None or not (
            self._current() or (self._unchanged is not None and self._unchanged(doc_id))
        ):
            raise SnapshotMoved(f"document {doc_id!r} changed since this snapshot was loaded")
        with self._lock:
            if doc_id not in self._cache:
                self._cache[doc_id] = text
                self._chars += len(text)
                while self._chars > self._budget and len(self._cache) > 1:
                    _, dropped = self._cache.popitem(last=False)
                    self._chars -= len(dropped)
        return text

    def many(self, doc_ids: list[str], batch: int = 200) -> dict[str, str]:
        """doc id -> text for ``doc_ids``, read ``batch`` to a read where the store can and
        checked once per read, and not kept: a sample of two thousand documents read for the
        boilerplate lines took a replica 7 s one by one, and would evict what questions need.

        >>> texts = DocumentTexts({}, read=lambda d: None, current=lambda: True, budget_chars=0)
        >>> texts.many([])
        {}
        """
        unknown = [d for d in doc_ids if d not in self._known]
        if unknown:
            raise KeyError(unknown[0])
        if self.preloaded or self._read_many is None:
            return {d: self[d] for d in doc_ids}
        out: dict[str, str] = {}
        for i in range(0, len(doc_ids), batch):
            part = doc_ids[i : i + batch]
            found = self._read_many(part)
            if len(found) < len(part) or not self._current():
                # A commit since this snapshot: each text is checked on its own.
                out.update((d, self[d]) for d in part)
            else:
                out.update(found)
        return out

    def leads(self, chars: int) -> dict[str, str]:
        """doc id -> the first ``chars`` characters of its text, in one read of the store
        when the texts are not in memory (the source cards of a million-chunk store read
        every whole text for these: 11 s at each start)."""
        if self.preloaded or self._read_leads is None:
            return {doc_id: self[doc_id][:chars] for doc_id in self._ids}
        found = self._read_leads(chars)
        if not self._current():
            raise SnapshotMoved("the store moved on while the documents' leads were read")
        return {doc_id: found.get(doc_id, "") for doc_id in self._ids}

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._known

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
