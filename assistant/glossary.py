"""The Danish-English vocabulary bridge (``glossary.yaml``), matched on stemmed words.

Example:
    >>> from assistant.glossary import Glossary
    >>> g = Glossary.load()
    >>> "section" in g.bridge("Hvilken paragraf i serviceloven handler bostøtten efter?", "da")
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from assistant.lexicon import Lexicon
from ingest.lexical import tokenize

GLOSSARY_PATH = Path(__file__).with_name("glossary.yaml")
OTHER = {"da": "en", "en": "da"}


@dataclass(frozen=True, eq=False)
class _Entry:
    terms: dict[str, tuple[str, ...]]  # language -> surface forms
    stems: dict[str, tuple[tuple[str, ...], ...]]  # language -> stemmed forms


class Glossary:
    def __init__(self, entries: list[dict[str, list[str]]], lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon if lexicon is not None else Lexicon([])
        self._entries: list[_Entry] = []
        for raw in entries:
            terms = {lang: tuple(str(t) for t in raw.get(lang, [])) for lang in ("da", "en")}
            stems = {
                lang: tuple(s for s in (tuple(tokenize(t, lang)) for t in forms) if s)
                for lang, forms in terms.items()
            }
            self._entries.append(_Entry(terms, stems))
        # first stem -> (full stem tuple, entry), per language: a scan is then one dict
        # look-up per token, cheap enough to run on every candidate sentence.
        self._by_first: dict[str, dict[str, list[tuple[tuple[str, ...], _Entry]]]] = {}
        for entry in self._entries:
            for lang, forms in entry.stems.items():
                for stem in forms:
                    self._by_first.setdefault(lang, {}).setdefault(stem[0], []).append(
                        (stem, entry)
                    )

    @classmethod
    @lru_cache(maxsize=1)
    def load(cls, path: Path = GLOSSARY_PATH) -> Glossary:
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")), Lexicon.load())

    def spans(self, tokens: list[str], language: str) -> list[tuple[int, int, _Entry]]:
        """(start, length, entry) for glossary terms found in stemmed ``tokens``; longest first,
        never overlapping."""
        candidates = []
        index = self._by_first.get(language, {})
        for i, token in enumerate(tokens):
            for stem, entry in index.get(token, ()):
                n = len(stem)
                if tuple(tokens[i : i + n]) == stem:
                    candidates.append((i, n, entry))
        taken: set[int] = set()
        found = []
        for i, n, entry in sorted(candidates, key=lambda c: -c[1]):
            if taken.isdisjoint(range(i, i + n)):
                taken.update(range(i, i + n))
                found.append((i, n, entry))
        return sorted(found, key=lambda f: f[0])

    def matches(self, text: str, language: str) -> list[_Entry]:
        return [entry for _, _, entry in self.spans(tokenize(text, language), language)]

    def bridge(self, text: str, language: str) -> str:
        """The other language's terms for everything the glossary recognises in ``text``."""
        target = OTHER.get(language)
        if target is None:
            return ""
        return " ".join(t for e in self.matches(text, language) for t in e.terms[target])
