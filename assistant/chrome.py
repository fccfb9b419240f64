"""Page chrome and boilerplate: text that is on a page but is never an answer.

Loaders drop what they can recognise by structure (navigation elements, running headers); what
reaches the store anyway is caught here, so the composer never quotes it. Two signals, both
general: the shape of a line (navigation, cookie, date-stamp, image-name and link-only lines,
in Danish and English) and repetition (a line that recurs in several documents of the store is
a template, not content).

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
import threading
from collections import Counter

from assistant.store_reader import Snapshot

_CHROME_LINE = re.compile(
    r"""^\W*(
        (gå|spring)\s+(direkte\s+)?til\s+(indhold|hovedindhold|navigation|menu)
      | skip\s+to\s+(main\s+)?(content|navigation)
      | (sidst|senest)\s+(opdateret|redigeret|ændret)\b.*
      | (last\s+)?(updated|modified)(\s+on)?\s*:?\s*\d.*
      | last\s+update\b.*
      | (klik|tryk)\s+her\b.* | click\s+here\b.* | read\s+more | læs\s+mere | se\s+mere
      | (del|share|print|udskriv)(\s+(siden|denne\s+side|this\s+page|artiklen))?
      | (forside|home)(\s*[>›»/|]\s*[^>›»/|]+)+
      | [^>›»|\n]{1,40}(\s+[>›»|]\s+[^>›»|\n]{1,40}){2,}
      | .*\b(cookies?|samtykke|consent)\b.*\b(accept|acceptér|accepter|tillad|allow|afvis|
            decline|indstillinger|settings|bruger|uses?|anvender)\b.*
      | .*\b(accepter|acceptér|accept|afvis|tillad)\s+(alle|all)\b.*
      | (overskrift|tekst|billede|image|foto|photo|caption|billedtekst)\s*:
      | [\w-]*\d{2,4}x\d{2,4}[\w-]*(\.(jpe?g|png|gif|webp|svg))?
      | [\w-]+\.(jpe?g|png|gif|webp|svg)
      | (side|page)\s+\d+\s+(af|of)\s+\d+
      | \d{1,3}
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
_LINK_ONLY = re.compile(r"^\s*([-*•>]\s*)?(\[[^\]]*\]\([^)]*\)[\s|,.;]*)+$")
_WORD = re.compile(r"[^\W\d_]+")


def is_chrome(text: str) -> bool:
    """A line or sentence that belongs to the page around the content, judged by its shape."""
    stripped = " ".join(text.split())
    if not stripped:
        return True
    if _LINK_ONLY.match(stripped):
        return True
    if len(stripped) > 300:
        return False
    return bool(_CHROME_LINE.match(stripped)) or not _WORD.search(stripped)


def _normal(line: str) -> str:
    return " ".join(_WORD.findall(line.lower()))


class Boilerplate:
    """Short lines that recur in at least ``min_documents`` documents of one snapshot.

    Only short lines count: a template line ("Del denne side", a contact footer) is short,
    while a long sentence found on several related pages is content, kept once by the
    composer's de-duplication.
    """

    MAX_WORDS = 12

    def __init__(self, texts: dict[str, str], min_documents: int = 3) -> None:
        if min_documents < 2:
            raise ValueError("min_documents must be at least 2")
        counts: Counter[str] = Counter()
        for text in texts.values():
            lines = {_normal(line) for line in text.splitlines()}
            counts.update(line for line in lines if line and len(line.split()) <= self.MAX_WORDS)
        self._lines = {line for line, n in counts.items() if n >= min_documents}

    def __contains__(self, text: str) -> bool:
        return _normal(text) in self._lines


class BoilerplateCache:
    """One ``Boilerplate`` per snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: tuple[Snapshot, Boilerplate] | None = None

    def get(self, snap: Snapshot) -> Boilerplate:
        # Keyed on the snapshot object itself: a new commit gives a new snapshot, and two
        # stores (an evaluation over two corpora) never share one.
        cached = self._cached
        if cached is not None and cached[0] is snap:
            return cached[1]
        with self._lock:
            if self._cached is None or self._cached[0] is not snap:
                self._cached = (snap, Boilerplate(snap.texts))
            return self._cached[1]
