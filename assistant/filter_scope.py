"""What a question's filters (document language, kind, named documents) allow in a snapshot.

Working that out per question cost most of a filtered question on a large store: at a million
chunks, the set of allowed chunk ids took a quarter of it and the keyword index's mask of them,
built in Python over every row, half. Neither changes until the store's generation does, so
both are kept with the snapshot, for the last ``KEPT_SCOPES`` filters asked (a language filter
at a million chunks: p50 833 ms before, 80 ms after; the first question under it 1.06 s).

Example:
    >>> from assistant.models import Filters
    >>> from assistant.store_reader import Snapshot
    >>> snap = Snapshot(generation=1)
    >>> scope = filter_scope(snap, Filters(language="da"))
    >>> scope.allowed
    set()
    >>> filter_scope(snap, Filters(language="da")) is scope
    True
"""

from __future__ import annotations

import threading

import numpy as np

from assistant.models import Filters
from assistant.store_reader import Snapshot

# A language filter on a million-chunk store keeps about 50 MB (half the chunk ids in a set,
# and the keyword masks); four is every language filter and two more, within the 4 GB a
# replica has.
KEPT_SCOPES = 4


class FilterScope:
    """The chunks ``filters`` allow in ``snap``, and the keyword index's mask of them per
    language (made on first use)."""

    def __init__(self, snap: Snapshot, filters: Filters) -> None:
        self._lexical = snap.lexical
        # Chosen by document, then each document's chunks: no record made per chunk.
        docs = [
            doc_id
            for doc_id, doc in snap.documents.items()
            if (not filters.language or doc.language == filters.language)
            and (not filters.kind or doc.kind in filters.kind)
            and (not filters.doc_ids or doc_id in filters.doc_ids)
        ]
        self.allowed: set[str] = {cid for doc_id in docs for cid in snap.chunks.of_document(doc_id)}
        self._masks: dict[str, np.ndarray | None] = {}
        self._lock = threading.Lock()

    def lexical_mask(self, language: str) -> np.ndarray | None:
        """``LexicalIndex.mask`` of the allowed chunks in the index of ``language``."""
        with self._lock:
            if language not in self._masks:
                self._masks[language] = self._lexical.mask(language, self.allowed)
            return self._masks[language]


def filter_scope(snap: Snapshot, filters: Filters) -> FilterScope:
    """``FilterScope`` of ``filters`` in ``snap``, made once per snapshot and filter and kept
    with the snapshot for the ``KEPT_SCOPES`` filters asked most recently."""
    key = (
        filters.language,
        tuple(sorted(filters.kind or ())),
        tuple(sorted(filters.doc_ids or ())),
    )
    kept = snap.filter_scopes
    with snap.filter_scopes_lock:
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
        scope = kept[key] = FilterScope(snap, filters)
        while len(kept) > KEPT_SCOPES:
            kept.popitem(last=False)
        return scope
