"""The answer card on the real seed store: one lead excerpt (a contiguous run of one document,
the chosen sentence inside it), then at most two supporting quotes from other documents; the
question's language first; messages that are not questions about the material declined."""

from __future__ import annotations

import doctest
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

import assistant.answer_card
from assistant.answer_card import NEAR_DUPLICATE, _repeats
from assistant.answer_model import AnswerModel, AnswerModelError, CardShape
from assistant.composer import ExtractiveComposer
from assistant.pipeline import Assistant
from ingest.embeddings import make_embeddings

QUESTIONS = [
    ("Hvad er pejlemærkerne for bostøtten?", "da"),
    ("Hvilken paragraf i serviceloven gælder for bostøtte?", "da"),
    ("Hvem har udarbejdet litteraturstudierne?", "da"),
    ("What are the two tracks of the initiative?", "en"),
    ("What is the purpose of the professional benchmarks?", "en"),
]


def test_docstring_examples_run() -> None:
    result = doctest.testmod(assistant.answer_card)
    assert result.failed == 0 and result.attempted > 0


def test_shape_refuses_a_collage_and_impossible_budgets() -> None:
    with pytest.raises(AnswerModelError, match="supports"):
        CardShape(supports=3)
    with pytest.raises(AnswerModelError, match="lead_words"):
        CardShape(lead_words=200, max_words=110)
    with pytest.raises(AnswerModelError, match="language_margin"):
        CardShape(language_margin=-1)
    with pytest.raises(AnswerModelError, match="shares"):
        CardShape(extend_min=1.5)
    model = AnswerModel.load()
    data = model.to_dict()
    data["card"]["supports"] = 4
    with pytest.raises(AnswerModelError, match="supports"):
        AnswerModel.from_dict(data)


@pytest.mark.parametrize(("question", "language"), QUESTIONS)
def test_answer_opens_with_one_lead_excerpt_then_supports_from_other_documents(
    assistant, question: str, language: str
) -> None:  # noqa: ANN001
    answer = assistant.ask(question)
    assert not answer.abstained and answer.citations, question
    lead, *supports = answer.citations
    texts = assistant.reader.snapshot().texts
    # One lead, first; its quote an exact span that holds the chosen sentence.
    assert lead.role == "lead" and [c.role for c in supports] == ["support"] * len(supports)
    assert lead.start <= lead.focus_start < lead.focus_end <= lead.end
    assert texts[lead.doc_id][lead.start : lead.end] == lead.quote
    # At most two supports; none from the lead's translation (it says the same), none from
    # the lead's own document unless the fitted shape allows it, and then apart from the
    # excerpt.
    assert len(supports) <= 2
    docs = assistant.reader.snapshot().documents
    shape = assistant.model.card
    for c in supports:
        assert c.doc_id not in docs[lead.doc_id].translations, question
        assert c.doc_id != lead.doc_id or shape.same_document, question
        assert c.doc_id != lead.doc_id or c.end <= lead.start or c.start >= lead.end
    # The answer text opens with the lead excerpt, cited [1].
    assert answer.answer.split("\n\n")[0].endswith("[1]")


def test_a_different_sentence_on_the_same_subject_is_no_repeat(corpus_settings) -> None:  # noqa: ANN001
    # e5 scores these two sentences of one page 0.97 although the second says what the first
    # does not; the same sentence again with one word changed (another page's copy) repeats.
    welcomed = (
        "Regeringen hilser Kommissionens initiativ om en samlet tilgang til mental sundhed "
        "velkommen."
    )
    prevention = (
        "Regeringen ser desuden positivt på, at Kommissionens initiativ lægger op til en "
        "forebyggende tilgang til mental sundhed."
    )
    again = welcomed.replace("hilser", "byder")
    texts = [welcomed, prevention, again]
    vectors = make_embeddings(corpus_settings).embed_documents(texts)
    quotes = [
        SimpleNamespace(
            passage=SimpleNamespace(doc_id=f"page-{i}"),
            start=0,
            end=len(text),
            text=text,
            vector=np.asarray(vector, dtype=np.float32),
        )
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))
    ]
    lead, other, repeated = quotes
    assert 0.95 <= float(lead.vector @ other.vector) < NEAR_DUPLICATE
    assert not _repeats(other, lead)
    assert float(lead.vector @ repeated.vector) >= NEAR_DUPLICATE
    assert _repeats(repeated, lead)


@pytest.mark.parametrize(
    "question",
    ["Hvad er pejlemærkerne for bostøtten?", "Hvem har udarbejdet litteraturstudierne?"],
)
def test_a_danish_question_leads_with_the_danish_version(assistant, question) -> None:  # noqa: ANN001
    # The seed texts exist in Danish and English, and the Danish version answers these (the
    # Danish text never names § 85, so that question rightly opens with the English one).
    answer = assistant.ask(question)
    assert answer.citations[0].language == "da", (question, answer.answer)


def test_lead_excerpt_extends_within_its_paragraph_and_budget(corpus_settings) -> None:  # noqa: ANN001
    model = AnswerModel.load()
    shape = replace(model.card, lead_before=2, lead_after=4, paragraph=True, extend_min=0.0)
    wide = Assistant(corpus_settings, composer=ExtractiveComposer(replace(model, card=shape)))
    narrow = Assistant(
        corpus_settings,
        composer=ExtractiveComposer(
            replace(model, card=replace(shape, lead_before=0, lead_after=0))
        ),
    )
    texts = wide.reader.snapshot().texts
    grew = 0
    for question, _ in QUESTIONS:
        w, n = wide.ask(question).citations[0], narrow.ask(question).citations[0]
        assert (n.start, n.end) == (n.focus_start, n.focus_end)
        assert w.start <= w.focus_start and w.focus_end <= w.end
        assert len(w.quote.split()) <= max(shape.lead_words, len(n.quote.split()))
        # Within its paragraph: no blank line between the chosen sentence and the excerpt's ends.
        text = texts[w.doc_id]
        assert "\n\n" not in text[w.focus_end : w.end].rstrip()
        assert "\n\n" not in text[w.start : w.focus_start].lstrip()
        grew += (w.start, w.end) != (w.focus_start, w.focus_end)
    assert grew, "no lead excerpt grew beyond its sentence"


# Case advice ("min borger ... hvad gør jeg?") is declined on the real pages (21 of 22 messages
# of social-dev-not-questions), but on the three seed texts, where "borger" and "hjælp" are
# everywhere, the issue's own example scores just above the threshold (see the README).
@pytest.mark.parametrize("message", ["Hej, hvordan har du det?", "Thanks, bye!", "godmorgen :)"])
def test_messages_that_are_not_questions_about_the_material_are_declined(
    assistant, message: str
) -> None:  # noqa: ANN001
    answer = assistant.ask(message)
    assert answer.abstained and not answer.citations, (message, answer.answer)


@pytest.mark.parametrize(
    "question",
    [
        "Hvornår har kontoret åbent?",
        "Who can I call about my tax card?",
        "Hvem skal jeg kontakte om parkering?",
    ],
)
def test_passages_offered_under_a_decline_are_not_a_contact_block(assistant, question) -> None:  # noqa: ANN001
    # These questions retrieve the seed's contact and newsletter block first; offered as
    # "maybe related" it only looks like an answer.
    retrieved = assistant.prepare(question).request.retrieval.passages
    assert "Anna Lund Christiansen" in retrieved[0].text
    answer = assistant.ask(question)
    assert answer.abstained and answer.related
    assert not any("Anna Lund Christiansen\nFuldmægtig" in p.text for p in answer.related)
