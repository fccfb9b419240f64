"""Word-for-word Danish-English translations from FreeDict's dictionaries, stemmed.

The glossary bridges the field's own terms; this bridges everyday words ("andel" - "share",
"formål" - "purpose", "år" - "year") so that a Danish question can be matched against an
English sentence word by word, and the reverse. The dictionaries are Debian packages
(``dict-freedict-dan-eng``, ``dict-freedict-eng-dan``); ``scripts/setup.sh`` unpacks them into
the virtual environment (``.venv/share/dictd``), and an installed ``/usr/share/dictd`` works too.
Without them the lexicon is empty, a warning says so, and only the glossary bridges.

Example:
    >>> from assistant.lexicon import Lexicon
    >>> lexicon = Lexicon([("formål", "aim, purpose"), ("år", "year")], source="example")
    >>> lexicon.translate("formål", "da")
    [('aim',), ('purpos',)]
    >>> lexicon.translate("year", "en")
    [('år',)]
"""

from __future__ import annotations

import gzip
import logging
import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ingest.lexical import tokenize

log = logging.getLogger("kva.lexicon")

# Searched in order: where setup.sh unpacks them, then where the Debian packages install them.
DICT_DIRS = (Path(sys.prefix) / "share" / "dictd", Path("/usr/share/dictd"))
# (file stem, language of the head words)
DICTIONARIES = (("freedict-dan-eng", "da"), ("freedict-eng-dan", "en"))
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SENSE_NUMBER = re.compile(r"^\s*\d+\.\s*")
_NOTE = re.compile(r"\[[^\]]*\]|\([^)]*\)|\{[^}]*\}|<[^>]*>")
_HEAD = re.compile(r"^(.*?)\s*(?:/[^/]*/)?\s*(?:<[^>]*>)?\s*$")
# A translation longer than this is an explanation, not a word for the word.
_MAX_WORDS = 2


class Lexicon:
    """Stemmed translations in both directions; ``translate`` is one dict look-up."""

    def __init__(self, pairs: Iterable[tuple[str, str]], source: str = "") -> None:
        """``pairs``: (Danish word, English words separated by commas)."""
        self.source = source
        self._table: dict[str, dict[str, set[tuple[str, ...]]]] = {"da": {}, "en": {}}
        for danish, english in pairs:
            for word in english.split(","):
                self._add(danish, word)
        self.size = sum(len(t) for t in self._table.values())

    def _add(self, danish: str, english: str) -> None:
        """One pair, in both directions; only a one-word Danish side (a Danish compound is one
        word) and an English side of at most two words count."""
        danish, english = (" ".join(_NOTE.sub(" ", w).split()) for w in (danish, english))
        da, en = tuple(tokenize(danish, "da")), tuple(tokenize(english, "en"))
        if len(da) != 1 or len(danish.split()) != 1 or not en or len(english.split()) > _MAX_WORDS:
            return
        if any(len(s) < 2 for s in da + en):
            return
        self._table["da"].setdefault(da[0], set()).add(en)
        if len(en) == 1:
            self._table["en"].setdefault(en[0], set()).add(da)

    def translate(self, stem: str, language: str) -> list[tuple[str, ...]]:
        """The other language's stemmed forms of ``stem`` (in ``language``), or none."""
        return sorted(self._table.get(language, {}).get(stem, ()))

    def __len__(self) -> int:
        return self.size

    @property
    def description(self) -> str:
        """What the lexicon holds, for provenance and evaluation reports."""
        return f"{self.source or 'none'} ({self.size} stems)"

    @classmethod
    @lru_cache(maxsize=4)
    def load(cls, directories: tuple[Path, ...] = DICT_DIRS) -> Lexicon:
        """The dictionaries from the first of ``directories`` that holds them."""
        pairs: list[tuple[str, str]] = []
        found = []
        directory = next(
            (d for d in directories if (d / f"{DICTIONARIES[0][0]}.index").is_file()),
            directories[0],
        )
        for name, head_lang in DICTIONARIES:
            index, data = directory / f"{name}.index", directory / f"{name}.dict.dz"
            if not (index.is_file() and data.is_file()):
                continue
            try:
                entries = read_dictd(index, data)
            except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
                log.warning("cannot read the dictionary %s (%s); it is left out", data, exc)
                continue
            found.append(name)
            for head, translations in entries:
                if head_lang == "da":
                    pairs.append((head, translations))
                else:
                    pairs.extend((word, head) for word in translations.split(","))
        if not found:
            log.warning(
                "no FreeDict dictionaries in %s: only the glossary bridges Danish and English "
                "(scripts/setup.sh fetches them)",
                " or ".join(str(d) for d in directories),
            )
        return cls(pairs, source=", ".join(found))


def read_dictd(index: Path, data: Path) -> list[tuple[str, str]]:
    """(head word, its translations joined by commas) for every entry of a dictd dictionary."""
    text = gzip.decompress(data.read_bytes())
    out = []
    for line in index.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0].startswith("00"):
            continue
        start, length = _b64(parts[1]), _b64(parts[2])
        lines = text[start : start + length].decode("utf-8", "replace").strip().split("\n")
        head = _HEAD.match(lines[0].strip())
        senses = [_SENSE_NUMBER.sub("", s).strip() for s in lines[1:] if s.strip()]
        if head and senses:
            out.append((head.group(1), ", ".join(senses)))
    return out


def _b64(value: str) -> int:
    n = 0
    for ch in value:
        n = n * 64 + _B64.index(ch)
    return n
