"""Answer composition. The default ``ExtractiveComposer`` needs no language model: it scores
the sentences of the retrieved passages with a fitted model (``assistant.answer_model``), decides
whether the material answers the question at all, and answers with a card of verbatim quotes
(``assistant.answer_card``).

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

from assistant.answer_card import Card, CardBuilder
from assistant.answer_model import AnswerModel, sigmoid
from assistant.candidates import Candidate, CandidateBuilder, number_in, question_numbers
from assistant.chrome import Boilerplate, BoilerplateCache, is_chrome
from assistant.markup import neutralise
from assistant.models import Citation, OtherVersion, Passage
from assistant.retriever import QueryTerms, Retrieval
from assistant.store_reader import Snapshot
from ingest.language import detect_language
from ingest.lexical import index_language

_TEXTS = {
    "abstain": {
        "da": "Materialet dækker ikke dette.",
        "en": "The material does not cover this.",
    },
    "abstain_related": {
        "da": "De nærmeste passager vises nedenfor som måske relaterede.",
        "en": "The closest passages are listed below as maybe related.",
    },
    "unquoted_numbers": {
        "da": "Bemærk: citaterne nævner ikke {numbers}.",
        "en": "Note: the quotes do not mention {numbers}.",
    },
    "and": {"da": "og", "en": "and"},
    "more_numbers": {"da": "{n} tal mere", "en": "{n} more numbers"},
    "quote_in": {
        "da": {"en": "på engelsk", "da": "på dansk"},
        "en": {"en": "in English", "da": "in Danish"},
    },
}


# A passage of at least four lines, this share of them of at most this many words, is a block
# of labels (contact names and titles, a menu), not content to offer as related.
# A label line: one to three words of letters only (a list item, a figure or a sentence ending
# in ":" or "." is content).
_LABEL_LINE = re.compile(r"^\s*[^\W\d_][^\W\d_'’.-]*(?:[ -][^\W\d_][^\W\d_'’.-]*){0,2}\s*$")
_LABEL_SHARE = 0.6
# A question that lists many numbers gets a note of one line, not a list of them all.
_NAMED_NUMBERS = 3


def framing(language: str, key: str) -> str:
    return _TEXTS[key][language]  # type: ignore[return-value]


@dataclass
class CompositionRequest:
    question: str
    language: str
    terms: QueryTerms
    retrieval: Retrieval
    query_vector: list[float]
    search_vector: list[float] | None = None
    """What was searched when it differs from the question (a follow-up with its context)."""


@dataclass
class Composition:
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    related: list[Passage] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)
    other_versions: list[OtherVersion] = field(default_factory=list)
    # Which composer produced the answer, and whether a generative one fell back to the
    # extractive answer (``fallback_reason`` says why; ``verification`` counts what was kept).
    composer: str = "extractive"
    fell_back: bool = False
    fallback_reason: str | None = None
    verification: dict[str, Any] | None = None


class Composer(Protocol):
    def run(self, request: CompositionRequest) -> Composition: ...


@dataclass
class Analysis:
    """What the composer saw: scored candidates (best first) and the question's features."""

    candidates: list[Candidate]
    question_features: dict[str, float]
    answerable: float


_MARKDOWN_LINK = re.compile(r"!\[[^\]]*\]\([^)]*\)|\[([^\]]*)\]\([^)]*\)")
_LINE_MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*•]\s+(?:>\s*)?)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


