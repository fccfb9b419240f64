"""Page chrome and boilerplate: text that is on a page but is never an answer.

Loaders drop what they recognise (``ingest.loaders.chrome``); a store built by older loaders,
or a line they let through, is caught here, so the composer never quotes it. Two signals, both
general: the shape of a line (the loaders' own test: navigation, cookie, date-stamp,
image-name and link-only lines in Danish and English, plus page numbers) and repetition (a
short line that recurs in several documents of the store is a template, not content).

Example:
    >>> is_chrome("Gå til indhold")
    True
    >>> is_chrome("Sidst opdateret 03-06-2021")
    True
    >>> is_chrome("Bostøtte gives efter servicelovens § 85.")
    False
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache

from assistant.document_texts import DocumentTexts
from assistant.store_reader import SnapshotCache
from ingest.loaders.chrome import is_chrome_line

_WORD = re.compile(r"[^\W\d_]+")
_PAGE_NUMBER = re.compile(r"^\W*((side|page)\s+)?\d{1,4}(\s+(af|of)\s+\d{1,4})?\W*$", re.I)


@lru_cache(maxsize=16384)
def is_chrome(text: str) -> bool:
    """A sentence or line run that belongs to the page around the content: every line of it
    is chrome by shape (the loaders' own test), a page number, or holds no word at all."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return True
    return all(
        is_chrome_line(line) or _PAGE_NUMBER.match(line) or not _WORD.search(line) for line in lines
    )


_TOKEN = re.compile(r"[^\W_]+")


def _normal(line: str) -> str:
    # Digits count: two lines that differ only in a figure say different things.
    return " ".join(_TOKEN.findall(line.lower()))


class Boilerplate:
    """Short lines that recur in at least ``min_documents`` documents of one snapshot.

    Only short lines count: a template line ("Del denne side", a contact footer) is short,
    while a long sentence found on several related pages is content, kept once by the
    composer's de-duplication. A store of more than ``max_documents`` documents is read in
    an evenly spread sample of that many: a site's template is on most of its pages, and
    reading every text of a million-chunk store took a replica 53 s at each start.
    """

    MAX_WORDS = 12

    def __init__(
        self, texts: Mapping[str, str], min_documents: int = 3, max_documents: int = 2000
    ) -> None:
        if min_documents < 2:
            raise ValueError("min_documents must be at least 2")
        if max_documents < min_documents:
            raise ValueError("max_documents must be at least min_documents")
        ids = sorted(texts)
        step = max(1, -(-len(ids) // max_documents))
        sample = ids[::step]
        read = texts.many(sample) if isinstance(texts, DocumentTexts) else texts
        counts: Counter[str] = Counter()
        for text in map(read.__getitem__, sample):
            lines = {_normal(line) for line in text.splitlines()}
            counts.update(line for line in lines if line and len(line.split()) <= self.MAX_WORDS)
        self._lines = {line for line, n in counts.items() if n >= min_documents}

    def __contains__(self, text: str) -> bool:
        return _normal(text) in self._lines


class BoilerplateCache(SnapshotCache[Boilerplate]):
    """One ``Boilerplate`` per snapshot."""

    def __init__(self) -> None:
        super().__init__(lambda snap: Boilerplate(snap.texts))
