"""Hybrid retrieval: dense (Chroma) + BM25 per language, fused by reciprocal rank fusion.

Cross-lingual: multilingual-e5 already places a Danish question near English passages; the
keyword side gets there through the glossary, which carries the question's key terms into the
other language before it searches that language's BM25 index. Numbers and names cross as-is.
Both vector rankings weigh a chunk or sentence against its own language's background (the
mean and spread of the question's cosine to that language's text): a Danish question's cosine
to any Danish text runs higher than to any English, so raw cosines bury the other language's
answer under loosely related text in the question's own.
A fourth ranking holds the chunks of the documents the question names ("ifølge OECD"), since
those chunks rarely repeat the name (``assistant.source_cards``).

Example:
    >>> from assistant.retriever import rrf
    >>> rrf([["a", "b"], ["b", "c"]])[0]
    ('b', 0.03252247488101534)
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.filter_scope import filter_scope
from assistant.glossary import Glossary
from assistant.language_balance import LanguageStats
from assistant.models import Filters, Passage
from assistant.sentence_index import SentenceIndex, SentenceIndexCache
from assistant.source_cards import SourceCardsCache
from assistant.store_reader import Snapshot, StoreReader
from ingest.lexical import is_stopword, tokenize

_RRF_K = 60
# Up to this many chunks the dense ranking is an exact scan of the chunk vectors (a few ms):
# exact, and the same in every process. Chroma's HNSW ranking of one store differed between
# two processes (a chunk at rank 7 in one was missing from the other's top 24), which moved
# an evaluation's fact recall by one question from run to run.
EXACT_DENSE_MAX_CHUNKS = 20_000
# Above it, the vector index is asked for this many times the chunks the dense ranking keeps,
# and the kept ones are those that stand out most from their language's background.
DENSE_WIDEN = 4
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def rrf(rankings: list[list[str]], weights: list[float] | None = None) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of id rankings, best first."""
    scores: dict[str, float] = {}
    for i, ranking in enumerate(rankings):
        w = weights[i] if weights else 1.0
        if not w:
            continue
        for rank, id_ in enumerate(ranking):
            scores[id_] = scores.get(id_, 0.0) + w / (_RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


@dataclass
class Concept:
    """One thing the question asks about, with the stemmed forms that express it per language.

    A glossary term is one concept however many words it has ("faglige pejlemærker"), and it
    carries the other language's forms; a name or number carries itself; any other word only
    exists in the question's own language.
    """

    weight: float
    source_language: str
    forms: dict[str, list[tuple[str, ...]]]
    entry: object | None = None  # the glossary entry, when the concept is a glossary term
    translations: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    """the other language's forms from the dictionary (everyday words, looser than forms)"""

    def matched_by(
        self, tokens: set[str], language: str, entries: set[int], bridged: bool = False
    ) -> bool:
        """``entries``: ids of glossary entries found in the text (longest match wins, so
        "housing support" is bostøtte and not also botilbud's "housing"). ``bridged``: the
        dictionary's translations count too."""
        if self.entry is not None:
            return id(self.entry) in entries
        alts = self.expressions(language) if bridged else self.forms.get(language, ())
        return any(all(s in tokens for s in alt) for alt in alts)

    def expressions(self, language: str) -> list[tuple[str, ...]]:
        return [*self.forms.get(language, ()), *self.translations.get(language, ())]


@dataclass
class QueryTerms:
    concepts: list[Concept] = field(default_factory=list)

    def tokens(self, language: str) -> list[str]:
        """All stems that express the question in ``language``, for the BM25 index. The
        dictionary's translations are left out: with them as a ranking of their own, the fit
        gave that ranking no weight."""
        return list(
            dict.fromkeys(
                s for c in self.concepts for alt in c.forms.get(language, ()) for s in alt
            )
        )

    @property
    def languages(self) -> list[str]:
        return sorted({lang for c in self.concepts for lang, f in c.forms.items() if f})


def query_terms(
    text: str,
    language: str,
    glossary: Glossary,
    weight: float = 1.0,
    terms: QueryTerms | None = None,
) -> QueryTerms:
    """Concepts of ``text`` (in ``language``), bridged to the other language where possible."""
    terms = terms or QueryTerms()
    source = language if language in ("da", "en") else "en"
    target = "en" if source == "da" else "da"
    words = [w for w in _WORD.findall(text) if not is_stopword(w, source)]
    stems = [tokenize(w, source)[:1] or [w.lower()] for w in words]
    flat = [s[0] for s in stems]
    covered: set[int] = set()
    for i, n, entry in glossary.spans(flat, source):
        covered.update(range(i, i + n))
        terms.concepts.append(
            Concept(
                weight,
                source,
                {source: list(entry.stems[source]), target: list(entry.stems[target])},
                entry,
            )
        )
    for i, (word, stem) in enumerate(zip(words, flat, strict=True)):
        if i in covered:
            continue
        forms = {source: [(stem,)]}
        translations = {}
        if _carries_over(word, first=text.lstrip().startswith(word)):
            carried = tokenize(word, target) or [word.lower()]
            forms[target] = [tuple(carried)]
        elif bridged := glossary.lexicon.translate(stem, source):
            translations[target] = bridged
        terms.concepts.append(Concept(weight, source, forms, translations=translations))
    return terms


def _carries_over(word: str, first: bool) -> bool:
    """Numbers and names are the same in both languages."""
    if word.isdigit() or (word.isupper() and len(word) > 1):
        return True
    return word[:1].isupper() and not first


@dataclass
class Retrieval:
    passages: list[Passage]
    dense: dict[str, float]
    snapshot: Snapshot
    lexical: dict[str, float] = field(default_factory=dict)
    """chunk id -> best BM25 score over the languages searched"""
    sentence: dict[str, float] = field(default_factory=dict)
    """chunk id -> cosine of its best sentence to the question"""
    index: SentenceIndex | None = None
    similarity_stats: LanguageStats = field(default_factory=dict)
    """per language: mean and spread of the search vector's cosine to every sentence"""
    rankings: list[tuple[str, list[str]]] = field(default_factory=list)
    """(signal, chunk ids best first) before fusion: 'dense', 'sentence', 'source', 'lexical'"""
    named: frozenset[str] = frozenset()
    """the documents the question names (``assistant.source_cards``)"""
    degraded: list[str] = field(default_factory=list)
    """parts of the search that were unavailable: 'vector_index' (answered without it)"""


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the four rankings in reciprocal rank fusion (fitted on the tuning suite by
    ``benchmarks/fit_answer_model.py``; see ``assistant/answer_model.json``). ``source``: the
    chunks of the documents the question names (``assistant.source_cards``); 0 leaves it out."""

    dense: float = 1.0
    sentence: float = 1.0
    lexical: float = 1.0
    source: float = 0.0


class HybridRetriever(BaseRetriever):
    """LangChain retriever over the store; ``search`` returns typed passages.

    Example::

        retriever = HybridRetriever(reader=StoreReader(settings), embeddings=emb)
        docs = retriever.invoke("Hvilken paragraf gælder for bostøtte?")
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reader: StoreReader
    embeddings: Embeddings
    glossary: Glossary
    k: int = 8
    language: str = "da"
    filters: Filters | None = None
    sentences: SentenceIndexCache | None = None
    sources: SourceCardsCache | None = None
    fusion: FusionWeights = FusionWeights()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        terms = query_terms(query, self.language, self.glossary)
        result = self.search(query, terms, k=self.k, filters=self.filters)
        return [
            Document(page_content=p.text, metadata=p.model_dump(exclude={"text"}))
            for p in result.passages
        ]

    def search(
        self,
        query: str,
        terms: QueryTerms,
        *,
        k: int = 8,
        filters: Filters | None = None,
        vector: list[float] | None = None,
    ) -> Retrieval:
        snap = self.reader.snapshot()
        if not snap.chunks:
            return Retrieval([], {}, snap)
        # Without filters every committed chunk is allowed: no set of a million ids per question.
        scope = filter_scope(snap, filters) if filters is not None else None
        allowed = scope.allowed if scope is not None else None
        vector = vector if vector is not None else self.embeddings.embed_query(query)
        degraded: list[str] = []
        n = max(3 * k, 20)

        def exact_dense() -> list[tuple[str, float]]:
            return snap.scan_dense(
                vector, n, _everything(snap, allowed), snap.dense_background(vector)
            )

        if len(snap.chunks) <= EXACT_DENSE_MAX_CHUNKS:
            # The index is asked even though its ranking is replaced by the exact one: a
            # failed query is how a broken index is found while serving (reopened, reported).
            asked = snap.dense(vector, 1, _where(filters))
            dense_hits = None if asked is None else exact_dense()
        else:
            dense_hits = _dense_balanced(snap, vector, n, allowed)
        if dense_hits is None:
            # Without the vector index (it failed its check, or a query failed twice) the
            # dense ranking is an exact scan of the chunk vectors pooled from the sentence
            # vectors in the records; the keyword and sentence rankings are Chroma-free anyway.
            # A large store's matrix would be pooled from every unit's vector (7.7 GB of them
            # at a million chunks): there, only the chunks the other rankings found are
            # scored, below.
            degraded.append("vector_index")
            dense_hits = exact_dense() if len(snap.chunks) <= EXACT_DENSE_MAX_CHUNKS else None
        ranked = [
            (cid, s)
            for cid, s in dense_hits or ()
            if cid in snap.chunks and (allowed is None or cid in allowed)
        ]
        dense = dict(ranked)
        # Which chunks enter the dense ranking is balanced by language; among them the raw
        # cosine orders, as the fusion weights were fitted on (ordering them by the balanced
        # score too: tuning fact recall 0.798 against 0.813).
        rankings = [sorted(dense, key=lambda c: -dense[c])]
        names = ["dense"]
        weights = [self.fusion.dense]
        index = self.sentences.get(snap) if self.sentences is not None else None
        sentence: dict[str, float] = {}
        stats: LanguageStats = {}
        named: frozenset[str] = frozenset()
        if index is not None and len(index):
            sims = index.similarities(np.asarray(vector, dtype=np.float32))
            stats = index.language_stats(sims)
            best = index.best_chunks(
                vector,
                k=n,
                allowed=allowed,
                sims=sims,
                stats=stats,
                language=filters.language if filters is not None else None,
            )
            sentence = {cid: s for cid, s in best if cid in snap.chunks}
            rankings.append(list(sentence))
            names.append("sentence")
            weights.append(self.fusion.sentence)
            if self.sources is not None:
                named = frozenset(self.sources.get(snap).named(query))
                chunks = [
                    c
                    for doc_id in sorted(named)
                    for c in snap.chunks.of_document(doc_id)
                    if allowed is None or c in allowed
                ]
                rankings.append(index.rank_chunks(chunks, sims)[: max(2 * k, 10)])
                names.append("source")
                weights.append(self.fusion.source)
        lexical: dict[str, float] = {}
        for lang in terms.languages:
            hits = snap.lexical.search(
                terms.tokens(lang),
                lang,
                k=max(2 * k, 10),
                mask=scope.lexical_mask(lang) if scope is not None else None,
            )
            hits = [h for h in hits if h.chunk_id in snap.chunks]
            rankings.append([h.chunk_id for h in hits])
            names.append("lexical")
            weights.append(self.fusion.lexical)
            for h in hits:
                lexical[h.chunk_id] = max(lexical.get(h.chunk_id, 0.0), h.score)
        if dense_hits is None:
            found = list(dict.fromkeys(c for ranking in rankings[1:] for c in ranking))
            dense = dict(snap.score_chunks(vector, found))
            rankings[0] = sorted(dense, key=lambda c: -dense[c])
        fused = rrf(rankings, weights)[: max(k, 1)]
        passages = [passage(snap, cid, score) for cid, score in fused]
        return Retrieval(
            passages,
            dense,
            snap,
            lexical,
            sentence,
            index,
            stats,
            list(zip(names, rankings, strict=True)),
            named,
            degraded,
        )


def _everything(snap: Snapshot, allowed: set[str] | None) -> Collection[str]:
    return allowed if allowed is not None else snap.chunks


def _dense_balanced(
    snap: Snapshot,
    vector: list[float],
    k: int,
    allowed: set[str] | None,
) -> list[tuple[str, float]] | None:
    """The k chunks among the vector index's best ``DENSE_WIDEN`` x k (x k again under a
    filter) that are allowed and stand out most from their language's background
    (``Snapshot.balance``). None when the index is unavailable.

    Neither the languages nor the question's filters go to the index as a metadata filter:
    Chroma filters before it searches, and at a million chunks a filtered query took 2.4 s
    against 2 ms. A narrow filter may leave this ranking short; the sentence, keyword and
    named-document rankings apply the filter themselves."""
    widen = DENSE_WIDEN * (DENSE_WIDEN if allowed is not None else 1)
    found = snap.dense(vector, widen * k)
    if found is None:
        return None
    kept = [(cid, s) for cid, s in found if allowed is None or cid in allowed]
    return snap.balance(kept, snap.dense_background(vector))[:k]


def _where(filters: Filters | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.language:
        clauses.append({"doc_language": filters.language})
    if filters.kind:
        clauses.append({"kind": {"$in": list(filters.kind)}})
    if filters.doc_ids:
        clauses.append({"doc_id": {"$in": list(filters.doc_ids)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def passage(snap: Snapshot, chunk_id: str, score: float) -> Passage:
    chunk = snap.chunks[chunk_id]
    doc = snap.documents[chunk.doc_id]
    return Passage(
        chunk_id=chunk_id,
        doc_id=chunk.doc_id,
        title=doc.title,
        language=chunk.language,
        kind=doc.kind,
        section=chunk.section,
        page=chunk.page,
        start=chunk.start,
        end=chunk.end,
        text=snap.chunk_text(chunk),
        score=round(score, 6),
    )
