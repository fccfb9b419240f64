"""Unit tests for the UI's helper modules: strings, rendering, export and the question bank."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import ui_fixtures as F
from docx import Document

from ui.export import build_handout, to_docx, to_markdown, to_pdf
from ui.i18n import STARTER_QUESTIONS, STRINGS, kind_label, t
from ui.question_bank import filter_language, load_bank
from ui.render import (
    abstain_html,
    answer_markup,
    find_quote,
    highlight,
    markers_in,
    passage_html,
    section_at,
    section_label,
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


def test_markdown_handout_has_title_date_quotes_and_sources() -> None:
    md = to_markdown(build_handout(MESSAGES, "da", DOCS_META, date(2026, 1, 2)))
    assert md.startswith("# Kvalitetsassistenten – samtale med kilder")
    assert "Dato: 2026-01-02" in md
    assert f"«{F.DA_QUOTE}»" in md
    assert "## Kildeliste" in md
    assert "udgivet 2020-09-03" in md


def test_docx_handout_is_a_readable_document() -> None:
    data = to_docx(build_handout(MESSAGES, "en", DOCS_META, date(2026, 1, 2)))
    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    assert "Kvalitetsassistenten – conversation with sources" in text
    assert F.DA_QUOTE in text
    assert "List of sources" in text


def test_pdf_handout_renders_danish_letters() -> None:
    data = to_pdf(build_handout(MESSAGES, "da", DOCS_META, date(2026, 1, 2)))
    assert data.startswith(b"%PDF")
    assert len(data) > 1000


def test_abstained_answer_is_labelled_in_handout() -> None:
    msgs = [{"role": "assistant", "answer": F.ABSTAIN, "question": "Pizza?", "content": ""}]
    md = to_markdown(build_handout(msgs, "en", {}, date(2026, 1, 2)))
    assert "The material does not cover this." in md


def test_question_bank_groups_by_tag(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "name: a\ncases:\n"
        "  - {id: 1, question: Q1, language: da, tags: [x, y], must_abstain: false}\n"
        "  - {id: 2, question: Q2, language: en, tags: [y], must_abstain: true}\n",
        encoding="utf-8",
    )
    (tmp_path / "broken.yaml").write_text("cases: [", encoding="utf-8")
    bank = load_bank(tmp_path)
    assert list(bank) == ["x", "y"]
    assert [q.question for q in bank["y"]] == ["Q1", "Q2"]
    assert bank["y"][1].must_abstain
    assert list(filter_language(bank, "en")) == ["y"]
    assert load_bank(tmp_path / "missing") == {}


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