class ExtractiveComposer:
    """Answers with a card (one lead excerpt and at most two supporting quotes,
    ``assistant.answer_card``), every quote cited verbatim, or declines.

    Example::

        composer = ExtractiveComposer()          # weights from assistant/answer_model.json
        composition = composer.run(request)      # request: a CompositionRequest
    """

    def __init__(self, model: AnswerModel | None = None, related: int = 3) -> None:
        if related < 0:
            raise ValueError("related must be >= 0")
        self.model = model or AnswerModel.load()
        self.builder = CandidateBuilder()
        self.boilerplate = BoilerplateCache()
        self.related = related

    def analyse(self, request: CompositionRequest) -> Analysis:
        retrieval = request.retrieval
        qvec = np.asarray(request.query_vector, dtype=np.float32)
        svec = (
            np.asarray(request.search_vector, dtype=np.float32)
            if request.search_vector is not None
            else None
        )
        candidates = self.builder.build(
            request.question,
            request.language,
            request.terms,
            retrieval,
            qvec,
            svec,
            self.boilerplate.get(retrieval.snapshot),
        )
        logits = self.model.sentence.logits([c.features for c in candidates])
        for c, logit in zip(candidates, logits, strict=True):
            c.logit = float(logit) + _translation_penalty(retrieval.snapshot, c, request.language)
        candidates.sort(key=lambda c: -c.logit)
        features = self.builder.question_features(
            request.question, request.terms, retrieval, candidates
        )
        answerable = self.model.answerable.probability(features) if candidates else 0.0
        return Analysis(candidates, features, answerable)

    def run(self, request: CompositionRequest) -> Composition:
        if not request.retrieval.passages:
            return self._abstain(request, {})
        return self.decide(request, self.analyse(request))

    def decide(self, request: CompositionRequest, analysis: Analysis) -> Composition:
        """The composition ``run`` gives, from an analysis already made of ``request``."""
        signals = {**analysis.question_features, "answerable": round(analysis.answerable, 4)}
        if not analysis.candidates or analysis.answerable < self.model.answerable.threshold:
            return self._abstain(request, signals)
        return self._compose(
            request, self.card(analysis.candidates, request.retrieval), signals
        )

    def card(self, ranked: list[Candidate], retrieval: Retrieval) -> Card:
        """The answer card for candidates ranked best first: a lead excerpt and supports."""
        return CardBuilder(self.model.card).run(
            ranked, retrieval, self.boilerplate.get(retrieval.snapshot), sigmoid
        )

    def _compose(
        self, request: CompositionRequest, card: Card, signals: dict[str, float]
    ) -> Composition:
        snap = request.retrieval.snapshot
        lang = request.language
        excerpt = card.excerpt
        quotes = [(excerpt.lead, excerpt.start, excerpt.end, excerpt.text, "lead")] + [
            (c, c.start, c.end, c.text, "support") for c in card.supports
        ]
        citations: list[Citation] = []
        parts: list[str] = []
        for n, (unit, start, end, text, role) in enumerate(quotes, start=1):
            p = unit.passage
            quote_lang = quote_language(text, p.language, snap.documents[p.doc_id].language)
            lead = role == "lead"
            citations.append(
                Citation(
                    n=n,
                    doc_id=p.doc_id,
                    title=p.title,
                    language=quote_lang,
                    section=p.section,
                    page=p.page,
                    quote=text,
                    start=start,
                    end=end,
                    score=round(sigmoid(unit.logit), 4),
                    role=role,
                    focus_start=unit.start if lead else None,
                    focus_end=unit.end if lead else None,
                )
            )
            sentence = plain_text(text)
            if quote_lang != lang:
                marker = _TEXTS["quote_in"][lang][quote_lang]  # type: ignore[index]
                parts.append(f"“{sentence}” ({marker}) [{n}]")
            else:
                parts.append(f"{sentence} [{n}]")
        others: dict[str, OtherVersion] = {}
        for doc_id in dict.fromkeys(c.doc_id for c in citations):
            for other_id in snap.documents[doc_id].translations:
                other = snap.documents.get(other_id)
                if other and other.language != snap.documents[doc_id].language:
                    others[other_id] = OtherVersion(
                        doc_id=other_id, title=other.title, language=other.language
                    )
        missing = unquoted_numbers(
            request.question, [(text, unit.passage.section) for unit, _, _, text, _ in quotes]
        )
        if missing:
            parts.append(_numbers_note(missing, request.question, lang))
        return Composition(
            "\n\n".join(parts),
            False,
            citations,
            signals=signals,
            other_versions=list(others.values()),
        )

    def _abstain(self, request: CompositionRequest, signals: dict[str, float]) -> Composition:
        lang = request.language
        boilerplate = self.boilerplate.get(request.retrieval.snapshot)
        # Offered as maybe related, a contact block or a newsletter box only looks like an answer.
        related = [
            p for p in request.retrieval.passages if not is_furniture(p.text, boilerplate)
        ][: self.related]
        text = framing(lang, "abstain")
        if related:
            text += " " + framing(lang, "abstain_related")
        return Composition(text, True, related=related, signals=signals)


