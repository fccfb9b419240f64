"""Scoring one answer against its case, and aggregating scores over groups of cases.

Definitions (also in evals/README.md):

- fact_recall: per case, the share of ``expected_facts`` groups with at least one alternative
  in the answer text (see ``textutil.contains_fact``); averaged over cases that list facts.
- source_hit_rate: share of cases with ``expected_sources`` where at least one citation's
  doc_id is one of them.
- citation_validity: valid citations / all citations, where valid means the quote is exactly
  ``text[start:end]`` of the cited document.
- abstention_precision / recall / accuracy: "abstained" is the positive class and
  ``must_abstain`` the truth; accuracy is over all answered cases.
- language_match: the answer's ``language`` equals the case's language and its text, quoted
  passages left out, does not read as the other language; over cases that set ``language``.
- lead_language: of the answered questions whose answer exists in their own language (cases
  with facts not tagged ``cross-lingual``), the share whose first quote (the answer card's lead
  excerpt) is in the question's language.
- answer_chars_mean / answer_words_mean: length of the answer text.
- latency_p50_ms / latency_p95_ms: wall-clock time of the ask call (linear interpolation).
- pass_rate: share of cases that pass every check that applies to them.
- fact_recall_ci95_low / fact_recall_ci95_high: the 95 % bootstrap interval of fact_recall
  over the same cases (``evals.uncertainty``): how much of a difference between runs chance
  alone could make.

Example:
    >>> from assistant.models import Answer
    >>> from evals.suite import Case
    >>> case = Case(id="c", question="?", language="da", expected_facts=[["107"], ["108"]])
    >>> score = score_case(case, Answer(answer="§ 107", language="da", abstained=False),
    ...                    latency_ms=12.0, document_text=lambda d: None)
    >>> score.fact_recall, score.passed, score.failures
    (0.5, False, ['missing fact: 108'])
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, Field

from assistant.composer import plain_text
from assistant.models import Answer
from evals.suite import Case
from evals.textutil import facts_found, guess_language, normalise, strip_quotes
from evals.uncertainty import interval

# Which way is good, for compare: True = higher is better, False = lower, None = neither
# (answer length is a trade-off, not a score). Every name here can be gated on.
METRICS: dict[str, bool | None] = {
    "pass_rate": True,
    "fact_recall": True,
    "source_hit_rate": True,
    "citation_validity": True,
    "abstention_precision": True,
    "abstention_recall": True,
    "abstention_accuracy": True,
    "language_match": True,
    "lead_language": True,
    "wrongly_declined": False,
    "repeated_quote_rate": False,
    "chrome_quote_rate": False,
    "error_rate": False,
    "answer_chars_mean": None,
    "answer_words_mean": None,
    "latency_p50_ms": False,
    "latency_p95_ms": False,
}


def without_quotes(text: str, answer: Answer) -> str:
    """The answer text with each cited quote, as the composer shows it, taken out: a quote
    that itself holds quotation marks (Danish ”…”) would end a pattern match early and leave
    words of the source behind as if the answer were written in them.

    >>> from assistant.models import Citation
    >>> quote = 'SEL § 85: ”Kommunalbestyrelsen skal tilbyde hjælp”'
    >>> cited = Citation(n=1, doc_id="d", title="t", language="da", quote=quote, start=0,
    ...                  end=len(quote), score=0.9)
    >>> answer = Answer(answer=f"“{quote}” (in Danish) [1]", language="en", abstained=False,
    ...                 citations=[cited])
    >>> without_quotes(answer.answer, answer)
    '“” (in Danish) [1]'
    """
    for c in answer.citations:
        text = text.replace(plain_text(c.quote), "")
    return text


class CitationCheck(BaseModel):
    n: int
    doc_id: str
    quote: str
    start: int
    end: int
    valid: bool
    problem: str | None = None


class CaseScore(BaseModel):
    """Everything measured for one case; ``None`` means the check does not apply."""

    fact_recall: float | None = None
    facts_hit: list[bool] = Field(default_factory=list)
    source_hit: bool | None = None
    citations_total: int = 0
    citations_valid: int = 0
    citation_checks: list[CitationCheck] = Field(default_factory=list)
    abstained: bool | None = None
    abstention_correct: bool | None = None
    language_match: bool | None = None
    text_language: str | None = None
    lead_in_language: bool | None = None
    """An answered, answerable question whose answer exists in its own language (not tagged
    cross-lingual): whether the answer opens with a quote in that language."""
    answer_chars: int = 0
    answer_words: int = 0
    repeated_quote: bool = False
    chrome_quote: bool = False
    latency_ms: float | None = None
    error: str | None = None
    passed: bool = False
    failures: list[str] = Field(default_factory=list)


# Deliberately independent of the assistant's own chrome filter: the kinds of page chrome a
# reviewer saw quoted (navigation, date stamps, cookie banners, image names, bare links).
_CHROME = re.compile(
    r"^\W*(gå til indhold|skip to (main )?content|sidst opdateret|last update|updated:|"
    r"click here|klik her|forside\s*[>›/])|cookie|\b\w*\d{3,4}x\d{3,4}\w*\b|\]\(#?\)|"
    r"^\W*\[[^\]]*\]\([^)]*\)\W*$",
    re.IGNORECASE,
)


def looks_like_chrome(quote: str) -> bool:
    """A quote that is page furniture rather than content.

    >>> looks_like_chrome("Gå til indhold"), looks_like_chrome("Bostøtte gives efter § 85.")
    (True, False)
    """
    return bool(_CHROME.search(" ".join(quote.split())))


def repeats_a_quote(quotes: list[tuple[str, int, int, str]]) -> bool:
    """Two citations with the same words, or overlapping spans of one document.

    >>> repeats_a_quote([("a", 0, 10, "Same text."), ("b", 5, 15, "same  text.")])
    True
    """
    seen: list[tuple[str, int, int, str]] = []
    for doc_id, start, end, quote in quotes:
        words = normalise(quote)
        for d, s0, e0, w in seen:
            if w == words or (d == doc_id and start < e0 and s0 < end):
                return True
        seen.append((doc_id, start, end, words))
    return False


def check_citation(citation: Any, document_text: Callable[[str], str | None]) -> CitationCheck:
    """Is the citation's quote exactly ``text[start:end]`` of its document?"""
    text = document_text(citation.doc_id)
    problem = None
    if text is None:
        problem = "document not found"
    elif not (0 <= citation.start <= citation.end <= len(text)):
        problem = f"offsets {citation.start}:{citation.end} outside the text ({len(text)} chars)"
    elif text[citation.start : citation.end] != citation.quote:
        problem = "quote differs from text[start:end]"
    elif not citation.quote.strip():
        problem = "empty quote"
    return CitationCheck(
        n=citation.n,
        doc_id=citation.doc_id,
        quote=citation.quote,
        start=citation.start,
        end=citation.end,
        valid=problem is None,
        problem=problem,
    )


