"""AppTest checks of the Streamlit pages' logic against an in-process fake API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import ui_fixtures as F
from streamlit.testing.v1 import AppTest

from ui import api_client


@pytest.fixture
def fake() -> Iterator[F.FakeApi]:
    api = F.FakeApi()
    api_client.set_transport(api.transport())
    yield api
    api_client.set_transport(None)


@pytest.fixture
def app(fake: F.FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    bank = tmp_path / "bank.yaml"
    bank.write_text(
        "topics:\n"
        "  - title: {da: Recovery, en: Recovery}\n"
        "    questions:\n"
        "      da: ['Hvad er recovery?']\n"
        "      en: ['What is recovery?']\n"
        "  - title: {da: Serviceloven, en: The Service Act}\n"
        "    questions:\n"
        "      da: ['Hvilken paragraf gælder for bostøtte?']\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("KVA_QUESTION_BANK", str(bank))
    at = AppTest.from_file(F.APP, default_timeout=30)
    at.run()
    assert not at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [x.value for x in at.text]
    return "\n".join(str(p) for p in parts)


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception
    return at


def test_danish_by_default_with_privacy_notice_and_starters(app: AppTest) -> None:
    assert app.title[0].value == "Kvalitetsassistenten"
    assert "personoplysninger" in app.info[0].value
    labels = [b.label for b in app.button]
    assert "Hvad er kvalitet på botilbud og i bostøtte?" in labels


def test_english_switch_changes_all_visible_text(app: AppTest) -> None:
    app.radio(key="_lang_widget").set_value("en").run()
    assert "personal data" in app.info[0].value
    assert "What is quality in housing and housing support?" in [b.label for b in app.button]
    assert app.toggle(key="_present_widget").label == "Presentation mode"


def test_streamed_answer_shows_markers_and_source_buttons(app: AppTest, fake: F.FakeApi) -> None:
    ask(app, "Hvad er kvalitet?")
    # The inline badge is a link that opens the source button of the same turn.
    assert 'class="kva-marker" href="#kva-source" role="button" data-cite="cite-1-1">[1]' in (
        texts(app)
    )
    cite = app.button(key="cite-1-1")
    assert cite.label.startswith("[1] Hvad er kvalitet")
    assert fake.asked[0]["question"] == "Hvad er kvalitet?"
    assert fake.asked[0]["history"] == []


def test_answer_card_leads_with_the_excerpt_and_says_where_a_foreign_quote_is_from(
    app: AppTest, fake: F.FakeApi
) -> None:
    focus = "skal være ligeværdigt"
    lead = {
        **F.CITATION,
        "role": "lead",
        "focus_start": F.DA_QUOTE_START + F.DA_QUOTE.index(focus),
        "focus_end": F.DA_QUOTE_START + F.DA_QUOTE.index(focus) + len(focus),
    }
    support = {
        **F.CITATION,
        "n": 2,
        "doc_id": "news-en",
        "title": "What is the quality of housing and housing support?",
        "language": "en",
        "section": None,
        "quote": "Recovery <i>matters</i>",
        "role": "support",
    }
    fake.answer_extra = {
        "answer": f"{F.DA_QUOTE} [1]\n\n“Recovery <i>matters</i>” (på engelsk) [2]",
        "citations": [lead, support],
    }
    ask(app, "Hvad er kvalitet?")
    shown = texts(app)
    assert '<blockquote class="kva-lead" lang="da">' in shown
    assert f"<mark>{focus}</mark>" in shown
    assert "Fra et engelsk dokument: What is the quality of housing" in shown
    assert "Recovery &lt;i&gt;matters&lt;/i&gt;" in shown and "<i>" not in shown
    # The badges still open the sources.
    assert 'data-cite="cite-1-2"' in shown
    app.button(key="cite-1-1").click().run()
    assert f"<mark>{F.DA_QUOTE}</mark>" in texts(app)


def test_citation_opens_highlighted_passage_and_document_link(app: AppTest) -> None:
    ask(app, "Hvad er kvalitet?")
    app.button(key="cite-1-1").click().run()
    assert f"<mark>{F.DA_QUOTE}</mark>" in texts(app)
    # Tagged with the source it shows, so the page script can scroll its highlight into view.
    assert 'class="kva-passage" data-src="cite-1-1"' in texts(app)
    assert "Udgivet: 2020-09-03" in texts(app)
    app.button(key="open-doc").click().run()
    assert not app.exception
    assert app.title[0].value == "Materialet"
    recovery = next(e for e in app.expander if e.label == "Recovery")
    assert f"<mark>{F.DA_QUOTE}</mark>" in "".join(m.value for m in recovery.markdown)


def test_follow_up_sends_history_and_new_conversation_clears(app: AppTest, fake: F.FakeApi) -> None:
    ask(app, "Hvad er kvalitet?")
    ask(app, "Og hvad med recovery?")
    history = fake.asked[1]["history"]
    assert [turn["role"] for turn in history] == ["user", "assistant"]
    assert history[0]["content"] == "Hvad er kvalitet?"
    app.button(key="new-conversation").click().run()
    assert len(app.chat_message) == 0
    assert "Hvad er kvalitet på botilbud og i bostøtte?" in [b.label for b in app.button]


def test_abstention_is_marked_and_offers_closest_passages(app: AppTest) -> None:
    ask(app, "Hvad er den bedste pizza?")
    assert "Materialet dækker ikke dette" in texts(app)
    assert "kva-abstain" in texts(app)
    related = app.button(key="rel-1-0")
    related.click().run()
    assert "<mark>" in texts(app)


def test_filters_are_sent_only_when_set(app: AppTest, fake: F.FakeApi) -> None:
    app.selectbox(key="filter_language_da").set_value("en").run()
    app.multiselect(key="filter_kind_da").set_value(["news"]).run()
    app.multiselect(key="filter_docs").set_value(["news-en"]).run()
    ask(app, "What is quality?")
    assert fake.asked[0]["filters"] == {"language": "en", "kind": ["news"], "doc_ids": ["news-en"]}
    # Switching the UI language keeps the filters (and shows them translated).
    app.radio(key="_lang_widget").set_value("en").run()
    assert app.selectbox(key="filter_language_en").value == "en"
    assert app.multiselect(key="filter_kind_en").value == ["news"]


def test_feedback_with_comment_is_posted(app: AppTest, fake: F.FakeApi) -> None:
    ask(app, "Hvad er kvalitet?")
    app.button(key="down-1").click().run()
    app.text_input(key="comment-1").set_value("Mangler kilde")
    app.button(key="send-1").click().run()
    assert fake.feedback == [
        {
            "question": "Hvad er kvalitet?",
            "answer": F.ANSWER["answer"],
            "rating": "down",
            "comment": "Mangler kilde",
        }
    ]
    assert "Tak for din feedback" in texts(app)


def test_api_down_is_explained_kindly(app: AppTest, fake: F.FakeApi) -> None:
    fake.mode = "down"
    app.session_state["_docs"] = None  # force a refetch
    app.run()
    assert "kan ikke nås" in texts(app)
    ask(app, "Hvad er kvalitet?")
    assert any("kan ikke nås" in e.value for e in app.error)


def test_slow_answer_shows_timeout_message(app: AppTest, fake: F.FakeApi) -> None:
    fake.mode = "timeout"
    ask(app, "Hvad er kvalitet?")
    assert any("tog for lang tid" in e.value for e in app.error)


def test_presentation_mode_adds_high_contrast_css(app: AppTest) -> None:
    app.toggle(key="_present_widget").set_value(True).run()
    assert "background:#000" in texts(app)
    app.toggle(key="_present_widget").set_value(False).run()
    assert "background:#000" not in texts(app)


def test_question_bank_shows_topics_in_the_ui_language_and_asks(
    app: AppTest, fake: F.FakeApi
) -> None:
    assert [tab.label for tab in app.tabs] == ["Recovery", "Serviceloven"]
    assert app.expander[0].label == "Spørgsmålsbank"
    assert "assistant/question_bank.yaml" in texts(app)
    button = app.button(key="bank-da-0-0")
    assert button.label == "Hvad er recovery?"
    button.click().run()
    assert fake.asked[-1]["question"] == "Hvad er recovery?"
    app.radio(key="_lang_widget").set_value("en").run()
    # The English bank has no Service Act questions in this file, so that topic is not shown.
    assert [tab.label for tab in app.tabs] == ["Recovery"]
    assert app.button(key="bank-en-0-0").label == "What is recovery?"

    # The bank comes from the API (GET /api/study/topics), not from a file the UI reads.
    assert any(r.url.path == "/api/study/topics" for r in fake.requests)


def test_an_unreadable_question_bank_is_named_not_a_traceback(
    fake: F.FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken-bank.yaml"
    broken.write_text("topics: [", encoding="utf-8")
    monkeypatch.setenv("KVA_QUESTION_BANK", str(broken))
    at = AppTest.from_file(F.APP, default_timeout=30)
    at.run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("Spørgsmålsbanken kunne ikke læses: broken-bank.yaml" in w for w in warnings)
    assert not at.tabs


def test_cpr_number_is_masked_everywhere_and_warned_about_once(
    app: AppTest, fake: F.FakeApi
) -> None:
    ask(app, "Borgeren 010190-1234 har bostøtte – hvad gælder?")
    ask(app, "Og hvad med botilbud?")
    shown = texts(app)
    assert "010190" not in shown and "******-****" in shown
    # The API still gets the question (it masks and warns itself), but never again in history.
    masked = "Borgeren ******-**** har bostøtte – hvad gælder?"
    assert fake.asked[1]["history"][0]["content"] == masked
    warnings = [w.value for w in app.warning]
    assert len(warnings) == 1 and "CPR-nummer" in warnings[0]
    stored = app.session_state["messages"]
    assert all("010190" not in str(m) for m in stored)
    app.button(key="down-1").click().run()
    app.button(key="send-1").click().run()
    assert "010190" not in str(fake.feedback)


def test_follow_up_feedback_carries_its_history(app: AppTest, fake: F.FakeApi) -> None:
    ask(app, "Hvad er kvalitet?")
    ask(app, "Og hvad med recovery?")
    app.button(key="down-3").click().run()
    app.button(key="send-3").click().run()
    assert fake.feedback[-1]["question"] == "Og hvad med recovery?"
    assert [turn["role"] for turn in fake.feedback[-1]["history"]] == ["user", "assistant"]
    assert fake.feedback[-1]["history"][0]["content"] == "Hvad er kvalitet?"


def test_other_versions_are_a_discreet_line_not_part_of_the_answer(
    app: AppTest, fake: F.FakeApi
) -> None:
    fake.other_versions = [{"doc_id": "news-en", "title": F.DOCS[1]["title"], "language": "en"}]
    ask(app, "Hvad er kvalitet?")
    line = next(m.value for m in app.markdown if 'class="kva-versions"' in m.value)
    assert F.DOCS[1]["title"] in line and "Engelsk" in line
    answer = next(m.value for m in app.markdown if 'class="kva-answer"' in m.value)
    assert "Findes også" not in answer


def test_a_generative_answer_that_fell_back_says_why(app: AppTest, fake: F.FakeApi) -> None:
    ask(app, "Hvad er kvalitet?")
    assert not any("generative model" in c.value for c in app.caption)
    fake.answer_extra = {"fell_back": True, "fallback_reason": "llm_timeout"}
    ask(app, "Hvad er kvalitet i bostøtten?")
    notes = [c.value for c in app.caption if "generative model" in c.value]
    assert len(notes) == 1 and "svarede for langsomt" in notes[0]
    # A question declined after the fall-back reads as declined, with no word on quotes.
    ask(app, "Hvordan laver jeg pizza?")
    assert len([c for c in app.caption if "generative model" in c.value]) == 1


def test_export_buttons_appear_after_an_answer(app: AppTest) -> None:
    assert "Stil et spørgsmål først" in texts(app)
    ask(app, "Hvad er kvalitet?")
    keys = {b.key for b in app.get("download_button")}
    assert {"dl-md", "dl-docx", "dl-pdf"} <= keys


def test_documents_page_overview_and_sections(app: AppTest) -> None:
    app.switch_page("pages/documents.py").run()
    assert not app.exception
    frame = app.dataframe[0].value
    assert list(frame["Titel"]) == [d["title"] for d in F.DOCS]
    assert list(frame["Oversættelse"]) == [F.DOCS[1]["title"], F.DOCS[0]["title"]]
    assert [e.label for e in app.expander][:2] == ["Indledning", "Recovery"]


def test_admin_needs_key_and_explains_refusal(app: AppTest, fake: F.FakeApi) -> None:
    app.switch_page("pages/documents.py").run()
    app.button(key="upload").click().run()
    assert any("API-nøglen" in w.value for w in app.warning)
    app.text_input(key="admin_key").set_value("wrong").run()
    app.selectbox(key="delete_doc_da").set_value("nyhed-da").run()
    app.checkbox(key="delete_confirm-0").check().run()
    app.button(key="delete").click().run()
    assert any("nøglen er forkert" in e.value for e in app.error)


def test_api_client_maps_upload_rejection(fake: F.FakeApi) -> None:
    fake.mode = "reject"
    client = api_client.ApiClient()
    with pytest.raises(api_client.ApiError) as caught:
        client.upload([("x.exe", b"MZ", "application/octet-stream")], "secret")
    assert caught.value.kind == "rejected"
    assert caught.value.message == "file type not allowed"


def test_api_client_parses_sse(fake: F.FakeApi) -> None:
    events = list(api_client.ApiClient().ask_stream({"question": "Hvad er kvalitet?"}))
    assert events[0].event == "citations"
    assert events[-1].event == "done"
    assert json.dumps(events[-1].data) == json.dumps({**F.ANSWER, "other_versions": []})


def test_admin_explains_itself_in_plain_words(app: AppTest) -> None:
    app.switch_page("pages/documents.py").run()
    shown = texts(app)
    assert "KVA_API_KEY" in shown  # how to switch administration on
    assert "højst 50 MB pr. fil" in shown
    delete = app.selectbox(key="delete_doc_da")
    assert delete.value is None and delete.placeholder == "Vælg dokument …"
    frame = app.dataframe[0].value
    assert "None" not in frame.to_string() and "nan" not in frame.to_string()


def test_upload_without_files_says_so(app: AppTest, fake: F.FakeApi) -> None:
    app.switch_page("pages/documents.py").run()
    app.text_input(key="admin_key").set_value("secret").run()
    app.button(key="upload").click().run()
    assert any("mindst én fil" in w.value for w in app.warning)
    assert not any(r.method == "POST" for r in fake.requests)


def test_upload_under_an_existing_name_offers_replace(app: AppTest, fake: F.FakeApi) -> None:
    """Issue 12, point 11: a 409 (a document of that name exists) only showed an error."""
    fake.uploaded.add("rapport.txt")
    app.switch_page("pages/documents.py").run()
    app.text_input(key="admin_key").set_value("secret").run()
    app.file_uploader(key="uploads-0").set_value(("rapport.txt", b"Ny version.", "text/plain"))
    app.run()
    app.button(key="upload").click().run()
    assert not app.exception
    assert any("rapport.txt" in w.value and "erstatte" in w.value for w in app.warning)
    assert fake.uploads == [] and not app.error

    app.button(key="upload_keep").click().run()  # keep: nothing sent, the offer goes away
    assert fake.uploads == [] and "upload_replace" not in [b.key for b in app.button]

    app.button(key="upload").click().run()
    app.button(key="upload_replace").click().run()
    assert not app.exception
    assert fake.uploads == [(["rapport.txt"], True)]
    assert any("Indlæst: rapport.txt" in s.value for s in app.success)
    assert "upload_replace" not in [b.key for b in app.button]
    # The picker is empty again after a successful upload.
    assert [u.key for u in app.get("file_uploader")] == ["uploads-1"]


def test_delete_refreshes_the_list(app: AppTest, fake: F.FakeApi) -> None:
    app.switch_page("pages/documents.py").run()
    app.text_input(key="admin_key").set_value("secret").run()
    lists_before = sum(1 for r in fake.requests if r.url.path == "/api/documents")
    app.selectbox(key="delete_doc_da").set_value("nyhed-da").run()
    app.checkbox(key="delete_confirm-0").check().run()
    app.button(key="delete").click().run()
    assert not app.exception
    assert any(r.method == "DELETE" for r in fake.requests)
    assert sum(1 for r in fake.requests if r.url.path == "/api/documents") > lists_before
    assert any("Slettet: Hvad er kvalitet" in s.value for s in app.success)
    # The confirmation starts over unticked, so a second delete is tick + Slet, as the first.
    assert [(c.key, c.value) for c in app.checkbox] == [("delete_confirm-1", False)]


def test_admin_text_says_how_to_switch_on_only_while_it_is_off(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.settings import get_settings

    monkeypatch.setenv("KVA_API_KEY", "secret")
    get_settings.cache_clear()
    try:
        app.switch_page("pages/documents.py").run()
        shown = texts(app)
    finally:
        monkeypatch.delenv("KVA_API_KEY")
        get_settings.cache_clear()
    assert "KVA_API_KEY" not in shown and "Administration er slået til" in shown


def test_job_progress_reads_as_words() -> None:
    from ui.common import job_label

    assert job_label({"status": "queued"}, "da") == ("Venter på at blive indlæst …", None)
    running = {"status": "running", "progress": {"stage": "embed", "done": 3, "total": 4}}
    assert job_label(running, "da") == ("Indekserer passager (3/4)", 0.75)
    assert job_label(running, "en")[0] == "Indexing passages (3/4)"
    done = {"status": "done", "progress": {"stage": "finished", "done": 1, "total": 1}}
    assert job_label(done, "da") == ("Indlæsning færdig.", 1.0)
