"""Answer composition. The default ``ExtractiveComposer`` needs no language model: it picks the
sentences that answer the question from the retrieved passages and cites each one verbatim.

Any composer takes a ``CompositionRequest`` and returns a ``Composition``; the pipeline checks
every citation of every composer (a quote must be an exact span of its document), so a
generative composer can later slot in behind the same interface.

Example:
    >>> from assistant.composer import framing
    >>> framing("da", "abstain")
    'Materialet dækker ikke dette.'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from assistant.answer_type import expected_type, provides
from assistant.glossary import Glossary
from assistant.models import Citation, Passage
from assistant.retriever import QueryTerms, Retrieval
from ingest.lexical import index_language, tokenize
from ingest.sentences import sentence_spans

_TEXTS = {
    "abstain": {
        "da": "Materialet dækker ikke dette.",
        "en": "The material does not cover this.",
    },
    "abstain_related": {
        "da": "De nærmeste passager vises nedenfor som måske relaterede.",
        "en": "The closest passages are listed below as maybe related.",
    },
    "quote_in": {
        "da": {"en": "på engelsk", "da": "på dansk"},
        "en": {"en": "in English", "da": "in Danish"},
    },
    "also_in": {
        "da": "Findes også på {lang}: “{title}”.",
        "en": "Also available in {lang}: “{title}”.",
    },
    "lang_name": {
        "da": {"da": "dansk", "en": "engelsk"},
        "en": {"da": "Danish", "en": "English"},
    },
}


def framing(language: str, key: str) -> str:
    return _TEXTS[key][language]  # type: ignore[return-value]


@dataclass
class CompositionRequest:
    question: str
    language: str
    terms: QueryTerms
    retrieval: Retrieval
    query_vector: list[float]


@dataclass
class Composition:
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    related: list[Passage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)
    # Which composer produced the answer, and whether a generative one fell back to the
    # extractive answer (``fallback_reason`` says why; ``verification`` counts what was kept).
    composer: str = "extractive"
    fell_back: bool = False
    fallback_reason: str | None = None
    verification: dict[str, Any] | None = None


class Composer(Protocol):
    def run(self, request: CompositionRequest) -> Composition: ...


@dataclass
class _Unit:
    passage: Passage
    rank: int
    start: int
    end: int
    text: str
    coverage: float = 0.0
    score: float = 0.0
    similarity: float = 0.0
    typed: bool = False


# Sentence ranking weights: query-term coverage, the sentence's own cosine similarity to the
# question (raw: e5 cosines sit in a narrow band, so this term refines rather than dominates),
# the chunk's fused rank score, and whether it holds the asked-for kind of answer.
W_COVERAGE, W_DENSE, W_FUSED, W_TYPE = 0.3, 0.5, 0.05, 0.15


@dataclass(frozen=True)
class AbstainPolicy:
    """When the evidence is too weak to answer. Confidence = the best sentence's similarity to
    the question + ``evidence_weight`` × the share of the question's concepts found in the top
    passages. Calibrated on the bundled evaluation suite by
    ``benchmarks/calibrate_abstention.py``, which prints the precision/recall behind these."""

    evidence_weight: float = 0.3
    min_confidence: float = 0.9
    min_support: float = 0.5

    def abstains(self, signals: dict[str, float]) -> bool:
        confidence = signals["similarity"] + self.evidence_weight * signals["evidence"]
        return confidence < self.min_confidence or signals["support"] < self.min_support


# A sentence from the other-language version of a translated text scores a little lower, so
# the question's language wins a tie; only a little, because the versions are not always
# identical (the Danish news item has contacts the English one lacks).
_OTHER_VERSION_FACTOR = 0.93
_QUESTION_NUMBERS = re.compile(r"(?<![\w.])\d+(?![\w.])")
_LINK_ONLY = re.compile(r"^\s*(\[[^\]]*\]\([^)]*\)\s*)+$")
_SENTENCE_END = re.compile(r"[.!?:…)\]]\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•>]|\d+[.)])\s")
# A sentence opening with one of these leans on the sentence before it ("This puts pressure
# on …"); quoting it alone would hide what "this" is.
_ANAPHOR = re.compile(r"^(this|that|these|those|it|they|such|det|dette|disse|denne|her)\b", re.I)


class ExtractiveComposer:
    """Builds a 1-4 sentence answer from the best-supported sentences, each cited verbatim."""

    def __init__(
        self,
        policy: AbstainPolicy | None = None,
        max_sentences: int = 4,
        max_words: int = 110,
        related: int = 3,
    ) -> None:
        if not 1 <= max_sentences <= 10:
            raise ValueError("max_sentences must be between 1 and 10")
        if max_words < 10:
            raise ValueError("max_words must be at least 10")
        self.policy = policy or AbstainPolicy()
        self.glossary = Glossary.load()
        self.max_sentences = max_sentences
        self.max_words = max_words
        self.related = related

    def run(self, request: CompositionRequest) -> Composition:
        passages = request.retrieval.passages
        lang = request.language
        if not passages:
            return self._abstain(request, {})
        units = self._units(request)
        if not units:
            return self._abstain(request, {})
        best = max(units, key=lambda u: u.score)
        chosen = self._select(request, units, best)
        signals = {
            "dense": max(request.retrieval.dense.values(), default=0.0),
            "similarity": best.similarity,
            "coverage": best.coverage,
            "evidence": self._evidence(request),
            "support": _answer_type_support(request.question, chosen),
        }
        if self.policy.abstains(signals):
            return self._abstain(request, signals)
        return self._compose(request, chosen, lang, signals)

    # --- steps --------------------------------------------------------------------------
    def _units(self, request: CompositionRequest) -> list[_Unit]:
        snap = request.retrieval.snapshot
        top = request.retrieval.passages[0].score or 1.0
        unit_vectors = snap.unit_vectors([p.chunk_id for p in request.retrieval.passages])
        qvec = np.asarray(request.query_vector, dtype=np.float32)
        similarity = {
            (cid, start): float(vec @ qvec)
            for cid, units_ in unit_vectors.items()
            for start, _, vec in units_
        }
        kind = expected_type(request.question)
        concepts = request.terms.concepts
        weights = [c.weight * _concept_idf(snap, c) for c in concepts]
        # Coverage is measured per turn: the question's own concepts decide, those of the
        # earlier question it follows up on (lower weight) only refine.
        groups = sorted({c.weight for c in concepts}, reverse=True)
        shares = [0.8, 0.2] if len(groups) > 1 else [1.0]
        units: list[_Unit] = []
        for rank, passage in enumerate(request.retrieval.passages):
            text = snap.texts[passage.doc_id]
            lang = index_language(passage.language)
            preferred_penalty = _translation_penalty(snap, passage.doc_id, request.language)
            spans = [(s, e) for s, e, _ in unit_vectors.get(passage.chunk_id, [])]
            for i, (start, end) in enumerate(spans):
                sim = similarity[(passage.chunk_id, start)]
                end = _extend_list(text, start, end)
                previous = text[spans[i - 1][0] : spans[i - 1][1]] if i > 0 else ""
                if _ANAPHOR.match(text[start:end]) and previous and not previous.endswith("?"):
                    start = spans[i - 1][0]
                unit_text = text[start:end]
                typed = provides(kind, unit_text, request.question)
                if _is_heading_only(unit_text, passage) or (
                    len(unit_text.split()) < 4 and not typed
                ):
                    continue
                coverage = self._coverage(unit_text, lang, concepts, weights, groups, shares)
                # A sentence that holds what was asked for (a name for "who", a year for
                # "when") beats one that merely repeats the question's words.
                type_bonus = (1.0 if typed else 0.0) if kind else 0.5
                score = (
                    W_COVERAGE * coverage
                    + W_DENSE * sim
                    + W_FUSED * passage.score / top
                    + W_TYPE * type_bonus
                ) * preferred_penalty
                if unit_text.rstrip().endswith("?"):
                    # Texts ask rhetorical questions before answering them; a question is
                    # never the answer.
                    score *= 0.7
                units.append(
                    _Unit(passage, rank, start, end, unit_text, coverage, score, sim, typed)
                )
        return units

    def _coverage(
        self,
        text: str,
        lang: str,
        concepts: list,
        weights: list[float],
        groups: list[float],
        shares: list[float],
    ) -> float:
        """Weighted share of the question's concepts that ``text`` expresses."""
        token_list = tokenize(text, lang)
        tokens = set(token_list)
        entries = {id(e) for _, _, e in self.glossary.spans(token_list, lang)}
        coverage = 0.0
        for share, group in zip(shares, groups, strict=False):
            pairs = [(c, w) for c, w in zip(concepts, weights, strict=True) if c.weight == group]
            total = sum(w for _, w in pairs) or 1.0
            matched = sum(w for c, w in pairs if c.matched_by(tokens, lang, entries))
            coverage += share * matched / total
        return coverage

    def _evidence(self, request: CompositionRequest) -> float:
        """How much of the question (its own concepts, not an earlier turn's) the best of the
        retrieved passages expresses anywhere: a question about something absent scores low."""
        snap = request.retrieval.snapshot
        concepts = request.terms.concepts
        own = max((c.weight for c in concepts), default=1.0)
        mine = [c for c in concepts if c.weight == own]
        weights = [_concept_idf(snap, c) for c in mine]
        best = 0.0
        for passage in request.retrieval.passages:
            lang = index_language(passage.language)
            context = f"{passage.section or ''}\n{passage.text}"
            best = max(best, self._coverage(context, lang, mine, weights, [own], [1.0]))
        return best

    def _select(self, request: CompositionRequest, units: list[_Unit], best: _Unit) -> list[_Unit]:
        snap = request.retrieval.snapshot
        chosen = [best]
        words = len(best.text.split())
        for unit in sorted(units, key=lambda u: -u.score):
            if len(chosen) >= self.max_sentences:
                break
            if (
                unit is best
                or unit.score < 0.8 * best.score
                or unit.coverage < 0.75 * best.coverage
            ):
                continue
            if _LINK_ONLY.match(unit.text) or not (_SENTENCE_END.search(unit.text) or unit.typed):
                # Link lines and labels may answer alone, but never pad an answer; a line
                # without a full stop pads only when it holds what was asked for (a name).
                continue
            if any(
                u.passage.doc_id == unit.passage.doc_id and u.start == unit.start for u in chosen
            ):
                continue
            # One version of a translated text is enough: the other would repeat it.
            if any(_are_translations(snap, u.passage.doc_id, unit.passage.doc_id) for u in chosen):
                continue
            n = len(unit.text.split())
            if words + n > self.max_words:
                continue
            chosen.append(unit)
            words += n
        order = {u.passage.doc_id: i for i, u in reversed(list(enumerate(chosen)))}
        return sorted(chosen, key=lambda u: (order[u.passage.doc_id], u.start))

    def _compose(
        self, request: CompositionRequest, chosen: list[_Unit], lang: str, signals: dict[str, float]
    ) -> Composition:
        snap = request.retrieval.snapshot
        citations: list[Citation] = []
        parts: list[str] = []
        for unit in chosen:
            n = len(citations) + 1
            p = unit.passage
            citations.append(
                Citation(
                    n=n,
                    doc_id=p.doc_id,
                    title=p.title,
                    language=p.language,
                    section=p.section,
                    page=p.page,
                    quote=unit.text,
                    start=unit.start,
                    end=unit.end,
                    score=round(unit.score, 4),
                )
            )
            sentence = " ".join(unit.text.split())
            if p.language != lang:
                marker = _TEXTS["quote_in"][lang][p.language]  # type: ignore[index]
                parts.append(f"“{sentence}” ({marker}) [{n}]")
            else:
                parts.append(f"{sentence} [{n}]")
        notes = []
        for doc_id in dict.fromkeys(c.doc_id for c in citations):
            doc = snap.documents[doc_id]
            for other_id in doc.translations:
                other = snap.documents.get(other_id)
                if other and other.language != doc.language:
                    lang_name = _TEXTS["lang_name"][lang][other.language]  # type: ignore[index]
                    notes.append(framing(lang, "also_in").format(lang=lang_name, title=other.title))
        return Composition(" ".join(parts), False, citations, [], notes, signals)

    def _abstain(self, request: CompositionRequest, signals: dict[str, float]) -> Composition:
        lang = request.language
        related = request.retrieval.passages[: self.related]
        text = framing(lang, "abstain")
        if related:
            text += " " + framing(lang, "abstain_related")
        return Composition(text, True, [], related, [], signals)


