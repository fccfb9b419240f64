"""The answer card: one lead excerpt, then at most two supporting quotes.

A collage of four sentences from three documents in two languages reads badly, and the sentence
that holds the fact often stands right next to the one that scored best. So an answer opens
with one contiguous run of one document: the best candidate (in the question's language when a
candidate in it scores within ``language_margin`` of the best), extended by the neighbouring
sentences of its passage that belong to it. At most two supporting quotes follow, only when
they score close to the lead; never the same words, an overlapping span, a near-duplicate or
the other language version of a quoted text (and, unless the fitted shape allows it, never from
the lead's own document).

How far the excerpt reaches, when a supporting quote is added, the language margin and the
word budget are fitted on the tuning suites (``benchmarks/fit_answer_model.py``) and stored in
``assistant/answer_model.json`` as ``CardShape``.

Example:
    >>> shape = CardShape(lead_after=2, supports=1)
    >>> shape.lead_after, shape.supports, shape.max_words
    (2, 1, 110)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.answer_model import CardShape
from assistant.candidates import Candidate, chunk_units
from assistant.chrome import Boilerplate, is_chrome
from assistant.injection import is_injection
from assistant.retriever import Retrieval

# A quote whose vector is this close to one already chosen says the same thing again (the
# same paragraph on two near-identical pages, a sentence repeated in a neighbouring chunk).
# e5's cosines are compressed: on the social-dev corpus, 44-81 % of the sentence pairs at
# 0.93-0.97 are different sentences (difflib ratio < 0.5) and none is at 0.98 or above, where
# the texts are nearly the same (benchmarks/near_duplicates.py). At 0.95 the card dropped
# the sentence beside the lead that held the fact ("Vejledningen afløser vejledning nr. …").
NEAR_DUPLICATE = 0.98
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass
class Excerpt:
    """A contiguous span of one document around its lead candidate."""

    lead: Candidate
    start: int
    end: int
    text: str

    @property
    def doc_id(self) -> str:
        return self.lead.passage.doc_id


@dataclass
class Card:
    excerpt: Excerpt
    supports: list[Candidate] = field(default_factory=list)

    @property
    def quoted(self) -> list[tuple[str, str]]:
        """(doc id, text) of everything the card quotes, lead first."""
        return [(self.excerpt.doc_id, self.excerpt.text)] + [
            (c.passage.doc_id, c.text) for c in self.supports
        ]


def words(text: str) -> int:
    return len(text.split())


class CardBuilder:
    """Builds the answer card from the ranked candidates (best first, logits set).

    Example::

        builder = CardBuilder(AnswerModel.load().card)
        card = builder.run(ranked, retrieval, boilerplate, probability=sigmoid)
    """

    def __init__(self, shape: CardShape) -> None:
        if not isinstance(shape, CardShape):
            raise TypeError("shape must be a CardShape")
        self.shape = shape

    def run(
        self,
        ranked: list[Candidate],
        retrieval: Retrieval,
        boilerplate: Boilerplate | None,
        probability: Callable[[float], float],
    ) -> Card:
        if not ranked:
            raise ValueError("the card needs at least one candidate")
        shape = self.shape
        snap = retrieval.snapshot
        lead = choose_lead(ranked, shape.language_margin)
        excerpt = self.excerpt(lead, ranked, retrieval, boilerplate, probability)

        def family(doc_id: str) -> set[str]:
            """The documents a support may no longer come from once ``doc_id`` is quoted: its
            translations, and itself unless ``same_document``."""
            doc = snap.documents.get(doc_id)
            translations = set(doc.translations) if doc is not None else set()
            return translations if shape.same_document else {doc_id, *translations}

        used_docs = family(lead.passage.doc_id)
        budget = shape.max_words - words(excerpt.text)
        p_lead = probability(lead.logit)
        floor = max(shape.support_min, shape.support_relative * p_lead)
        supports: list[Candidate] = []

        def fits(c: Candidate) -> bool:
            return (
                c.passage.doc_id not in used_docs
                and words(c.text) <= budget
                and not any(_repeats(c, u) for u in [lead, *supports])
                and not (
                    c.passage.doc_id == excerpt.doc_id
                    and c.start < excerpt.end
                    and excerpt.start < c.end
                )
            )

        for c in ranked:
            # Ranked best first: once one scores below the floor, all the rest do.
            if len(supports) >= shape.supports or probability(c.logit) < floor:
                break
            if c is lead or not fits(c):
                continue
            supports.append(c)
            used_docs |= family(c.passage.doc_id)
            budget -= words(c.text)
        quoted = [lead, *supports]
        if len(supports) < shape.supports and not any(
            c.features["other_language"] for c in quoted
        ):
            other = next((c for c in ranked if c.features["other_language"]), None)
            if (
                other is not None
                and probability(other.logit) >= shape.other_language
                and fits(other)
            ):
                supports.append(other)
        return Card(excerpt, supports)

    def excerpt(
        self,
        lead: Candidate,
        ranked: list[Candidate],
        retrieval: Retrieval,
        boilerplate: Boilerplate | None,
        probability: Callable[[float], float],
    ) -> Excerpt:
        """The lead candidate with the neighbouring sentences of its passage that belong to it."""
        shape = self.shape
        snap = retrieval.snapshot
        text = snap.texts[lead.passage.doc_id]
        start, end = lead.start, lead.end
        if lead.is_list or (shape.lead_before == 0 and shape.lead_after == 0):
            return Excerpt(lead, start, end, text[start:end])
        spans = _passage_units(lead, retrieval)
        logits = {
            (c.start, c.end): c.logit
            for c in ranked
            if c.passage.doc_id == lead.passage.doc_id and not c.is_list
        }
        heading = (lead.passage.section or "").split(" > ")[-1]

        def belongs(s: int, e: int, gap: str) -> bool:
            unit = text[s:e]
            if is_chrome(unit) or (boilerplate is not None and unit in boilerplate):
                return False
            if is_injection(unit):  # never quoted, not even as a neighbour of the lead
                return False
            if heading and unit.strip("#* \n") == heading:
                return False
            if shape.paragraph and _PARAGRAPH_BREAK.search(gap):
                return False
            if words(text[min(s, start) : max(e, end)]) > shape.lead_words:
                return False
            if shape.extend_min == 0:
                return True
            logit = logits.get((s, e))
            return logit is not None and probability(logit) >= shape.extend_min

        after = [(s, e) for s, e in spans if s >= end]
        for s, e in after[: shape.lead_after]:
            if not belongs(s, e, text[end:s]):
                break
            end = e
        before = [(s, e) for s, e in spans if e <= start][::-1]
        for s, e in before[: shape.lead_before]:
            if not belongs(s, e, text[e:start]):
                break
            start = s
        return Excerpt(lead, start, end, text[start:end])


def choose_lead(ranked: list[Candidate], margin: float) -> Candidate:
    """The best candidate, or the best one in the question's language when it scores within
    ``margin`` (a logit) of a better one in the other language.

    >>> from types import SimpleNamespace as N
    >>> en = N(logit=2.0, features={"other_language": 1.0})
    >>> da = N(logit=1.5, features={"other_language": 0.0})
    >>> choose_lead([en, da], 0.6) is da, choose_lead([en, da], 0.4) is en
    (True, True)
    """
    best = ranked[0]
    if not best.features["other_language"]:
        return best
    own = next((c for c in ranked if not c.features["other_language"]), None)
    if own is not None and own.logit >= best.logit - margin:
        return own
    return best


def _passage_units(lead: Candidate, retrieval: Retrieval) -> list[tuple[int, int]]:
    """The sentence spans of the lead's chunk and of the chunks beside it in the same section,
    in document order."""
    snap = retrieval.snapshot
    chunk_id = lead.passage.chunk_id
    chunk_ids = [chunk_id]
    if retrieval.index is not None:
        before, after = retrieval.index.neighbours.get(chunk_id, (None, None))
        section = snap.chunks[chunk_id].section if chunk_id in snap.chunks else None
        for cid in (before, after):
            if cid is not None and cid in snap.chunks and snap.chunks[cid].section == section:
                chunk_ids.append(cid)
    spans = {(s, e) for cid in chunk_ids for s, e, _ in chunk_units(retrieval, snap, cid)}
    return sorted(spans)


def _repeats(candidate: Candidate, chosen: Candidate) -> bool:
    """Same words, overlapping span or near-identical meaning."""
    if candidate.passage.doc_id == chosen.passage.doc_id and (
        candidate.start < chosen.end and chosen.start < candidate.end
    ):
        return True
    if " ".join(candidate.text.lower().split()) == " ".join(chosen.text.lower().split()):
        return True
    return float(candidate.vector @ chosen.vector) >= NEAR_DUPLICATE
