"""The workshop pages' pieces without a browser: both languages for every string, escaped
participant text, the QR code, the answer and spotlight markup, and the client's requests
(checked against a real API server on loopback, tests/api_fixtures.py)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import segno
from api_fixtures import Server, admin_headers, api  # noqa: F401

from ui.api_client import ApiError
from ui.workshop_client import WorkshopClient
from ui.workshop_i18n import WS_STRINGS, w
from ui.workshop_view import answer_html, qr_png, question_html, spotlight_html

ROOT = Path(__file__).resolve().parent.parent

CITATION = {
    "n": 1,
    "doc_id": "d",
    "title": "Kvalitet <i>",
    "section": "A > Recovery",
    "page": 3,
    "quote": "Borgeren er ekspert i eget liv.",
    "start": 0,
    "end": 31,
}


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_workshop_string_in_both_languages_with_the_same_fields() -> None:
    for key, entry in WS_STRINGS.items():
        assert set(entry) == {"da", "en"}, key
        assert all(v.strip() for v in entry.values()), key
        assert _fields(entry["da"]) == _fields(entry["en"]), key
    assert w("ws_votes", "da", n=2) == "2 stemmer"


def test_participant_text_is_escaped_and_sources_are_shown() -> None:
    question = {
        "text": "<script>alert(1)</script>",
        "name": "<b>Ole</b>",
        "votes": 1,
        "state": "approved",
        "answer_status": "answered",
        "answer": {"answer": "Svar <img src=x> [1]", "citations": [CITATION]},
    }
    html = question_html(question, "da", trainer=True) + answer_html(question, "da")
    assert "<script>" not in html and "<b>Ole" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "Godkendt" in html
    assert "Borgeren er ekspert i eget liv." in html
    assert "Kvalitet &lt;i&gt;, Recovery, s. 3" in html
    spot = spotlight_html(question, "en")
    assert "ws-spot" in spot and "Source: [1]" in spot
    assert "No question in the spotlight" in spotlight_html(None, "en")
    pending = {**question, "answer": None, "answer_status": "pending"}
    assert "på vej" in answer_html(pending, "da")
    failed = {**question, "answer": None, "answer_status": "failed"}
    assert "could not answer" in answer_html(failed, "en")


def test_qr_code_is_a_large_png() -> None:
    png = qr_png("http://192.0.2.10:8501/workshop?code=ABCDEF")
    assert png.startswith(b"\x89PNG")
    width = int.from_bytes(png[16:20], "big")
    assert width >= 400  # with scale 14: readable from the back of a room on a projector
    assert segno.make("http://192.0.2.10:8501/workshop?code=ABCDEF", error="m").version <= 5


def test_client_runs_a_room_against_the_real_api(api: Server) -> None:  # noqa: F811
    client = WorkshopClient(api.url)
    with pytest.raises(ApiError) as refused:
        client.create("Rum", "da")  # the test server has an admin key
    assert refused.value.kind == "auth"
    room = client.create("Rum", "en", admin_headers()["Authorization"].split()[-1])
    assert re.fullmatch(r"[A-Z2-9]{6}", room["code"])
    seat = client.join(room["code"])
    asked = client.ask(room["code"], seat["participant_id"], "What is recovery?")
    body, etag = client.questions(room["code"], token=room["trainer_token"])
    assert body is not None and [q["id"] for q in body["questions"]] == [asked["id"]]
    assert client.questions(room["code"], token=room["trainer_token"], etag=etag) == (None, etag)
    client.moderate(room["code"], room["trainer_token"], asked["id"], "spotlight")
    client.moderate(room["code"], room["trainer_token"], asked["id"], "unspotlight")
    voted = client.vote(room["code"], seat["participant_id"], asked["id"])
    assert voted["votes"] == 1
    mine, _ = client.questions(room["code"], participant_id=seat["participant_id"])
    assert mine is not None and mine["questions"][0]["voted"] is True
    assert b"What is recovery?" in client.export(room["code"], room["trainer_token"], "md")
    assert client.close(room["code"], room["trainer_token"])["state"] == "closed"
    with pytest.raises(ApiError) as closed:
        client.ask(room["code"], seat["participant_id"], "Another?")
    assert closed.value.kind == "rejected" and "closed" in closed.value.message
    with pytest.raises(ApiError) as missing:
        client.info("ZZZZZZ")
    assert missing.value.kind == "not_found"


def test_study_page_builds_and_exports_material_from_the_api(
    api: Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streamlit.testing.v1 import AppTest

    from ui import api_client
    from ui.study_export import to_markdown

    monkeypatch.setenv("API_URL", api.url)
    api_client.set_transport(None)
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=120)
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page("pages/study.py").run()
    assert not at.exception
    at.radio(key="st_scope").set_value("topic").run()
    at.button(key="st_build").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    study = at.session_state["st_result"]
    assert study["scope"]["kind"] == "topic" and study["key_points"] and study["faq"]
    shown = " ".join(t.value for t in at.text)
    assert study["key_points"][0]["text"] in shown
    md = to_markdown(study)
    assert md.startswith("# Study material: ") and "## Sources" in md
    # Every quote of the handout is one of the material's cited spans.
    quotes = {" ".join(p["citation"]["quote"].split()) for p in study["key_points"]}
    assert all(q in md for q in quotes)