def _concept_idf(snap, concept) -> float:  # noqa: ANN001
    """A concept weighs as much as its rarest word in the question's own language."""
    forms = concept.forms.get(concept.source_language) or [()]
    return max((snap.term_weight(s, concept.source_language) for s in forms[0]), default=1.0)


def _is_heading_only(unit_text: str, passage: Passage) -> bool:
    heading = (passage.section or "").split(" > ")[-1]
    return bool(heading) and unit_text.strip("#* \n") == heading


def _are_translations(snap, a: str, b: str) -> bool:  # noqa: ANN001
    doc = snap.documents.get(a)
    return bool(doc and b in doc.translations)


def _translation_penalty(snap, doc_id: str, language: str) -> float:  # noqa: ANN001
    """Prefer the version in the question's language when the corpus has both."""
    doc = snap.documents[doc_id]
    if doc.language == language:
        return 1.0
    has_preferred = any(
        snap.documents.get(t) and snap.documents[t].language == language for t in doc.translations
    )
    return _OTHER_VERSION_FACTOR if has_preferred else 1.0


def _answer_type_support(question: str, chosen: list[_Unit]) -> float:
    """1.0 when the chosen sentences hold what the question asks for, else 0.0.

    Only checks that rarely fail on a real answer: a number the question names ("benchmark 3")
    must appear, a "how many" needs a number and a "when" a date. Names are not required:
    "who" is often answered by "a working group".
    """
    evidence = " ".join(u.text for u in chosen)
    for n in _QUESTION_NUMBERS.findall(question):
        if not re.search(rf"(?<![\d/.,^]){n}(?![\d/^])", evidence):
            return 0.0
    kind = expected_type(question)
    if kind in ("number", "date") and not any(provides(kind, u.text, question) for u in chosen):
        return 0.0
    return 1.0


def _extend_list(text: str, start: int, end: int) -> int:
    """A sentence that introduces a list ("two tracks:") is answered by the list after it."""
    if not text[start:end].rstrip().endswith(":"):
        return end
    new_end = end
    for s, e in sentence_spans(text, end, min(len(text), end + 2000)):
        line = text[s:e]
        if not _LIST_ITEM.match(line) or len(text[start:e].split()) > 120:
            break
        new_end = e
    return new_end