def score_error(error: str, latency_ms: float | None = None) -> CaseScore:
    """The score of a case whose ask call raised: it fails, with the error recorded."""
    return CaseScore(error=error, latency_ms=latency_ms, failures=[f"error: {error}"])


def score_case(
    case: Case,
    answer: Answer,
    *,
    latency_ms: float | None,
    document_text: Callable[[str], str | None],
) -> CaseScore:
    """Score one answer; ``failures`` lists, for a person, every check that did not hold."""
    s = CaseScore(latency_ms=latency_ms, abstained=answer.abstained)
    failures: list[str] = []
    text = answer.answer or ""
    s.answer_chars = len(text)
    s.answer_words = len(text.split())

    if case.expected_facts:
        s.facts_hit = facts_found(case.expected_facts, text)
        s.fact_recall = sum(s.facts_hit) / len(s.facts_hit)
        failures += [
            "missing fact: " + " | ".join(grp)
            for grp, hit in zip(case.expected_facts, s.facts_hit, strict=True)
            if not hit
        ]

    if case.expected_sources:
        cited = {c.doc_id for c in answer.citations}
        s.source_hit = bool(cited & set(case.expected_sources))
        if not s.source_hit:
            failures.append(
                f"no citation from {case.expected_sources} (cited: {sorted(cited) or 'none'})"
            )

    s.citation_checks = [check_citation(c, document_text) for c in answer.citations]
    s.citations_total = len(s.citation_checks)
    s.repeated_quote = repeats_a_quote(
        [(c.doc_id, c.start, c.end, c.quote) for c in answer.citations]
    )
    s.chrome_quote = any(looks_like_chrome(c.quote) for c in answer.citations)
    s.citations_valid = sum(c.valid for c in s.citation_checks)
    failures += [f"invalid citation [{c.n}]: {c.problem}" for c in s.citation_checks if not c.valid]

    s.abstention_correct = answer.abstained == case.must_abstain
    if not s.abstention_correct:
        failures.append("answered but should abstain" if case.must_abstain else "abstained")

    s.text_language = guess_language(strip_quotes(without_quotes(text, answer)))
    if case.language:
        other = "en" if case.language == "da" else "da"
        s.language_match = answer.language == case.language and s.text_language != other
        if not s.language_match:
            failures.append(
                f"language: expected {case.language}, got {answer.language}"
                f" (text reads as {s.text_language or 'unclear'})"
            )

    if (
        case.language
        and case.expected_facts
        and not case.must_abstain
        and "cross-lingual" not in case.tags
        and not answer.abstained
        and answer.citations
    ):
        lead = next((c for c in answer.citations if c.role == "lead"), answer.citations[0])
        s.lead_in_language = lead.language == case.language

    s.failures = failures
    s.passed = not failures
    return s


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default does.

    >>> percentile([10.0, 20.0, 30.0, 40.0], 50)
    25.0
    """
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def case_recall(
    expected_facts: list[list[str]] | None, must_abstain: bool, fact_recall: float | None
) -> float | None:
    """A case's share in fact_recall: None when it has no facts to find or must be declined;
    an errored case counts as 0, since a crash must not look better than a wrong answer."""
    if not expected_facts or must_abstain:
        return None
    return fact_recall or 0.0


def case_declined(must_abstain: bool, abstained: bool | None, error: str | None) -> float | None:
    """A case's share in abstention_recall: None for a question to answer, 1.0 for a question
    to decline that was declined; an errored one counts as 0, as in ``case_recall``.

    >>> case_declined(True, True, None), case_declined(True, False, None)
    (1.0, 0.0)
    >>> case_declined(False, True, None) is None, case_declined(True, None, "timeout")
    (True, 0.0)
    """
    if not must_abstain:
        return None
    return 0.0 if error else float(bool(abstained))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def aggregate(items: Iterable[tuple[Case, CaseScore]]) -> dict[str, Any]:
    """The METRICS (plus counts) over some cases; a metric with nothing to measure is None."""
    pairs = list(items)
    ok = [(c, s) for c, s in pairs if s.error is None]
    tp = sum(c.must_abstain and bool(s.abstained) for c, s in ok)
    fp = sum(not c.must_abstain and bool(s.abstained) for c, s in ok)
    fn = sum(c.must_abstain and not s.abstained for c, s in ok)
    answered = [s for _, s in ok if not s.abstained]
    latencies = [s.latency_ms for _, s in pairs if s.latency_ms is not None]
    recalls = [
        r
        for c, s in pairs
        if (r := case_recall(c.expected_facts, c.must_abstain, s.fact_recall)) is not None
    ]
    bounds = interval(recalls)
    return {
        "n_cases": len(pairs),
        "n_errors": len(pairs) - len(ok),
        "n_passed": sum(s.passed for _, s in pairs),
        "pass_rate": _ratio(sum(s.passed for _, s in pairs), len(pairs)),
        "error_rate": _ratio(len(pairs) - len(ok), len(pairs)),
        "fact_recall": _mean(recalls),
        "fact_recall_ci95_low": bounds[0] if bounds is not None else None,
        "fact_recall_ci95_high": bounds[1] if bounds is not None else None,
        "source_hit_rate": _mean(
            [float(bool(s.source_hit)) for c, s in pairs if c.expected_sources]
        ),
        "citation_validity": _ratio(
            sum(s.citations_valid for _, s in ok), sum(s.citations_total for _, s in ok)
        ),
        "abstention_precision": _ratio(tp, tp + fp),
        "abstention_recall": _ratio(tp, tp + fn),
        "abstention_accuracy": _ratio(sum(bool(s.abstention_correct) for _, s in ok), len(ok)),
        # Answerable questions the assistant declined, of all answerable questions.
        "wrongly_declined": _ratio(fp, sum(not c.must_abstain for c, _ in ok)),
        "repeated_quote_rate": _ratio(sum(s.repeated_quote for s in answered), len(answered)),
        "chrome_quote_rate": _ratio(sum(s.chrome_quote for s in answered), len(answered)),
        "language_match": _mean(
            [float(bool(s.language_match)) for c, s in ok if c.language is not None]
        ),
        # Answers to questions whose answer exists in their own language that open with a
        # quote in that language (the answer card's lead excerpt).
        "lead_language": _mean(
            [float(s.lead_in_language) for _, s in ok if s.lead_in_language is not None]
        ),
        "answer_chars_mean": _mean([float(s.answer_chars) for s in answered]),
        "answer_words_mean": _mean([float(s.answer_words) for s in answered]),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }


def summarise(pairs: list[tuple[Case, CaseScore]]) -> dict[str, Any]:
    """Aggregates overall, per tag and per language (``"any"`` for cases without one)."""
    tags = sorted({t for c, _ in pairs for t in c.tags})
    langs = sorted({c.language or "any" for c, _ in pairs})
    return {
        "overall": aggregate(pairs),
        "by_tag": {t: aggregate((c, s) for c, s in pairs if t in c.tags) for t in tags},
        "by_language": {
            lang: aggregate((c, s) for c, s in pairs if (c.language or "any") == lang)
            for lang in langs
        },
    }
