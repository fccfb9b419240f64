"""Which documents a question names: "ifølge OECD …", "what does Healthcare Denmark say …".

Practitioners often ask what a named source says. The passage that answers rarely repeats the
source's name (the OECD report's sentences do not say "OECD"), so neither keyword nor semantic
search of chunks connects the two; the document's card does: its title, publisher, file name
and opening lines (where reports carry their author and publisher). A question's names are the
words it capitalises mid-sentence or writes in capitals, which cross languages unchanged.

Retrieval turns the named documents into one more ranking (their chunks by their best
sentence's similarity); its weight in rank fusion is fitted like the others (0 turns it off).

Example:
    >>> cards = SourceCards({"oecd-work": "Mental health and work OECD", "vive": "VIVE 2022"})
    >>> cards.named("Hvad siger OECD om job?")
    ['oecd-work']
    >>> cards.named("Hvad er recovery?")
    []
"""

from __future__ import annotations

import math
import re

from assistant.store_reader import Snapshot, SnapshotCache
from ingest.lexical import tokenize

# The opening of a document: enough for a byline or a publisher line, not its argument.
_LEAD_CHARS = 300
_WORD = re.compile(r"[^\W\d_][^\W_]*", re.UNICODE)


def question_names(question: str) -> list[str]:
    """Words the question capitalises mid-sentence, or writes in capitals."""
    names = []
    for i, match in enumerate(_WORD.finditer(question)):
        word = match.group()
        if len(word) < 2:
            continue
        sentence_start = i == 0 or question[: match.start()].rstrip().endswith((".", "?", "!"))
        if (word.isupper() or not sentence_start) and word[0].isupper():
            names.append(word)
    return names


def _stems(text: str) -> set[str]:
    return set(tokenize(text, "da")) | set(tokenize(text, "en"))


class SourceCards:
    """Per document, the stems of its card; ``named`` finds the documents a question names."""

    def __init__(self, cards: dict[str, str]) -> None:
        self._docs: dict[str, set[str]] = {}
        for doc_id, card in cards.items():
            for stem in _stems(card):
                self._docs.setdefault(stem, set()).add(doc_id)
        self._n = max(1, len(cards))

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> SourceCards:
        cards = {}
        leads = snap.texts.leads(_LEAD_CHARS)
        for doc_id, doc in snap.documents.items():
            lead = leads.get(doc_id, "")
            cards[doc_id] = " ".join(
                (doc.title, doc.publisher or "", re.sub(r"[-_.]+", " ", doc_id), lead)
            )
        return cls(cards)

    def named(self, question: str, most: int = 3) -> list[str]:
        """The documents whose cards hold the question's names, the rarest names weighing
        most; the best ``most`` (those tied with the last one kept out)."""
        scores: dict[str, float] = {}
        for name in dict.fromkeys(question_names(question)):
            docs: set[str] = set()
            for stem in _stems(name):
                docs |= self._docs.get(stem, set())
            if not docs or len(docs) > self._n / 2:
                continue  # a name on most cards ("Denmark") says nothing about which
            weight = math.log(self._n / len(docs))
            for doc_id in docs:
                scores[doc_id] = scores.get(doc_id, 0.0) + weight
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        if len(ranked) > most and ranked[most][1] == ranked[most - 1][1]:
            cut = ranked[most - 1][1]
            return [d for d, s in ranked if s > cut]
        return [d for d, _ in ranked[:most]]


class SourceCardsCache(SnapshotCache[SourceCards]):
    """One ``SourceCards`` per snapshot, rebuilt when ingestion commits a new one."""

    def __init__(self) -> None:
        super().__init__(SourceCards.from_snapshot)
