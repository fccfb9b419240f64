"""Unit tests for the UI's helper modules: strings, rendering, export and the question bank."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
import ui_fixtures as F
from docx import Document
from pypdf import PdfReader

from assistant.handout import HANDOUT_STRINGS, build_handout, to_docx, to_markdown, to_pdf
from assistant.plain_text import section_label
from assistant.question_bank import BankError, bank_topics, read_bank
from ui.i18n import STARTER_QUESTIONS, STRINGS, kind_label, t
from ui.render import (
    abstain_html,
    answer_markup,
    card_markup,
    clean_markup,
    find_quote,
    highlight,
    markers_in,
    passage_html,
    plain_passage_html,
    section_at,
)

MESSAGES = [
    {"role": "user", "content": "Hvad er kvalitet?"},
    {
        "role": "assistant",
        "content": F.ANSWER["answer"],
        "answer": F.ANSWER,
        "question": "Hvad er kvalitet?",
    },
    {"role": "user", "content": "Pizza?"},
    {"role": "assistant", "content": "", "error": "timeout", "question": "Pizza?"},
]
DOCS_META = {d["doc_id"]: d for d in F.DOCS}


def test_every_string_exists_in_both_languages() -> None:
    for key, entry in STRINGS.items():
        assert set(entry) == {"da", "en"}, key
        assert all(value.strip() for value in entry.values()), key
    assert len(STARTER_QUESTIONS["da"]) == len(STARTER_QUESTIONS["en"]) >= 2
    # The screen and a handout name a kind, a section or a page alike: the UI never redefines
    # a string the handout prints.
    assert all(STRINGS[key] == entry for key, entry in HANDOUT_STRINGS.items())


def test_translation_helpers() -> None:
    assert t("abstained_title", "da") == "Materialet dækker ikke dette"
    assert t("abstained_title", "en") == "The material does not cover this"
    assert t("docs_count", "en", n=3) == "3 documents"
    assert kind_label("literature-study", "da") == "Litteraturstudie"
    assert kind_label("brand-new-kind", "da") == "brand-new-kind"


def test_markers_are_badges_and_text_is_escaped() -> None:
    markup = answer_markup("Se <b>dette</b> [1] og [2], igen [1].")
    assert "&lt;b&gt;" in markup
    assert markup.count('class="kva-marker"') == 3
    assert markers_in("a [2] b [1] c [2]") == [2, 1]


def test_cited_markers_are_links_to_their_source_buttons() -> None:
    markup = answer_markup("Et svar [1] og [2].", turn=3, cited={1})
    link = '<a class="kva-marker" href="#kva-source" role="button" data-cite="cite-3-1">[1]</a>'
    assert link in markup
    # A number without a citation behind it stays a plain badge: nothing to open.
    assert '<span class="kva-marker">[2]</span>' in markup
    assert markup.startswith('<div class="kva-answer">') and "\n" not in markup


def test_answer_and_passages_show_no_raw_markup() -> None:
    answer = answer_markup("## Emne\nSe [Literature study: Quality](#) og **dette** [1].", 1, {1})
    for raw in ("##", "](#)", "**", "[Literature"):
        assert raw not in answer
    assert "Literature study: Quality" in answer
    text = F.MARKUP_TEXT
    start = text.index("How to ensure")
    shown = passage_html(text, start, start + len("How to ensure"), window=None)
    for raw in ("## ", "- &gt;", "&gt; How", "](#)", "**"):
        assert raw not in shown, raw
    assert "<mark>How to ensure</mark>" in shown
    assert "• How to implement" in shown
    assert "Literature study" in plain_passage_html(text)
    assert "](#)" not in plain_passage_html(text)


def test_an_older_apis_version_note_is_dropped() -> None:
    markup = answer_markup("Svar [1].\n\nFindes også på engelsk: “What is quality?”.", 1, {1})
    assert "Findes også" not in markup and "Svar" in markup
    assert "Also available" not in answer_markup("Answer [1]. Also available in Danish: “X”.")


def test_clean_markup_keeps_spans_on_the_same_words() -> None:
    text = "# Head\n\n- > first **bold** item\n[link text](http://x)"
    for word in ("Head", "first", "bold", "item", "link text"):
        start = text.index(word)
        cleaned, [(s, e)] = clean_markup(text, (start, start + len(word)))
        assert cleaned[s:e] == word


def test_highlight_marks_span_within_window() -> None:
    text = "alpha " * 200 + "THE QUOTE <here>" + " omega" * 200
    start = text.index("THE QUOTE")
    out = highlight(text, start, start + len("THE QUOTE <here>"), window=50)
    assert "<mark>THE QUOTE &lt;here&gt;</mark>" in out
    assert out.startswith("… ") and out.endswith(" …")
    assert len(out) < 200
    assert highlight("abc", 0, 3, window=None) == "<mark>abc</mark>"


def test_find_quote_prefers_offsets_then_searches() -> None:
    text = "one two three two"
    assert find_quote(text, "two", 4, 7) == (4, 7)
    assert find_quote(text, "three", 0, 3) == (8, 13)
    assert find_quote(text, "absent", 1, 2) == (1, 2)


def test_section_at() -> None:
    sections = [{"start": 0, "end": 10}, {"start": 10, "end": 20}]
    assert section_at(sections, 12) == 1
    assert section_at(sections, 25) is None


def test_handout_skips_errors_and_lists_sources() -> None:
    handout = build_handout(MESSAGES, "da", DOCS_META, date(2026, 1, 2))
    assert len(handout.items) == 1
    assert [s.doc_id for s in handout.sources] == ["nyhed-da"]
    assert handout.sources[0].published == "2020-09-03"


def test_markdown_handout_has_title_date_origin_answers_and_numbered_sources() -> None:
    md = to_markdown(build_handout(MESSAGES, "da", DOCS_META, date(2026, 1, 2)))
    assert md.startswith("# Kvalitetsassistenten – samtale med kilder")
    assert "Dato: 2. januar 2026" in md
    assert "ordrette uddrag af det udgivne materiale" in md
    assert "## 1. Hvad er kvalitet?" in md
    assert "**Kildeliste**" in md
    assert "- [1] “Hvad er kvalitet på botilbud og i bostøtte?”, afsnit: Recovery" in md
    assert "udgivet 2020-09-03" in md


def test_each_quote_is_printed_once() -> None:
    # The extractive answer is the quote itself: the source list must not repeat it.
    quoted = {**F.ANSWER, "answer": F.DA_QUOTE + " [1]."}
    msgs = [{"role": "assistant", "answer": quoted, "question": "Hvad?", "content": ""}]
    handout = build_handout(msgs, "da", DOCS_META, date(2026, 1, 2))
    for output in (to_markdown(handout), _docx_text(to_docx(handout)), _pdf_text(to_pdf(handout))):
        assert " ".join(output.split()).count(F.DA_QUOTE) == 1
    # A paraphrasing answer keeps the quote, once, under its source.
    assert to_markdown(build_handout(MESSAGES, "da", DOCS_META)).count(F.DA_QUOTE) == 1


def test_sources_are_numbered_per_answer_as_on_screen_one_entry_per_passage() -> None:
    """Issue 22, point 5: [1]-[3] on screen became [3], [5], [6] on paper; the same document and
    section were separate entries; a bullet made a quote the answer holds print again."""
    bullet = "- Professional benchmarks for quality"
    cites = [
        {**F.CITATION, "n": 1},
        {**F.CITATION, "n": 2, "doc_id": "news-en", "title": "Sub-initiatives", "section": "B",
         "quote": bullet, "start": 5, "end": 5 + len(bullet), "language": "en"},
        {**F.CITATION, "n": 3, "doc_id": "news-en", "title": "Sub-initiatives", "section": "B",
         "quote": "The purpose is to develop benchmarks.", "start": 90, "end": 127},
    ]
    text = (
        f"{F.DA_QUOTE} [1]\n\n“Professional benchmarks for quality” (på engelsk) [2]\n\n"
        "“The purpose is to develop benchmarks.” (på engelsk) [3]"
    )
    second = {**F.ANSWER, "answer": text, "citations": cites}
    msgs = [
        {"role": "assistant", "answer": F.ANSWER, "question": "A?"},
        {"role": "assistant", "answer": second, "question": "B?"},
    ]
    handout = build_handout(msgs, "da", DOCS_META, date(2026, 1, 2))
    assert [s.label for s in handout.items[0].sources] == ["[1]"]
    assert [s.label for s in handout.items[1].sources] == ["[1]", "[2, 3]"]
    assert handout.items[1].answer.endswith("[3]")
    assert all(not s.quotes for s in handout.items[1].sources)
    for output in (to_markdown(handout), _docx_text(to_docx(handout)), _pdf_text(to_pdf(handout))):
        flat = " ".join(output.split())
        assert "[2, 3] “Sub-initiatives”" in flat
        assert flat.count("Sub-initiatives") == 1 and "• Professional" not in flat
        assert "[4]" not in flat


def test_abstention_reads_cleanly_in_the_question_language() -> None:
    api_text = "The material does not cover this. The material does not cover this. The closest "
    english = {**F.ABSTAIN, "language": "en", "answer": api_text + "passages are shown below."}
    msgs = [{"role": "assistant", "answer": english, "question": "Best pizza?", "content": ""}]
    md = to_markdown(build_handout(msgs, "da", {}, date(2026, 1, 2)))
    section = md.split("## 1. Best pizza?")[1].split("_Svarene")[0]
    assert section.count("The material does not cover this.") == 1
    assert "below" not in section and "nedenfor" not in section
    assert "Materialet" not in section
    assert "Closest passages in the material: Hvad er kvalitet på botilbud" in section


def test_cpr_numbers_never_reach_a_handout() -> None:
    msgs = [{"role": "assistant", "answer": F.ANSWER, "question": "Borger 010190-1234 – hvad?"}]
    handout = build_handout(msgs, "da", DOCS_META, date(2026, 1, 2))
    outputs = (to_markdown(handout), _docx_text(to_docx(handout)), _pdf_text(to_pdf(handout)))
    for output in outputs:
        assert "010190" not in output and "1234" not in output
        assert "******-****" in output


def _docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_docx_handout_is_a4_with_real_properties() -> None:
    data = to_docx(build_handout(MESSAGES, "en", DOCS_META, date(2026, 1, 2)))
    doc = Document(io.BytesIO(data))
    text = _docx_text(data)
    assert "Kvalitetsassistenten – conversation with sources" in text
    assert "Date: 2 January 2026" in text
    assert "verbatim extracts from the published material" in text
    assert F.DA_QUOTE in text
    assert "List of sources" in text
    assert doc.core_properties.author == "Kvalitetsassistenten"
    assert doc.core_properties.title == "Kvalitetsassistenten – conversation with sources"
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)


def test_pdf_handout_is_a4_with_danish_letters_and_metadata() -> None:
    data = to_pdf(build_handout(MESSAGES, "da", DOCS_META, date(2026, 1, 2)))
    reader = PdfReader(io.BytesIO(data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert reader.metadata.author == "Kvalitetsassistenten"
    text = _pdf_text(data)
    assert "samtale med kilder" in text and "Kildeliste" in text
    assert "bostøtte" in text


def test_pdf_never_leaves_a_heading_at_the_bottom_of_a_page() -> None:
    long_answer = {**F.ANSWER, "answer": ("Et langt svar om kvalitet i bostøtten. " * 14) + "[1]"}
    msgs = [
        {"role": "assistant", "answer": long_answer, "question": f"Spørgsmål nummer {k}?"}
        for k in range(1, 16)
    ]
    reader = PdfReader(io.BytesIO(to_pdf(build_handout(msgs, "da", DOCS_META))))
    assert len(reader.pages) >= 3
    for page in reader.pages[:-1]:
        lines = [ln for ln in page.extract_text().splitlines() if ln.strip()]
        body = [ln for ln in lines if "samtale med kilder ·" not in ln]  # the page footer
        assert not re.match(r"^\d+\. Spørgsmål nummer", body[-1]), body[-3:]
        assert body[-1] != "Kildeliste"


def test_question_bank_is_by_topic_in_both_languages() -> None:
    topics = bank_topics()
    assert len(topics) >= 4
    for language in ("da", "en"):
        assert all(topic["questions"][language] for topic in topics)
        assert all(topic["title"][language] for topic in topics)
    assert topics[0]["title"] == {"da": "Kvalitet og recovery", "en": "Quality and recovery"}
    questions = [q for topic in topics for qs in topic["questions"].values() for q in qs]
    assert all("?" in q for q in questions)
    # No evaluation-suite tags or traps in a teaching bank.
    titles = " ".join(title for topic in topics for title in topic["title"].values()).lower()
    for tag in ("abstain", "injection", "plausible-absent", "cross-lingual"):
        assert tag not in titles


def test_question_bank_file_errors_are_clear(tmp_path: Path) -> None:
    good = tmp_path / "bank.yaml"
    good.write_text(
        "topics:\n  - title: {da: Emne, en: Topic}\n    questions: {da: ['Hvad?', ' ']}\n",
        encoding="utf-8",
    )
    assert bank_topics(good) == [
        {"n": 1, "title": {"da": "Emne", "en": "Topic"}, "questions": {"da": ["Hvad?"], "en": []}}
    ]
    assert bank_topics(tmp_path / "missing.yaml") == []
    broken = tmp_path / "broken.yaml"
    broken.write_text("topics: [", encoding="utf-8")
    with pytest.raises(BankError, match="broken.yaml"):
        read_bank(broken)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("topics:\n  - title: x\n", encoding="utf-8")
    with pytest.raises(BankError, match="topic 1"):
        read_bank(wrong)


def test_every_bank_question_is_answered_by_the_default_corpus(assistant) -> None:  # noqa: ANN001
    for language in ("da", "en"):
        for topic in bank_topics():
            for question in topic["questions"][language]:
                answer = assistant.ask(question, language=language)
                assert not answer.abstained, (language, question)
                assert answer.citations, (language, question)


def test_section_label_drops_repeated_title() -> None:
    assert section_label("Doc", "Doc > Recovery") == "Recovery"
    assert section_label("Doc", "Doc") == ""
    assert section_label("Doc", "Other") == "Other"
    assert section_label("Doc", None) == ""


def test_passage_html_has_no_blank_lines() -> None:
    # A blank line inside the HTML would make markdown spill the rest out as raw paragraphs.
    out = passage_html("a\n\n\nb\nc", 0, 1, window=None)
    assert "\n" not in out
    assert "<mark>a</mark><br><br>b<br>c" in out


def test_abstain_html_says_the_heading_once() -> None:
    out = abstain_html("Materialet dækker ikke dette", "Materialet dækker ikke dette. Se nedenfor.")
    assert out.count("Materialet dækker ikke dette") == 1
    assert "Se nedenfor." in out


# --- the answer card (role / focus on the citations) -----------------------------------------

LEAD_TEXT = "Første sætning om <b>bostøtte</b>. Den valgte sætning & svaret. Sidste sætning."
FOCUS = "Den valgte sætning & svaret."


def _card_answer() -> dict:
    lead_start = 100
    fs = lead_start + LEAD_TEXT.index(FOCUS)
    return {
        "answer": f"{LEAD_TEXT} [1]\n\n“Support <script>x</script>” (på engelsk) [2]\n\n"
        "Materialet nævner ikke 2019.",
        "language": "da",
        "abstained": False,
        "citations": [
            {"n": 1, "doc_id": "a", "title": "Dansk <dok>", "language": "da", "section": None,
             "quote": LEAD_TEXT, "start": lead_start, "end": lead_start + len(LEAD_TEXT),
             "score": 0.9, "role": "lead", "focus_start": fs, "focus_end": fs + len(FOCUS)},
            {"n": 2, "doc_id": "b", "title": "English doc", "language": "en", "section": "S",
             "quote": "Support <script>x</script>", "start": 5, "end": 31, "score": 0.5,
             "role": "support", "focus_start": None, "focus_end": None},
        ],
    }


def test_answer_card_marks_the_chosen_sentence_and_keeps_everything_escaped() -> None:
    def label(cite: dict) -> str:
        return "Fra et engelsk dokument: " + cite["title"] if cite["language"] == "en" else cite[
            "title"
        ]

    markup = card_markup(_card_answer(), label, turn=3)
    assert markup is not None
    lead, support = markup.split('<blockquote class="kva-support"')
    assert '<blockquote class="kva-lead" lang="da">' in lead
    assert "<mark>Den valgte sætning &amp; svaret.</mark>" in lead
    assert "&lt;b&gt;bostøtte&lt;/b&gt;" in lead and "<b>" not in markup
    assert 'data-cite="cite-3-1"' in lead and "Dansk &lt;dok&gt;" in lead
    assert ' lang="en"' in support and 'data-cite="cite-3-2"' in support
    assert "Fra et engelsk dokument: English doc" in support
    assert "<script>" not in markup and "&lt;script&gt;" in support
    # The lead comes first, its source right under it, the engine's note after the quotes.
    assert markup.index("kva-lead") < markup.index("kva-card-source") < markup.index("kva-support")
    assert markup.removesuffix("</div>").endswith("Materialet nævner ikke 2019.</p>")


def test_answer_without_card_roles_renders_as_before() -> None:
    assert card_markup(F.ANSWER, lambda c: c["title"], turn=0) is None
    answer = _card_answer()
    for cite in answer["citations"]:
        cite["role"] = None
    assert card_markup(answer, lambda c: c["title"]) is None


def test_lead_focus_outside_the_quote_still_renders_the_quote() -> None:
    answer = _card_answer()
    answer["citations"][0].update(focus_start=None, focus_end=None)
    markup = card_markup(answer, lambda c: c["title"])
    assert markup is not None and "<mark>" not in markup and "Sidste sætning." in markup


def test_docx_carries_the_handout_language_and_todays_date() -> None:
    """Issue 22, point 5: the DOCX was tagged en-US in Danish and said it was made in 2013."""
    from datetime import UTC, datetime

    english_answer = {**F.ANSWER, "language": "en", "answer": "Quality is shared work [1]."}
    msgs = [*MESSAGES[:2], {"role": "assistant", "answer": english_answer, "question": "Q?"}]
    today = date.today()
    for lang, locale in (("da", "da-DK"), ("en", "en-US")):
        doc = Document(io.BytesIO(to_docx(build_handout(msgs, lang, DOCS_META, today))))
        styles = doc.styles.element.xml
        assert f'w:lang w:val="{locale}"' in styles
        assert 'w:val="en-US"' not in styles or lang == "en"
        assert doc.core_properties.language == locale
        for stamp in (doc.core_properties.created, doc.core_properties.modified):
            assert stamp.date() == today, stamp
            assert abs((datetime.now(UTC) - stamp.replace(tzinfo=UTC)).total_seconds()) < 300
    # In the Danish handout the English answer is tagged English, the rest Danish.
    danish = Document(io.BytesIO(to_docx(build_handout(msgs, "da", DOCS_META, today))))
    tagged = [p for p in danish.paragraphs if "Quality is shared work" in p.text]
    assert tagged and 'w:val="en-US"' in tagged[0]._p.xml
