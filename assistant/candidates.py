"""Answer candidates: the sentences of the retrieved passages, each with named features.

A candidate is an exact span of a document: one sentence (answer unit), a sentence that
introduces a list together with the list, or a sentence that leans on the one before it
("This means …") together with that one. Page chrome and boilerplate are never candidates.

Every feature is a number a person can read (the sentence's cosine to the question, the share
of the question's concepts it expresses, whether it holds the asked-for number …). How much
each one counts is not set here: ``assistant.answer_model`` holds weights fitted on the tuning
suite by ``benchmarks/fit_answer_model.py``.

Example:
    >>> from assistant.candidates import SENTENCE_FEATURES, QUESTION_FEATURES
    >>> "similarity" in SENTENCE_FEATURES and "unknown_terms" in QUESTION_FEATURES
    True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from assistant.answer_type import answers, expected_type, near, provides
from assistant.chrome import Boilerplate, is_chrome
from assistant.glossary import Glossary
from assistant.injection import is_injection
from assistant.language_balance import LanguageStats
from assistant.models import Passage
from assistant.retriever import Concept, QueryTerms, Retrieval, passage
from assistant.store_reader import Snapshot
from ingest.lexical import index_language, tokenize
from ingest.sentences import sentence_spans

SENTENCE_FEATURES: tuple[str, ...] = (
    "similarity",  # cosine of the sentence to the question (e5)
    "similarity_gap",  # similarity_z minus the best similarity_z among the candidates (<= 0)
    "similarity_search",  # cosine to what was searched (the question plus an earlier turn)
    "similarity_context",  # cosine to the sentence with its neighbours
    "chunk_dense",  # cosine of the sentence's chunk to the question
    "passage_rank",  # 1 / (1 + rank of the passage after fusion)
    "coverage",  # weighted share of the question's concepts in the sentence
    "coverage_context",  # ... in the sentence, its neighbours and its section heading
    "coverage_gap",  # coverage minus the best coverage among the candidates
    "typed",  # the question asks for a name/date/number and the sentence holds a new one
    "type_missing",  # the question asks for one and the sentence holds none
    "other_language",  # the sentence is not in the question's language
    "is_question",  # the sentence is itself a question (rhetorical; never the answer)
    "log_words",  # log(1 + words)
    "list_answer",  # the unit is a list and the question asks for one
    "list_unit",  # the unit is a list introduction with its items
    "first_in_chunk",  # the sentence opens its chunk (often a heading or lead)
    "neighbour",  # the sentence is in a chunk next to a retrieved one, not retrieved itself
    "novelty",  # share of the sentence's words that the question does not already contain
    "coverage_fair",  # coverage counting only concepts that can be expressed in its language
    "similarity_z",  # similarity against the question's background in the sentence's language
    "similarity_search_z",  # the same for what was searched (differs for a follow-up)
    "typed_near",  # the asked-for name/date/number stands next to a word of the question
    # The same signals for a sentence in the other language, so the fit can weigh them apart:
    # word overlap across languages rests on the glossary alone, and cosines run lower.
    "coverage_other",
    "similarity_z_other",
    "numbers_matched",  # share of the numbers the question names that the sentence repeats
    "typed_head",  # "how many beds": a number next to "beds" itself (else as typed_near)
    "coverage_bridged",  # coverage, the dictionary's everyday translations counting too
    "coverage_bridged_other",  # the same for a sentence in the other language, else 0
    "source_named",  # the sentence's document is one the question names ("ifølge OECD")
)
QUESTION_FEATURES: tuple[str, ...] = (
    "best_logit",  # the sentence model's score of the best candidate
    "best_similarity",  # the best candidate's cosine to the question
    "similarity_margin",  # best similarity minus the mean of the next nine
    "dense_top",  # the best chunk's cosine to the question
    "evidence",  # share of the question's concepts found in the best passage
    "best_coverage",  # share of them in the best candidate
    "unknown_terms",  # weighted share of the question's concepts the store has no word for
    "unknown_any",  # at least one of the question's concepts is a word the store never uses
    "agreement",  # overlap of the top three chunks of keyword and semantic search
    "lexical_top",  # log(1 + best BM25 score)
    "type_found",  # an asked-for name/date/number is among the top candidates
    "numbers_found",  # every number the question names is in the best passages
    "evidence_fair",  # evidence counting only concepts expressible in each passage's language
    "asks_type",  # the question asks for a name, date, duration or number
    "log_concepts",  # log(1 + the number of the question's concepts)
    "best_z",  # the best candidate's similarity against its language's background
    "type_near_found",  # an asked-for name/date/number next to the question's words, top three
    "best_other_language",  # the best candidate is in the other language
    "best_z_other",  # best_z when the best candidate is in the other language, else 0
    "type_head_found",  # a top-three candidate has the asked-for number next to the counted noun
    # Messages that are not questions about the material: advice on one person's case ("min
    # borger ... hvad gør jeg?"), greetings, chit-chat. Word classes, weighed by the fit.
    "personal",  # share of the words that point at a person (pronouns, a masked CPR number)
    "specificity",  # idf of the question's rarest known concept over the store's highest idf
    "top_passages",  # distinct passages among the three best candidates, over 3 (scattered?)
)

_ANAPHOR = re.compile(r"^(this|that|these|those|it|they|such|det|dette|disse|denne|her)\b", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•>]|\d+[.)])\s")
_LIST_QUESTION = re.compile(
    r"\b(hvilke|hvad er de|nævn|list|which are|what are the|name the|principper|principles|"
    r"kerneværdier|core values|elementer|elements|trin|steps|kriterier|criteria|"
    r"anbefalinger|recommendations|typer|types|faser|phases)\b",
    re.I,
)
_QUESTION_NUMBERS = re.compile(r"(?<![\w.])\d+(?![\w.])")
# The noun a "how many" question counts: "hvor mange senge", "how many beds".
_COUNTED = re.compile(
    r"\b(?:hvor mange|how many|antal(?:let)? af|number of|hvor stor en andel af|"
    r"what share of|what proportion of)\s+(?:af\s+|of\s+|the\s+|de\s+)?([^\W\d_]{3,})",
    re.I,
)
_MAX_LIST_WORDS = 150
# Personal and possessive pronouns (Danish "i" and English "I" left out: the Danish preposition
# "i" is spelt the same) and a CPR number as the guard masks it.
_PERSONAL = re.compile(
    r"\b(?:jeg|mig|min|mit|mine|du|dig|din|dit|dine|han|ham|hans|hun|hende|hendes|vi|os|vores|"
    r"me|my|we|us|our|you|your|he|him|his|she|her)\b|\*{6}-?\*{4}",
    re.I,
)
_WORDS = re.compile(r"[^\W_]+|\*{6}-?\*{4}")
# Chunks next to the best few passages are read too: the sentence after the one that matched
# the question often holds the answer, and chunk boundaries fall between them.
_NEIGHBOURS_OF = 4


@dataclass
class Candidate:
    passage: Passage
    rank: int
    start: int
    end: int
    text: str
    vector: np.ndarray
    is_list: bool = False
    typed: bool = False
    coverage: float = 0.0
    features: dict[str, float] = field(default_factory=dict)
    logit: float = 0.0


def asks_for_list(question: str) -> bool:
    return bool(_LIST_QUESTION.search(question))


class CandidateBuilder:
    """Turns a retrieval into candidates with ``SENTENCE_FEATURES`` filled in."""

    def __init__(self, glossary: Glossary | None = None) -> None:
        self.glossary = glossary or Glossary.load()

    def build(
        self,
        question: str,
        language: str,
        terms: QueryTerms,
        retrieval: Retrieval,
        query_vector: np.ndarray,
        search_vector: np.ndarray | None = None,
        boilerplate: Boilerplate | None = None,
    ) -> list[Candidate]:
        snap = retrieval.snapshot
        passages = retrieval.passages
        if not passages:
            return []
        search_vector = query_vector if search_vector is None else search_vector
        kind = expected_type(question)
        wants_list = asks_for_list(question)
        # A sentence is scored on everything the question means, a follow-up's earlier turn
        # included at its lower weight ("og hvad med botilbud?" asks the earlier question
        # about botilbud); whether the material answers at all is judged on its concepts concepts.
        concepts = terms.concepts
        weights = [c.weight * concept_idf(snap, c) for c in concepts]
        question_stems = {s for lang in ("da", "en") for s in tokenize(question, lang)}
        numbers = question_numbers(question)
        counted = _COUNTED.search(question)
        head_stems = (
            {t for lang in ("da", "en") for t in tokenize(counted.group(1), lang)}
            if counted
            else set()
        )
        stats = _question_stats(retrieval, query_vector, search_vector is not query_vector)
        candidates: list[Candidate] = []
        for rank, found, neighbour in _reading_list(retrieval):
            text = snap.texts[found.doc_id]
            lang = index_language(found.language)
            units = chunk_units(retrieval, snap, found.chunk_id)
            heading = (found.section or "").split(" > ")[-1]
            fair = [(c, w) for c, w in zip(concepts, weights, strict=True) if _expressible(c, lang)]
            for i, (start, end, vector) in enumerate(units):
                unit_text = text[start:end]
                if _is_noise(unit_text, heading, boilerplate):
                    continue
                prev_ = units[i - 1] if i > 0 else None
                next_ = units[i + 1] if i + 1 < len(units) else None
                span_start, span_end, is_list = start, end, False
                list_end = _extend_list(text, start, end)
                if list_end > end:
                    span_end, is_list = list_end, True
                elif (
                    _ANAPHOR.match(unit_text)
                    and prev_ is not None
                    and not text[prev_[0] : prev_[1]].rstrip().endswith("?")
                    and not _is_noise(text[prev_[0] : prev_[1]], heading, boilerplate)
                ):
                    span_start = prev_[0]
                span_text = text[span_start:span_end]
                spans = answers(kind, span_text, question)
                typed = bool(spans)
                if len(span_text.split()) < 4 and not typed:
                    continue
                context = [v for v in (prev_, (start, end, vector), next_) if v is not None]
                context_vector = _normalised(np.sum([v for _, _, v in context], axis=0))
                context_texts = [heading] + [
                    text[s:e] for s, e, _ in context if (s, e) != (start, end)
                ]
                coverage = self.coverage(span_text, lang, concepts, weights)
                candidates.append(
                    Candidate(
                        passage=found,
                        rank=rank,
                        start=span_start,
                        end=span_end,
                        text=span_text,
                        vector=vector,
                        is_list=is_list,
                        typed=typed,
                        coverage=coverage,
                        features={
                            "similarity": (sim := float(vector @ query_vector)),
                            "similarity_z": _z(sim, stats.get(lang)),
                            "similarity_search_z": _z(
                                float(vector @ search_vector),
                                retrieval.similarity_stats.get(lang),
                            ),
                            "typed_near": (
                                typed_near := float(
                                    typed and near(spans, _anchors(span_text, lang, question_stems))
                                )
                            ),
                            "typed_head": float(
                                typed and near(spans, _anchors(span_text, lang, head_stems), 25)
                            )
                            if head_stems
                            else typed_near,
                            "similarity_search": float(vector @ search_vector),
                            "similarity_context": float(context_vector @ query_vector),
                            "chunk_dense": retrieval.dense.get(found.chunk_id, 0.0),
                            "passage_rank": 1.0 / (1 + rank),
                            "coverage": coverage,
                            "coverage_context": self.coverage(
                                [span_text, *context_texts], lang, concepts, weights
                            ),
                            "typed": float(kind is not None and typed),
                            "type_missing": float(kind is not None and not typed),
                            "other_language": float(lang != language),
                            "is_question": float(unit_text.rstrip().endswith("?")),
                            "log_words": math.log1p(len(span_text.split())),
                            "list_answer": float(is_list and wants_list),
                            "list_unit": float(is_list),
                            "first_in_chunk": float(i == 0),
                            "neighbour": float(neighbour),
                            "numbers_matched": _numbers_matched(numbers, span_text),
                            "source_named": float(found.doc_id in retrieval.named),
                            "novelty": _novelty(self.glossary, span_text, lang, question_stems),
                            "coverage_bridged": self.coverage(
                                span_text, lang, concepts, weights, bridged=True
                            ),
                            "coverage_fair": self.coverage(
                                span_text, lang, [c for c, _ in fair], [w for _, w in fair]
                            ),
                        },
                    )
                )
        if wants_list:
            candidates += self._list_runs(candidates, snap, query_vector)
        for c in candidates:
            other = c.features["other_language"]
            c.features["coverage_other"] = other * c.features["coverage"]
            c.features["similarity_z_other"] = other * c.features["similarity_z"]
            c.features["coverage_bridged_other"] = other * c.features["coverage_bridged"]
        if candidates:
            best_sim = max(c.features["similarity_z"] for c in candidates)
            best_cov = max(c.coverage for c in candidates)
            for c in candidates:
                c.features["similarity_gap"] = c.features["similarity_z"] - best_sim
                c.features["coverage_gap"] = c.coverage - best_cov
        return candidates

    def _list_runs(
        self, candidates: list[Candidate], snap: Snapshot, query_vector: np.ndarray
    ) -> list[Candidate]:
        """For a question that asks for a list: each list that a candidate item belongs to,
        whole (with the line that introduces it), as one more candidate."""
        runs: dict[tuple[str, int, int], list[Candidate]] = {}
        for c in candidates:
            if c.is_list or not _LIST_ITEM.match(c.text):
                continue
            text = snap.texts[c.passage.doc_id]
            span = _list_run(text, c.start)
            if span is not None:
                runs.setdefault((c.passage.doc_id, *span), []).append(c)
        out = []
        for (doc_id, start, end), items in runs.items():
            text = snap.texts[doc_id][start:end]
            if len(text.split()) > _MAX_LIST_WORDS or len(items) < 2:
                continue
            first = min(items, key=lambda c: c.rank)
            vector = _normalised(np.sum([c.vector for c in items], axis=0))
            features = dict(first.features)
            features.update(
                similarity=float(vector @ query_vector),
                similarity_z=max(c.features["similarity_z"] for c in items),
                similarity_search_z=max(c.features["similarity_search_z"] for c in items),
                coverage=max(c.coverage for c in items),
                coverage_bridged=max(c.features["coverage_bridged"] for c in items),
                log_words=math.log1p(len(text.split())),
                list_answer=1.0,
                list_unit=1.0,
                is_question=0.0,
            )
            out.append(
                Candidate(
                    first.passage,
                    first.rank,
                    start,
                    end,
                    text,
                    vector,
                    True,
                    any(c.typed for c in items),
                    features["coverage"],
                    features,
                )
            )
        return out

    def coverage(
        self,
        text: str | list[str],
        lang: str,
        concepts: list[Concept],
        weights: list[float],
        bridged: bool = False,
    ) -> float:
        """Weighted share of ``concepts`` that ``text`` (in ``lang``; several texts read as
        one) expresses."""
        if not concepts:
            return 0.0
        tokens: set[str] = set()
        entries: set[int] = set()
        for part in [text] if isinstance(text, str) else text:
            stems, found = _analyse(self.glossary, part, lang)
            tokens.update(stems)
            entries.update(found)
        total = sum(weights) or 1.0
        matched = sum(
            w
            for c, w in zip(concepts, weights, strict=True)
            if c.matched_by(tokens, lang, entries, bridged)
        )
        return matched / total

    def question_features(
        self,
        question: str,
        terms: QueryTerms,
        retrieval: Retrieval,
        candidates: list[Candidate],
    ) -> dict[str, float]:
        """``QUESTION_FEATURES`` for deciding whether the material answers the question at all;
        call after the candidates' logits are set."""
        snap = retrieval.snapshot
        own = _own_concepts(terms)
        weights = [concept_idf(snap, c) for c in own]
        ranked = sorted(candidates, key=lambda c: -c.logit)
        best = ranked[0] if ranked else None
        # A follow-up ("and how many took part?") is about what it was searched with.
        sims = sorted(
            (max(c.features["similarity"], c.features["similarity_search"]) for c in candidates),
            reverse=True,
        )
        evidence = max(
            (
                self.coverage(
                    f"{p.section or ''}\n{p.text}", index_language(p.language), own, weights
                )
                for p in retrieval.passages
            ),
            default=0.0,
        )
        evidence_fair = 0.0
        for p in retrieval.passages:
            lang = index_language(p.language)
            fair = [(c, w) for c, w in zip(own, weights, strict=True) if _expressible(c, lang)]
            if fair:
                evidence_fair = max(
                    evidence_fair,
                    self.coverage(
                        f"{p.section or ''}\n{p.text}",
                        lang,
                        [c for c, _ in fair],
                        [w for _, w in fair],
                    ),
                )
        dense_top = sorted(retrieval.dense, key=lambda c: -retrieval.dense[c])[:3]
        lexical_top = sorted(retrieval.lexical, key=lambda c: -retrieval.lexical[c])[:3]
        kind = expected_type(question)
        top_text = " ".join(c.text for c in ranked[:3])
        passages_text = " ".join(p.text for p in retrieval.passages[:3])
        numbers = question_numbers(question)
        return {
            "best_logit": best.logit if best else -10.0,
            "best_similarity": sims[0] if sims else 0.0,
            "similarity_margin": sims[0] - float(np.mean(sims[1:10])) if len(sims) > 1 else 0.0,
            "dense_top": max(retrieval.dense.values(), default=0.0),
            "evidence": evidence,
            "best_coverage": best.coverage if best else 0.0,
            "unknown_terms": unknown_share(snap, own),
            "unknown_any": float(any(not _known(snap, c) for c in own)),
            "agreement": len(set(dense_top) & set(lexical_top)) / 3.0,
            "lexical_top": math.log1p(max(retrieval.lexical.values(), default=0.0)),
            "type_found": float(kind is None or provides(kind, top_text, question)),
            "numbers_found": float(all(number_in(n, passages_text) for n in numbers)),
            "evidence_fair": evidence_fair,
            "asks_type": float(kind is not None),
            "log_concepts": math.log1p(len(own)),
            "best_z": max(
                (
                    max(c.features["similarity_z"], c.features["similarity_search_z"])
                    for c in candidates
                ),
                default=0.0,
            ),
            "type_head_found": float(
                kind is None or any(c.features["typed_head"] for c in ranked[:3])
            ),
            "best_other_language": best.features["other_language"] if best else 0.0,
            "best_z_other": best.features["similarity_z_other"] if best else 0.0,
            "type_near_found": float(
                kind is None or any(c.features["typed_near"] for c in ranked[:3])
            ),
            "personal": personal_share(question),
            "specificity": specificity(snap, own),
            "top_passages": len({c.passage.chunk_id for c in ranked[:3]}) / 3.0,
        }


