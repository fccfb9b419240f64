"""Study material (GET /api/study, issue 21 item 5) through a real API server on loopback: key
points, FAQ and quiz on the seed corpus, each item an exact span of its document, quiz answers
inside their cited sentence, no page chrome; refusals in the project's error shape; and the same
properties on a few documents of ../shared/corpora/social-dev when it is there.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_fixtures import ROOT, LogCapture, Server, api, start_server  # noqa: F401

from assistant.chrome import is_chrome

SOCIAL_DEV = (ROOT.parent / "shared" / "corpora" / "social-dev").resolve()
EN_DOC = "news-quality-housing-support-en"
DA_DOC = "nyhed-kvalitet-botilbud-bostoette-da"


def _study(server: Server, **params: str) -> dict[str, Any]:
    with server.client(timeout=120) as c:
        r = c.get("/api/study", params=params)
    assert r.status_code == 200, r.text
    return r.json()


class Texts:
    """Document texts as the API serves them (GET /api/documents/{id}), fetched once each."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._texts: dict[str, str] = {}

    def __getitem__(self, doc_id: str) -> str:
        if doc_id not in self._texts:
            with self.server.client() as c:
                r = c.get(f"/api/documents/{doc_id}")
            assert r.status_code == 200, r.text
            self._texts[doc_id] = r.json()["text"]
        return self._texts[doc_id]


def _check_citation(texts: Texts, c: dict[str, Any]) -> None:
    text = texts[c["doc_id"]]
    assert text[c["start"] : c["end"]] == c["quote"], c
    assert c["quote"].strip() and not is_chrome(c["quote"]), c["quote"]


def check_key_points(texts: Texts, study: dict[str, Any]) -> None:
    points = study["key_points"]
    assert points, study["scope"]
    for p in points:
        _check_citation(texts, p["citation"])
        assert p["text"] == p["citation"]["quote"]
        assert len(p["text"].split()) >= 6  # a sentence, not a heading or a label
    scores = [p["score"] for p in points]
    assert len({(p["citation"]["doc_id"], p["citation"]["start"]) for p in points}) == len(points)
    assert max(scores) <= 1.0001 and min(scores) > 0


def check_faq(texts: Texts, study: dict[str, Any]) -> None:
    for item in study["faq"]:
        assert item["question"].endswith("?") and item["answer"].strip()
        assert item["citations"], item
        for c in item["citations"]:
            _check_citation(texts, c)


def check_quiz(texts: Texts, study: dict[str, Any]) -> None:
    for item in study["quiz"]:
        c = item["citation"]
        _check_citation(texts, c)
        # The answer is in its cited sentence, exactly where the item says.
        assert c["start"] <= item["answer_start"] < item["answer_end"] <= c["end"]
        text = texts[c["doc_id"]]
        assert text[item["answer_start"] : item["answer_end"]] == item["answer"]
        assert item["answer"] in c["quote"]
        # The prompt is the sentence with exactly that answer blanked.
        before = text[c["start"] : item["answer_start"]]
        after = text[item["answer_end"] : c["end"]]
        assert item["prompt"] == before + "_____" + after
        assert item["answer"] in item["options"] and len(item["options"]) >= 3
        assert len(set(item["options"])) == len(item["options"])


# -- the seed corpus -------------------------------------------------------------------------


def test_key_points_are_central_cited_sentences(api: Server) -> None:  # noqa: F811
    texts = Texts(api)
    study = _study(api, doc_id=EN_DOC)
    assert study["scope"]["kind"] == "document" and study["scope"]["language"] == "en"
    check_key_points(texts, study)
    # Most central first among the prose sentences; all from this document.
    assert {p["citation"]["doc_id"] for p in study["key_points"]} == {EN_DOC}
    # The news item is about quality in housing and housing support: its central sentences
    # say so (no navigation, no "share this page").
    joined = " ".join(p["text"].lower() for p in study["key_points"])
    assert "quality" in joined and "recovery" in joined


def test_faq_has_answered_bank_and_heading_questions(api: Server) -> None:  # noqa: F811
    texts = Texts(api)
    study = _study(api, doc_id=DA_DOC)
    check_faq(texts, study)
    origins = {item["origin"] for item in study["faq"]}
    assert origins == {"question_bank", "heading"}, study["faq"]
    # "Voksende behov" is a heading of the document; turned into a question, it is answered.
    questions = [item["question"] for item in study["faq"]]
    assert any("voksende behov" in q.lower() for q in questions), questions
    # Every answer's lead quote is from this document.
    assert all(item["citations"][0]["doc_id"] == DA_DOC for item in study["faq"])


def test_quiz_blanks_a_cited_value_with_distractors_of_its_kind(api: Server) -> None:  # noqa: F811
    texts = Texts(api)
    study = _study(api, doc_id=EN_DOC)
    quiz = study["quiz"]
    assert len(quiz) >= 3
    check_quiz(texts, study)
    # Distractors come from the same material: each option occurs in the document's text.
    text = texts[EN_DOC]
    for item in quiz:
        assert all(o in text for o in item["options"]), item
    assert len({item["answer"] for item in quiz}) == len(quiz)