def is_furniture(text: str, boilerplate: Boilerplate) -> bool:
    r"""A passage that is page furniture, not content: only chrome and lines repeated across
    documents (navigation, a newsletter box), or a block of mostly one- to three-word lines
    (a contact block of names and titles, a menu).

    >>> is_furniture("Gå til indhold\nSidst opdateret 03-06-2021", Boilerplate({}))
    True
    >>> is_furniture("Kontakt\nAnna Lund\nFuldmægtig\nKontakt\nTanja Holm\nSpecialkonsulent"
    ...              "\nNyhedsbrev\nVores nyhedsbreve holder dig opdateret.", Boilerplate({}))
    True
    >>> is_furniture("Bostøtte gives efter servicelovens § 85 til borgere i eget hjem.",
    ...              Boilerplate({}))
    False
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if all(is_chrome(line) or line in boilerplate for line in lines):
        return True
    labels = sum(bool(_LABEL_LINE.match(line)) for line in lines)
    return len(lines) >= 4 and labels >= _LABEL_SHARE * len(lines)


def unquoted_numbers(question: str, quoted: list[tuple[str, str | None]]) -> list[str]:
    """The numbers the question names (a year, a section, a count) that no quote holds.

    An answer about 2022 to a question about 2011 reads as an answer unless the reader is told;
    the material often holds the same figure for another year or place, and the answerability
    model cannot tell those questions from answerable ones (see the README). Numbers up to
    twelve are left out: the texts mostly write them as words ("ti pejlemærker"). ``quoted``
    holds (quote, its section heading) pairs.

    Example:
        >>> unquoted_numbers("Hvor mange hjemløse var der i 2011?", [])
        ['2011']
    """
    text = " ".join(f"{quote} {section or ''}" for quote, section in quoted)
    numbers = dict.fromkeys(n for n in question_numbers(question) if int(n) > 12)
    return [n for n in numbers if not number_in(n, text)]


def _numbers_note(missing: list[str], question: str, language: str) -> str:
    """The note naming the numbers no quote holds; past a few, the rest are counted."""
    # One number past the limit is named rather than counted ("1 more numbers").
    shown = missing if len(missing) <= _NAMED_NUMBERS + 1 else missing[:_NAMED_NUMBERS]
    named = [_as_named(n, question) for n in shown]
    if len(shown) < len(missing):
        named.append(framing(language, "more_numbers").format(n=len(missing) - len(shown)))
    numbers = _enumerate(named, framing(language, "and"))
    return framing(language, "unquoted_numbers").format(numbers=numbers)


def _as_named(number: str, question: str) -> str:
    """``§ 85`` where the question writes it so, else the bare number."""
    return f"§ {number}" if re.search(rf"§\s*{number}(?!\d)", question) else number


def _enumerate(items: list[str], conjunction: str) -> str:
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def plain_text(quote: str) -> str:
    r"""A quote as it reads, without the markup of its source: links become their words,
    headings, block quotes and bold lose their marks, list items go one to a line.

    >>> plain_text("Se [litteraturstudiet](#) om **kvalitet**.")
    'Se litteraturstudiet om kvalitet.'
    >>> plain_text("To spor:\n- Botilbud\n- > Bostøtte")
    'To spor:\n• Botilbud\n• Bostøtte'
    """
    lines = []
    for raw in neutralise(quote).split("\n"):  # no active markup in an answer (HTML, links)
        if not raw.strip():
            continue
        item = bool(re.match(r"^\s*(?:[-*•]|\d+[.)])\s", raw)) and bool(lines)
        line = _MARKDOWN_LINK.sub(lambda m: m.group(1) or "", raw)
        line = _EMPHASIS.sub(r"\2", _LINE_MARKUP.sub("", line))
        line = " ".join(line.split())
        if line:
            lines.append(f"• {line}" if item and not re.match(r"^\d+[.)]\s", line) else line)
    return "\n".join(lines)


def quote_language(quote: str, passage_language: str, document_language: str) -> str:
    """The language a quote is in. Its chunk's language, unless that differs from its
    document's: then the quote itself is read when it is long enough to tell (a heading-like
    line of an English page can make a chunk look Danish).

    >>> quote_language("SOCIAL POLICY IN DENMARK Published by The Ministry of Social", "da", "en")
    'en'
    """
    if passage_language != document_language and len(quote.split()) >= 6:
        detected = detect_language(quote, default=None)
        if detected in ("da", "en"):
            return detected
    return index_language(passage_language)


def _translation_penalty(snap: Snapshot, candidate: Candidate, language: str) -> float:
    """When the corpus holds a text in both languages, the version in the question's language
    wins a tie; only a tie, since the versions are not always identical."""
    doc = snap.documents[candidate.passage.doc_id]
    if doc.language == language:
        return 0.0
    has_preferred = any(
        snap.documents.get(t) and snap.documents[t].language == language for t in doc.translations
    )
    return -0.1 if has_preferred else 0.0