def _reading_list(retrieval: Retrieval) -> list[tuple[int, Passage, bool]]:
    """(rank, passage, is a neighbour) for the retrieved passages and the chunks beside the
    best few of them."""
    out = [(rank, p, False) for rank, p in enumerate(retrieval.passages)]
    if retrieval.index is None:
        return out
    seen = {p.chunk_id for p in retrieval.passages}
    for rank, p in enumerate(retrieval.passages[:_NEIGHBOURS_OF]):
        for cid in retrieval.index.neighbours.get(p.chunk_id, ()):
            if cid is not None and cid not in seen and cid in retrieval.snapshot.chunks:
                seen.add(cid)
                out.append((rank, passage(retrieval.snapshot, cid, 0.0), True))
    return out


def _question_stats(
    retrieval: Retrieval, query_vector: np.ndarray, follow_up: bool
) -> LanguageStats:
    """The background of the question's similarities per language (the retrieval measured it
    for what it searched, which is the question itself unless this is a follow-up)."""
    if not follow_up or retrieval.index is None:
        return retrieval.similarity_stats
    return retrieval.index.language_stats(retrieval.index.similarities(query_vector))


def _z(similarity: float, stats: tuple[float, float] | None) -> float:
    if stats is None:
        return 0.0
    return (similarity - stats[0]) / stats[1]


