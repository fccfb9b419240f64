"""Workshop endpoints against a real server on loopback (tests/api_fixtures.py): every endpoint
and every refusal of issue 21 (bad code, wrong or missing token, closed workshop, flood, CPR in a
question, a vote twice, another workshop's question id). The store's own rules are tested on
both database backends in tests/test_db.py.
"""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from api_fixtures import API_KEY, Server, admin_headers, admin_off, api, parse_sse, start_server  # noqa: F401
from sqlalchemy import select, update
from test_db import pg_server_url  # noqa: F401 - the session's PostgreSQL (pgserver)

from assistant.db.schema import now, workshop_questions, workshops

CPR = "010203-1234"


def _create(server: Server, title: str = "Recovery i praksis", language: str = "da") -> dict:
    with server.client() as c:
        r = c.post(
            "/api/workshops", json={"title": title, "language": language}, headers=admin_headers()
        )
    assert r.status_code == 201, r.text
    return r.json()


def _trainer(room: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {room['trainer_token']}"}


def _join(c: httpx.Client, room: dict) -> dict[str, str]:
    r = c.post(f"/api/workshops/{room['code']}/join")
    assert r.status_code == 200, r.text
    return {"X-Participant-Id": r.json()["participant_id"]}


def _ask(c: httpx.Client, room: dict, who: dict[str, str], text: str, **kw: Any) -> httpx.Response:
    return c.post(
        f"/api/workshops/{room['code']}/questions", json={"text": text, **kw}, headers=who
    )


def _error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"] and body["request_id"]
    return body


@pytest.fixture()
def room(api: Server) -> dict:  # noqa: F811
    return _create(api)


# -- create, read, join ----------------------------------------------------------------------


def test_create_returns_code_join_url_and_token(api: Server) -> None:  # noqa: F811
    room = _create(api, "Bostøtte", "en")
    assert len(room["code"]) == 6 and room["code"].isupper()
    assert room["join_url"].endswith(f"?code={room['code']}")
    assert len(room["trainer_token"]) >= 40
    assert room["state"] == "open" and room["language"] == "en" and room["title"] == "Bostøtte"
    assert room["expires_at"] < room["delete_after"]
    with api.client() as c:
        info = c.get(f"/api/workshops/{room['code'].lower()}").json()
    assert info["code"] == room["code"] and "trainer_token" not in info


def test_create_needs_the_admin_key_when_one_is_set(
    api: Server,  # noqa: F811
    admin_off: Server,  # noqa: F811
) -> None:
    body = {"title": "T", "language": "da"}
    with api.client() as c:
        _error(c.post("/api/workshops", json=body), 401, "unauthorized")
        _error(
            c.post("/api/workshops", json=body, headers=admin_headers("wrong")), 401, "unauthorized"
        )
    with admin_off.client() as c:  # no KVA_API_KEY: anyone may start a workshop
        assert c.post("/api/workshops", json=body).status_code == 201
        _error(c.post("/api/workshops", json={"title": " ", "language": "da"}), 422, "empty_title")
        _error(
            c.post("/api/workshops", json={"title": "T", "language": "de"}), 422, "invalid_request"
        )


def test_a_bad_code_is_404_everywhere(api: Server, room: dict) -> None:  # noqa: F811
    with api.client() as c:
        who = _join(c, room)
        for code in ("ZZZZZ9", "bad!", "0O1IL0", "ABCDEFG"):
            _error(c.get(f"/api/workshops/{code}"), 404, "workshop_not_found")
            _error(c.post(f"/api/workshops/{code}/join"), 404, "workshop_not_found")
            _error(_ask(c, {"code": code}, who, "Hvad?"), 404, "workshop_not_found")
            _error(c.get(f"/api/workshops/{code}/questions"), 404, "workshop_not_found")


def test_join_gives_an_anonymous_id_and_a_cookie(api: Server, room: dict) -> None:  # noqa: F811
    with api.client() as c:
        r = c.post(f"/api/workshops/{room['code']}/join")
        assert r.status_code == 200
        pid = r.json()["participant_id"]
        assert len(pid) >= 16 and r.json()["title"] == room["title"]
        assert c.cookies.get("kva_participant") == pid
        # The cookie alone identifies the participant (a browser page needs no header).
        asked = _ask(c, room, {}, "Hvad er recovery?")
        assert asked.status_code == 201 and asked.json()["mine"]
    with api.client() as other:
        _error(_ask(other, room, {}, "Hvad?"), 401, "participant_required")
        _error(
            _ask(other, room, {"X-Participant-Id": "short"}, "Hvad?"), 422, "invalid_participant_id"
        )


# -- questions -------------------------------------------------------------------------------


def test_a_question_is_answered_at_once_with_citations(api: Server, room: dict) -> None:  # noqa: F811
    with api.client() as c:
        who = _join(c, room)
        r = _ask(c, room, who, "Hvad er recovery?", name="Mette")
    assert r.status_code == 201, r.text
    q = r.json()
    assert q["state"] == "pending" and q["mine"] and q["name"] == "Mette"
    assert q["answer_status"] == "answered"
    assert q["answer"]["citations"] and q["answer"]["answer"]
    assert "timings_ms" not in q["answer"]
    with api.client() as c:
        listed = c.get(f"/api/workshops/{room['code']}/questions", headers=_trainer(room)).json()
    stored = listed["questions"][0]
    assert stored["answer"]["citations"] == q["answer"]["citations"]


def test_cpr_numbers_are_masked_before_they_are_stored(api: Server, room: dict) -> None:  # noqa: F811
    with api.client() as c:
        who = _join(c, room)
        r = _ask(c, room, who, f"Borger {CPR} har brug for bostøtte, hvad gør vi?", name=CPR)
    assert r.status_code == 201, r.text
    q = r.json()
    assert CPR not in json.dumps(q) and "******-****" in q["text"]
    assert any("CPR" in w for w in q["warnings"])
    assert any("CPR" in w for w in q["answer"]["warnings"])
    db = api.app.state.workshops.db
    with db.read() as conn:
        row = conn.execute(
            select(
                workshop_questions.c.text, workshop_questions.c.name, workshop_questions.c.answer
            ).where(workshop_questions.c.id == q["id"])
        ).one()
    assert all(CPR not in (value or "") for value in row)


def test_question_limits(api: Server, room: dict) -> None:  # noqa: F811
    limit = api.settings.max_question_chars
    with api.client() as c:
        who = _join(c, room)
        _error(_ask(c, room, who, "   "), 422, "empty_question")
        _error(_ask(c, room, who, "x" * (limit + 1)), 422, "question_too_long")
        _error(_ask(c, room, who, "Hvad?", name="n" * 81), 422, "name_too_long")
        big = c.post(
            f"/api/workshops/{room['code']}/questions",
            content=json.dumps({"text": "x" * 1_100_000}),
            headers={**who, "Content-Type": "application/json"},
        )
        _error(big, 413, "too_large")
    with api.client() as c:
        listed = c.get(f"/api/workshops/{room['code']}/questions", headers=_trainer(room)).json()
    assert listed["questions"] == []  # nothing refused was stored


def test_a_flood_from_one_participant_gets_429(api: Server, room: dict) -> None:  # noqa: F811
    per_minute = api.settings.workshop_questions_per_minute
    with api.client() as c:
        who = _join(c, room)
        for i in range(per_minute):
            assert _ask(c, room, who, f"Spørgsmål nummer {i} om recovery?").status_code == 201
        r = _ask(c, room, who, "Et spørgsmål for meget?")
        body = _error(r, 429, "too_many_questions")
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert "minute" in body["error"]["message"]
        # Another participant in the same room is not held back.
        assert _ask(c, room, _join(c, room), "Hvad er bostøtte?").status_code == 201


def test_participants_see_approved_and_their_own_pending(api: Server, room: dict) -> None:  # noqa: F811
    code = room["code"]
    with api.client() as alice, api.client() as bob, api.client() as anon:
        a, b = _join(alice, room), _join(bob, room)
        qa = _ask(alice, room, a, "Alices spørgsmål om recovery?").json()
        qb = _ask(bob, room, b, "Bobs spørgsmål om bostøtte?").json()
        qh = _ask(alice, room, a, "Et spørgsmål der skjules?").json()
        t = _trainer(room)
        assert (
            alice.post(f"/api/workshops/{code}/questions/{qb['id']}/approve", headers=t).json()[
                "state"
            ]
            == "approved"
        )
        assert (
            alice.post(f"/api/workshops/{code}/questions/{qh['id']}/hide", headers=t).json()[
                "state"
            ]
            == "hidden"
        )

        def texts(c: httpx.Client, who: dict[str, str]) -> list[str]:
            r = c.get(f"/api/workshops/{code}/questions", headers=who)
            assert r.status_code == 200
            return [q["text"] for q in r.json()["questions"]]

        assert texts(alice, a) == [qa["text"], qb["text"]]
        assert texts(bob, b) == [qb["text"]]
        assert texts(anon, {}) == [qb["text"]]
        full = alice.get(f"/api/workshops/{code}/questions", headers=t).json()["questions"]
        assert [(q["text"], q["state"]) for q in full] == [
            (qa["text"], "pending"),
            (qb["text"], "approved"),
            (qh["text"], "hidden"),
        ]
        assert all("votes" in q and "mine" not in q for q in full)


def test_trainer_endpoints_refuse_a_missing_or_wrong_token(api: Server, room: dict) -> None:  # noqa: F811
    other = _create(api, "Another room")
    code = room["code"]
    with api.client() as c:
        q = _ask(c, room, _join(c, room), "Hvad er recovery?").json()
        calls = [
            ("POST", f"/api/workshops/{code}/questions/{q['id']}/approve"),
            ("POST", f"/api/workshops/{code}/questions/{q['id']}/hide"),
            ("POST", f"/api/workshops/{code}/questions/{q['id']}/spotlight"),
            ("DELETE", f"/api/workshops/{code}/questions/{q['id']}/spotlight"),
            ("POST", f"/api/workshops/{code}/questions/{q['id']}/answered"),
            ("DELETE", f"/api/workshops/{code}/questions/{q['id']}/answered"),
            ("POST", f"/api/workshops/{code}/close"),
            ("GET", f"/api/workshops/{code}/export?format=md"),
            ("GET", f"/api/workshops/{code}/questions"),  # with a token: the trainer's list
            ("DELETE", f"/api/workshops/{code}"),
        ]
        for method, url in calls:
            if not url.endswith("/questions"):
                _error(c.request(method, url), 401, "trainer_token_required")
            _error(
                c.request(method, url, headers={"Authorization": "Bearer nope"}),
                401,
                "invalid_trainer_token",
            )
            # Another room's token is just as wrong here; so is the admin key.
            for headers in (_trainer(other), admin_headers()):
                _error(c.request(method, url, headers=headers), 401, "invalid_trainer_token")
        assert c.get(f"/api/workshops/{code}").json()["state"] == "open"  # nothing happened


def test_votes_once_per_participant_and_only_approved(api: Server, room: dict) -> None:  # noqa: F811
    code = room["code"]
    t = _trainer(room)
    with api.client() as c:
        a, b = _join(c, room), _join(c, room)
        q = _ask(c, room, a, "Hvad er recovery?").json()
        _error(
            c.post(f"/api/workshops/{code}/questions/{q['id']}/vote", headers=a),
            409,
            "question_not_approved",
        )
        _error(
            c.post(f"/api/workshops/{code}/questions/{q['id']}/vote", headers=b),
            404,
            "question_not_found",
        )  # Bob cannot see Alice's pending question
        c.post(f"/api/workshops/{code}/questions/{q['id']}/approve", headers=t)
        r = c.post(f"/api/workshops/{code}/questions/{q['id']}/vote", headers=b)
        assert r.status_code == 200 and r.json() == {"id": q["id"], "votes": 1}
        _error(
            c.post(f"/api/workshops/{code}/questions/{q['id']}/vote", headers=b),
            409,
            "already_voted",
        )
        assert (
            c.post(f"/api/workshops/{code}/questions/{q['id']}/vote", headers=a).json()["votes"]
            == 2
        )
        mine = c.get(f"/api/workshops/{code}/questions", headers=b).json()["questions"][0]
        assert mine["voted"] and mine["votes"] == 2 and not mine["mine"]
    with api.client() as fresh:  # no header and no cookie from a join
        _error(
            fresh.post(f"/api/workshops/{code}/questions/{q['id']}/vote"),
            401,
            "participant_required",
        )


def test_another_workshops_question_id_is_404(api: Server, room: dict) -> None:  # noqa: F811
    other = _create(api, "Another room")
    with api.client() as c:
        q = _ask(c, other, _join(c, other), "Hvad er bostøtte?").json()
        c.post(
            f"/api/workshops/{other['code']}/questions/{q['id']}/approve", headers=_trainer(other)
        )
        here = f"/api/workshops/{room['code']}/questions/{q['id']}"
        _error(c.post(f"{here}/vote", headers=_join(c, room)), 404, "question_not_found")
        for action in ("approve", "hide", "spotlight", "answered"):
            _error(c.post(f"{here}/{action}", headers=_trainer(room)), 404, "question_not_found")
        listed = c.get(f"/api/workshops/{room['code']}/questions", headers=_trainer(room))
        assert listed.json()["questions"] == []
        # And the other room's question was left as it was.
        there = c.get(f"/api/workshops/{other['code']}/questions", headers=_trainer(other)).json()
        assert [(x["state"], x["votes"]) for x in there["questions"]] == [("approved", 0)]


def test_moderation_marks(api: Server, room: dict) -> None:  # noqa: F811
    code, t = room["code"], _trainer(room)
    with api.client() as c:
        who = _join(c, room)
        first = _ask(c, room, who, "Hvad er recovery?").json()
        second = _ask(c, room, who, "Hvad er bostøtte?").json()
        base = f"/api/workshops/{code}/questions"
        r = c.post(f"{base}/{first['id']}/spotlight", headers=t).json()
        assert r["spotlight"] and r["state"] == "approved"
        c.post(f"{base}/{second['id']}/spotlight", headers=t)
        marks = {q["id"]: q for q in c.get(base, headers=t).json()["questions"]}
        assert not marks[first["id"]]["spotlight"] and marks[second["id"]]["spotlight"]
        assert not c.delete(f"{base}/{second['id']}/spotlight", headers=t).json()["spotlight"]
        assert c.post(f"{base}/{first['id']}/answered", headers=t).json()["answered"]
        assert not c.delete(f"{base}/{first['id']}/answered", headers=t).json()["answered"]
        # Participants see the marks on approved questions, and the spotlight flag.
        seen = c.get(base, headers=who).json()["questions"]
        assert {q["id"] for q in seen} == {first["id"], second["id"]}


def test_a_closed_or_expired_workshop_refuses_questions_and_votes(
    api: Server,  # noqa: F811
    room: dict,
) -> None:
    code, t = room["code"], _trainer(room)
    with api.client() as c:
        who = _join(c, room)
        q = _ask(c, room, who, "Hvad er recovery?").json()
        c.post(f"/api/workshops/{code}/questions/{q['id']}/approve", headers=t)
        closed = c.post(f"/api/workshops/{code}/close", headers=t)
        assert closed.status_code == 200 and closed.json()["state"] == "closed"
        body = _error(_ask(c, room, who, "Må jeg stadig spørge?"), 409, "workshop_closed")
        assert "closed" in body["error"]["message"]
        _error(
            c.post(f"/api/workshops/{code}/questions/{q['id']}/vote", headers=who),
            409,
            "workshop_closed",
        )
        # Reading, joining, moderation and export still work.
        assert c.get(f"/api/workshops/{code}/questions", headers=who).status_code == 200
        assert c.post(f"/api/workshops/{code}/join").json()["state"] == "closed"
        assert c.get(f"/api/workshops/{code}/export", headers=t).status_code == 200

    late = _create(api, "Expired room")
    db = api.app.state.workshops.db
    with db.write() as conn:
        conn.execute(
            update(workshops)
            .where(workshops.c.code == late["code"])
            .values(expires_at=now() - timedelta(seconds=1))
        )
    with api.client() as c:
        assert c.get(f"/api/workshops/{late['code']}").json()["state"] == "expired"
        _error(_ask(c, late, _join(c, late), "For sent?"), 409, "workshop_expired")


def test_delete_and_retention(api: Server) -> None:  # noqa: F811
    room = _create(api, "To be deleted")
    old = _create(api, "Past retention")
    with api.client() as c:
        _ask(c, room, _join(c, room), "Hvad er recovery?")
        r = c.delete(f"/api/workshops/{room['code']}", headers=_trainer(room))
        assert r.status_code == 204
        _error(c.get(f"/api/workshops/{room['code']}"), 404, "workshop_not_found")
        _error(
            c.get(f"/api/workshops/{room['code']}/questions", headers=_trainer(room)),
            404,
            "workshop_not_found",
        )
    db = api.app.state.workshops.db
    with db.write() as conn:
        conn.execute(
            update(workshops)
            .where(workshops.c.code == old["code"])
            .values(delete_after=now() - timedelta(seconds=1))
        )
    with api.client() as c:
        _error(c.get(f"/api/workshops/{old['code']}"), 404, "workshop_not_found")
    api.app.state.workshops.purge()
    with db.read() as conn:
        codes = set(conn.execute(select(workshops.c.code)).scalars())
    assert room["code"] not in codes and old["code"] not in codes


# -- polling, events, export -----------------------------------------------------------------


def test_lists_are_cheap_to_poll_with_an_etag(api: Server, room: dict) -> None:  # noqa: F811
    url = f"/api/workshops/{room['code']}/questions"
    t = _trainer(room)
    with api.client() as c:
        who = _join(c, room)
        first = c.get(url, headers=t)
        etag = first.headers["ETag"]
        again = c.get(url, headers={**t, "If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        participant = c.get(url, headers=who)
        assert participant.headers["ETag"] != etag  # another viewer, another list
        _ask(c, room, who, "Hvad er recovery?")
        changed = c.get(url, headers={**t, "If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["ETag"] != etag
        assert len(changed.json()["questions"]) == 1
        assert changed.json()["revision"] > first.json()["revision"]


def test_events_stream_a_revision_per_change(api: Server, room: dict) -> None:  # noqa: F811
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def listen() -> None:
        with (
            api.client(timeout=20) as c,
            c.stream("GET", f"/api/workshops/{room['code']}/events") as r,
        ):
            assert r.status_code == 200
            buffer = ""
            for chunk in r.iter_text():
                buffer += chunk
                seen[:] = parse_sse(buffer)
                if sum(1 for name, _ in seen if name == "revision") >= 2:
                    break
        done.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    with api.client() as c:
        _ask(c, room, _join(c, room), "Hvad er recovery?")
    assert done.wait(15), seen
    revisions = [json.loads(data) for name, data in seen if name == "revision"]
    assert revisions[0]["state"] == "open"
    assert revisions[1]["revision"] > revisions[0]["revision"]


def test_export_holds_exactly_the_approved_questions(api: Server, room: dict) -> None:  # noqa: F811
    code, t = room["code"], _trainer(room)
    with api.client() as c:
        who = _join(c, room)
        kept = _ask(c, room, who, "Hvad er recovery?").json()
        _ask(c, room, who, "Et ventende spørgsmål om bostøtte?")
        hidden = _ask(c, room, who, "Et skjult spørgsmål?").json()
        c.post(f"/api/workshops/{code}/questions/{kept['id']}/approve", headers=t)
        c.post(f"/api/workshops/{code}/questions/{hidden['id']}/hide", headers=t)
        url = f"/api/workshops/{code}/export"
        md = c.get(url, params={"format": "md"}, headers=t)
        assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
        assert f"workshop-{code}.md" in md.headers["content-disposition"]
        text = md.text
        assert "Hvad er recovery?" in text and room["title"] in text
        assert "ventende" not in text and "skjult" not in text
        # Its numbered sources, in the chat handout's style (assistant/handout.py).
        first = kept["answer"]["citations"][0]
        assert "Kildeliste" in text and first["title"] in text
        assert f"[{first['n']}]" in text
        csv_rows = (
            c.get(url, params={"format": "csv"}, headers=t).text.lstrip("\ufeff").splitlines()
        )
        assert csv_rows[0].startswith("id,created_at,name,question,votes")
        assert len([r for r in csv_rows[1:] if r.startswith(str(kept["id"]) + ",")]) == 1
        assert "ventende" not in "".join(csv_rows) and "skjult" not in "".join(csv_rows)
        docx = c.get(url, params={"format": "docx"}, headers=t)
        assert docx.status_code == 200 and docx.content[:2] == b"PK"
        from docx import Document

        paragraphs = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
        assert "Hvad er recovery?" in paragraphs and "skjult" not in paragraphs
        pdf = c.get(url, params={"format": "pdf"}, headers=t)
        assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
        _error(c.get(url, params={"format": "odt"}, headers=t), 422, "invalid_request")


def test_every_workshop_endpoint_is_in_the_openapi_spec(api: Server) -> None:  # noqa: F811
    with api.client() as c:
        paths = c.get("/openapi.json").json()["paths"]
    expected = {
        ("post", "/api/workshops"),
        ("get", "/api/workshops/{code}"),
        ("delete", "/api/workshops/{code}"),
        ("post", "/api/workshops/{code}/join"),
        ("post", "/api/workshops/{code}/close"),
        ("get", "/api/workshops/{code}/questions"),
        ("post", "/api/workshops/{code}/questions"),
        ("get", "/api/workshops/{code}/events"),
        ("get", "/api/workshops/{code}/export"),
        ("post", "/api/workshops/{code}/questions/{question_id}/vote"),
        ("post", "/api/workshops/{code}/questions/{question_id}/approve"),
        ("post", "/api/workshops/{code}/questions/{question_id}/hide"),
        ("post", "/api/workshops/{code}/questions/{question_id}/spotlight"),
        ("delete", "/api/workshops/{code}/questions/{question_id}/spotlight"),
        ("post", "/api/workshops/{code}/questions/{question_id}/answered"),
        ("delete", "/api/workshops/{code}/questions/{question_id}/answered"),
    }
    documented = {(m, p) for p, ops in paths.items() for m in ops}
    assert expected <= documented, expected - documented


def test_two_servers_share_one_room_on_postgresql(
    api: Server,  # noqa: F811
    pg_server_url: str,  # noqa: F811
) -> None:
    """KVA_DATABASE_URL=postgresql://…: what one server stores, the other serves (replicas)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from assistant.db.engine import normalise_url

    root = normalise_url(pg_server_url)
    admin = create_engine(root, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "kva_api_replicas" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "kva_api_replicas"'))
    url = make_url(root).set(database="kva_api_replicas").render_as_string(hide_password=False)
    settings = api.settings.model_copy(update={"database_url": url})
    assistant = api.app.state.assistant
    one = start_server(settings, api.logs, assistant=assistant)
    two = start_server(settings, api.logs, assistant=assistant)
    try:
        assert one.app.state.workshops.db.dialect == "postgresql"
        room = _create(one, "Replicas")
        with one.client() as a, two.client() as b:
            who = _join(b, room)  # joined on the second server
            q = _ask(a, room, who, f"Hvad er recovery? {CPR}").json()
            assert q["answer_status"] == "answered" and CPR not in q["text"]
            t = _trainer(room)
            assert b.post(f"/api/workshops/{room['code']}/questions/{q['id']}/approve", headers=t)
            r = a.post(f"/api/workshops/{room['code']}/questions/{q['id']}/vote", headers=who)
            assert r.json()["votes"] == 1
            _error(
                b.post(f"/api/workshops/{room['code']}/questions/{q['id']}/vote", headers=who),
                409,
                "already_voted",
            )
            listed = b.get(f"/api/workshops/{room['code']}/questions", headers=t).json()
            assert [(x["state"], x["votes"]) for x in listed["questions"]] == [("approved", 1)]
            assert b.delete(f"/api/workshops/{room['code']}", headers=t).status_code == 204
            _error(a.get(f"/api/workshops/{room['code']}"), 404, "workshop_not_found")
    finally:
        one.stop()
        two.stop()
        for server in (one, two):
            server.app.state.workshops.db.dispose()
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "kva_api_replicas" WITH (FORCE)'))
        admin.dispose()


def test_an_unreachable_database_is_a_503_not_a_crash(api: Server) -> None:  # noqa: F811
    """The app starts without its database, is not ready and says so per request; answers
    from the store it already has still work."""
    from api_fixtures import free_port

    dead = f"postgresql://kva@127.0.0.1:{free_port()}/kva"  # nothing listens there
    settings = api.settings.model_copy(update={"database_url": dead})
    server = start_server(settings, api.logs, assistant=api.app.state.assistant, ready=False)
    try:
        with server.client() as c:
            ready = c.get("/readyz")
            assert ready.status_code == 503 and "unreachable" in ready.json()["error"]
            r = c.post("/api/workshops", json={"title": "T"}, headers=admin_headers())
            body = _error(r, 503, "database_unavailable")
            assert r.headers["Retry-After"] and "kva@" not in json.dumps(body)
            _error(c.get("/api/workshops/ABCDEF"), 503, "database_unavailable")
            assert c.get("/healthz").status_code == 200
            assert c.post("/api/ask", json={"question": "Hvad er recovery?"}).status_code == 200
    finally:
        server.stop()


def test_a_room_flooded_by_fresh_participant_ids_gets_429(api: Server) -> None:  # noqa: F811
    """Ids are anonymous, so the room has a limit too (30 x the participant's per minute)."""
    from assistant.db.workshops import ROOM_FACTOR

    settings = api.settings.model_copy(update={"workshop_questions_per_minute": 1})
    server = start_server(settings, api.logs, assistant=api.app.state.assistant)
    try:
        room = _create(server, "Busy room")
        with server.client() as c:
            for i in range(ROOM_FACTOR):
                assert _ask(c, room, _join(c, room), f"Spørgsmål {i}?").status_code == 201
            r = _ask(c, room, _join(c, room), "Et for meget?")
            _error(r, 429, "workshop_busy")
            assert 1 <= int(r.headers["Retry-After"]) <= 60
    finally:
        server.stop()