def test_section_scope_stays_in_its_section(api: Server) -> None:  # noqa: F811
    texts = Texts(api)
    with api.client() as c:
        sections = c.get(f"/api/documents/{DA_DOC}").json()["sections"]
    section = next(s for s in sections if s["heading"].endswith("Voksende behov"))
    study = _study(api, doc_id=DA_DOC, section="Voksende behov")
    assert study["scope"]["kind"] == "section" and study["scope"]["title"] == "Voksende behov"
    check_key_points(texts, study)
    check_quiz(texts, study)
    for item in [*study["key_points"], *study["quiz"]]:
        c = item["citation"]
        assert section["start"] <= c["start"] and c["end"] <= section["end"], c


def test_topic_scope_answers_the_bank_questions(api: Server) -> None:  # noqa: F811
    texts = Texts(api)
    with api.client() as c:
        topics = c.get("/api/study/topics").json()
    assert topics and topics[0]["n"] == 1 and topics[0]["questions"]["da"]
    title = topics[1]["title"]["en"]
    study = _study(api, topic=title, language="da")
    assert study["scope"]["kind"] == "topic" and study["scope"]["language"] == "da"
    check_key_points(texts, study)
    check_faq(texts, study)
    check_quiz(texts, study)
    asked = set(topics[1]["questions"]["da"])
    assert study["faq"] and {item["question"] for item in study["faq"]} <= asked
    assert all(item["origin"] == "question_bank" for item in study["faq"])
    # By number it is the same topic.
    assert _study(api, topic="2", language="da")["faq"] == study["faq"]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 422, "study_scope"),
        ({"doc_id": EN_DOC, "topic": "1"}, 422, "study_scope"),
        ({"section": "Growing needs"}, 422, "study_scope"),
        ({"doc_id": "no-such-document"}, 404, "document_not_found"),
        ({"doc_id": EN_DOC, "section": "No such heading"}, 404, "section_not_found"),
        ({"topic": "No such topic"}, 404, "topic_not_found"),
        ({"doc_id": EN_DOC, "language": "de"}, 422, "invalid_request"),
    ],
)
def test_bad_scope_is_refused_clearly(
    api: Server,  # noqa: F811
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    with api.client() as c:
        r = c.get("/api/study", params=params)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"] and body["request_id"]


def test_study_is_documented_in_the_openapi_spec(api: Server) -> None:  # noqa: F811
    with api.client() as c:
        spec = c.get("/openapi.json").json()
    get = spec["paths"]["/api/study"]["get"]
    assert {"200", "404", "422", "503"} <= set(get["responses"])
    assert {p["name"] for p in get["parameters"]} == {"doc_id", "section", "topic", "language"}
    assert "/api/study/topics" in spec["paths"]


# -- the development corpus ------------------------------------------------------------------


@pytest.fixture(scope="module")
def social_dev() -> Server:
    if not SOCIAL_DEV.is_dir():
        pytest.skip(f"{SOCIAL_DEV} is absent (the shared development corpora are not checked out)")
    from evals.stores import bring_up_to_date, scratch_dir
    from ingest.settings import Settings

    # A copy of the evaluation runs' store when there is one (ingestion is incremental, so
    # bringing it up to date embeds nothing), else a fresh one; the copy keeps this server's
    # own files (its database) out of the shared store.
    data_dir = Path(tempfile.mkdtemp(prefix="kva-study-dev-"))
    cached = ROOT / scratch_dir(SOCIAL_DEV)
    if cached.is_dir():
        shutil.copytree(cached, data_dir, dirs_exist_ok=True)
    settings = Settings(data_dir=data_dir, corpus_dir=SOCIAL_DEV)
    bring_up_to_date(settings)
    server = start_server(settings, LogCapture())
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def test_social_dev_documents_give_cited_material(social_dev: Server) -> None:
    texts = Texts(social_dev)
    with social_dev.client() as c:
        documents = c.get("/api/documents").json()["documents"]
    # A few documents of each language, largest first (the most material to choose from).
    chosen: list[str] = []
    for language in ("da", "en"):
        mine = [d for d in documents if d["language"] == language]
        mine.sort(key=lambda d: (-d.get("char_count", 0), d["doc_id"]))
        chosen += [d["doc_id"] for d in mine[:2]]
    assert len(chosen) == 4
    quiz_items = faq_items = 0
    for doc_id in chosen:
        study = _study(social_dev, doc_id=doc_id)
        check_key_points(texts, study)
        check_faq(texts, study)
        check_quiz(texts, study)
        quiz_items += len(study["quiz"])
        faq_items += len(study["faq"])
    assert quiz_items >= 4 and faq_items >= 2, (quiz_items, faq_items)


def test_social_dev_topic_gives_cited_material(social_dev: Server) -> None:
    texts = Texts(social_dev)
    with social_dev.client() as c:
        topics = c.get("/api/study/topics").json()
    answered = 0
    for topic in topics[:3]:
        r = httpx.get(
            f"{social_dev.url}/api/study", params={"topic": str(topic["n"])}, timeout=120
        )
        if r.status_code == 404:  # the bank is written for the seed corpus
            assert r.json()["error"]["code"] == "topic_unanswered"
            continue
        assert r.status_code == 200, r.text
        study = r.json()
        check_key_points(texts, study)
        check_faq(texts, study)
        check_quiz(texts, study)
        answered += 1
    assert answered >= 1