_WORD_SPAN = re.compile(r"[^\W_]+")


def _anchors(text: str, language: str, stems: set[str]) -> list[tuple[int, int]]:
    """Spans of the words of ``text`` that the question also uses (compared as stems)."""
    out = []
    for m in _WORD_SPAN.finditer(text):
        stem = _stem(m.group(0), language)
        if stem and stem[0] in stems:
            out.append(m.span())
    return out


def question_numbers(question: str) -> list[str]:
    """The numbers a question writes in digits ("i 2011", "§ 85"), in order."""
    return _QUESTION_NUMBERS.findall(question)


def number_in(number: str, text: str) -> bool:
    """Whether ``text`` holds ``number`` as a number of its own (not inside 12011 or 1/2011)."""
    return re.search(rf"(?<![\d/.,^]){number}(?![\d/^])", text) is not None


def _numbers_matched(numbers: list[str], text: str) -> float:
    if not numbers:
        return 0.0
    return sum(bool(number_in(n, text)) for n in numbers) / len(numbers)


def _expressible(concept: Concept, language: str) -> bool:
    return concept.entry is not None or bool(concept.forms.get(language))


@lru_cache(maxsize=65536)
def _stem(word: str, language: str) -> list[str]:
    return tokenize(word, language)


@lru_cache(maxsize=16384)
def _analyse(glossary: Glossary, text: str, lang: str) -> tuple[tuple[str, ...], frozenset[int]]:
    """A text's stems and the glossary entries it names; cached, since the same sentences are
    read for every question that retrieves them."""
    stems = tokenize(text, lang)
    return tuple(stems), frozenset(id(e) for _, _, e in glossary.spans(stems, lang))


def _novelty(glossary: Glossary, text: str, language: str, question_stems: set[str]) -> float:
    tokens = _analyse(glossary, text, language)[0]
    if not tokens:
        return 0.0
    return sum(t not in question_stems for t in tokens) / len(tokens)


def concept_idf(snap: Snapshot, concept: Concept) -> float:
    """A concept weighs as much as its rarest word in the question's own language."""
    forms = concept.forms.get(concept.source_language) or [()]
    return max((snap.term_weight(s, concept.source_language) for s in forms[0]), default=1.0)


def unknown_share(snap: Snapshot, concepts: list[Concept]) -> float:
    """Weighted share of ``concepts`` for which no form, in either language, occurs in the
    store: a question about recipes uses words a corpus on social psychiatry never does. An
    unknown word weighs as much as the rarest known one (it is rarer still)."""
    if not concepts:
        return 0.0
    total = unknown = 0.0
    for c in concepts:
        known = _known(snap, c)
        weight = concept_idf(snap, c) if known else _max_idf(snap, c.source_language)
        total += weight
        unknown += 0.0 if known else weight
    return unknown / total if total else 0.0


def personal_share(question: str) -> float:
    """Share of a question's words that point at a person: a pronoun or a masked CPR number.

    >>> personal_share("Min borger ******-**** vil ikke i bad, hvad gør jeg?")
    0.3
    >>> personal_share("Hvad er pejlemærkerne for bostøtten?")
    0.0
    """
    words = _WORDS.findall(question)
    if not words:
        return 0.0
    return len(_PERSONAL.findall(question)) / len(words)


def specificity(snap: Snapshot, concepts: list[Concept]) -> float:
    """How rare the question's rarest known concept is in the store (0-1): a question about
    "pejlemærker" names something the material is about; "help", "today" and "thanks" do not."""
    known = [concept_idf(snap, c) for c in concepts if _known(snap, c)]
    if not known:
        return 0.0
    top = max(_max_idf(snap, c.source_language) for c in concepts) or 1.0
    return min(1.0, max(known) / top)


def _known(snap: Snapshot, concept: Concept) -> bool:
    return any(
        all(stem in snap.idf.get(lang, {}) for stem in alt)
        for lang, alts in concept.forms.items()
        for alt in alts
    )


def _max_idf(snap: Snapshot, language: str) -> float:
    return snap.idf.get(language, {}).get("\0max", 1.0)


def _own_concepts(terms: QueryTerms) -> list[Concept]:
    """The question's own concepts (an earlier turn's, folded in at a lower weight, are not)."""
    if not terms.concepts:
        return []
    own = max(c.weight for c in terms.concepts)
    return [c for c in terms.concepts if c.weight == own]


def chunk_units(
    retrieval: Retrieval, snap: Snapshot, chunk_id: str
) -> list[tuple[int, int, np.ndarray]]:
    """(start, end, vector) of a chunk's sentences, in document order."""
    if retrieval.index is not None:
        units = list(retrieval.index.units(chunk_id))
        if units:
            return units
    return snap.unit_vectors([chunk_id]).get(chunk_id, [])


def _is_noise(text: str, heading: str, boilerplate: Boilerplate | None) -> bool:
    if is_chrome(text) or (boilerplate is not None and text in boilerplate) or is_injection(text):
        return True
    return bool(heading) and text.strip("#* \n") == heading


def _normalised(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector)) or 1.0
    return vector / norm


def _list_run(text: str, pos: int) -> tuple[int, int] | None:
    """(start, end) of the run of list-item lines around ``pos``, with the line before it
    when that line introduces the list (ends with ":" or is a short heading)."""
    lines = []
    offset = 0
    for line in text.split("\n"):
        lines.append((offset, offset + len(line), line))
        offset += len(line) + 1
    here = next((i for i, (s, e, _) in enumerate(lines) if s <= pos <= e), None)
    if here is None or not _LIST_ITEM.match(lines[here][2]):
        return None
    first = last = here
    while first > 0 and (_LIST_ITEM.match(lines[first - 1][2]) or not lines[first - 1][2].strip()):
        first -= 1
    while last + 1 < len(lines) and (
        _LIST_ITEM.match(lines[last + 1][2]) or not lines[last + 1][2].strip()
    ):
        last += 1
    while not lines[first][2].strip():
        first += 1
    while not lines[last][2].strip():
        last -= 1
    intro = first - 1
    while intro >= 0 and not lines[intro][2].strip():
        intro -= 1
    if intro >= 0:
        line = lines[intro][2].strip()
        if line.endswith(":") or (len(line.split()) <= 8 and not line.endswith(".")):
            first = intro
    return lines[first][0], lines[last][1]


def _extend_list(text: str, start: int, end: int) -> int:
    """A sentence that introduces a list ("four core values:") is answered by the list."""
    if not text[start:end].rstrip().endswith(":"):
        return end
    new_end = end
    for s, e in sentence_spans(text, end, min(len(text), end + 3000)):
        line = text[s:e]
        if not _LIST_ITEM.match(line) or len(text[start:e].split()) > _MAX_LIST_WORDS:
            break
        new_end = e
    return new_end
