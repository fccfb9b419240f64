"""The participant's workshop page, at the join URL (``/workshop?code=CODE``), made for phones:
ask a question, see the approved questions with their cited answers, vote. It speaks the
workshop's language and shows nothing of the trainer's controls (no sidebar, no navigation).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.api_client import ApiError
from ui.common import error_text, inject_css
from ui.i18n import DEFAULT_LANG
from ui.workshop_client import WorkshopClient
from ui.workshop_i18n import w
from ui.workshop_view import CSS, PHONE_CSS, answer_html, question_html

POLL_S = 3.0  # phones need not be as quick as the trainer's screen

inject_css()
st.markdown(CSS + PHONE_CSS, unsafe_allow_html=True)
api = WorkshopClient()


def _enter_code(lang: str, message: str | None = None) -> None:
    if message:
        st.error(message)
    with st.form("ws_code"):
        code = st.text_input(w("ws_enter_code", lang), max_chars=12)
        if st.form_submit_button(w("ws_join_button", lang), type="primary") and code.strip():
            st.query_params["code"] = code.strip().upper()
            st.rerun()


def _joined(code: str) -> dict[str, Any] | None:
    """This browser's participant id for the room (one join per session and room)."""
    seats: dict[str, dict[str, Any]] = st.session_state.setdefault("ws_seats", {})
    if code not in seats:
        try:
            seats[code] = api.join(code)
        except ApiError as err:
            lang = st.session_state.get("lang", DEFAULT_LANG)
            _enter_code(
                lang, w("ws_not_found", lang) if err.kind == "not_found" else error_text(err, lang)
            )
            return None
    return seats[code]


def _vote(code: str, participant_id: str, question_id: int, lang: str) -> None:
    try:
        api.vote(code, participant_id, question_id)
    except ApiError as err:
        st.session_state["ws_vote_error"] = error_text(err, lang)


@st.fragment(run_every=POLL_S)
def _room(code: str, participant_id: str, lang: str) -> None:
    cached = st.session_state.get("ws_plist")
    try:
        body, etag = api.questions(
            code, participant_id=participant_id, etag=cached[0] if cached else None
        )
    except ApiError as err:
        st.error(error_text(err, lang))
        return
    if body is None and cached:
        body = cached[1]
    else:
        st.session_state["ws_plist"] = (etag, body)
    assert body is not None
    error = st.session_state.pop("ws_vote_error", None)
    if error:
        st.error(error)
    open_ = body["workshop"]["state"] == "open"
    if not open_:
        st.info(w("ws_closed", lang))
    st.subheader(w("ws_room_questions", lang))
    questions = body["questions"]
    mine_pending = [q for q in questions if q["state"] != "approved"]
    approved = sorted(
        (q for q in questions if q["state"] == "approved"), key=lambda q: (-q["votes"], q["id"])
    )
    if not approved:
        st.write(w("ws_room_empty", lang))
    for q in approved:
        with st.container(border=True, key=f"ws_p_{q['id']}"):
            st.markdown(question_html(q, lang), unsafe_allow_html=True)
            label = "ws_voted" if q.get("voted") else "ws_vote"
            st.button(
                w(label, lang, n=q["votes"]),
                key=f"ws_vote_{q['id']}",
                disabled=bool(q.get("voted")) or not open_,
                on_click=_vote,
                args=(code, participant_id, q["id"], lang),
                icon=":material/thumb_up:",
            )
            with st.expander(w("ws_show_answer", lang)):
                st.markdown(answer_html(q, lang), unsafe_allow_html=True)
    for q in mine_pending:
        with st.container(border=True, key=f"ws_p_{q['id']}"):
            st.caption(w("ws_mine_pending", lang))
            st.markdown(question_html(q, lang), unsafe_allow_html=True)


def _ask(code: str, participant_id: str, lang: str) -> None:
    with st.form("ws_ask", clear_on_submit=True):
        text = st.text_area(w("ws_question_label", lang), max_chars=2000, height=100)
        name = st.text_input(w("ws_name_label", lang), max_chars=80)
        st.caption(w("ws_no_personal", lang))
        if st.form_submit_button(w("ws_ask_button", lang), type="primary", width="stretch"):
            if not text.strip():
                st.warning(w("ws_empty_question", lang))
                return
            try:
                sent = api.ask(code, participant_id, text.strip(), name.strip() or None)
            except ApiError as err:
                st.error(error_text(err, lang))
                return
            st.success(w("ws_sent", lang))
            for warning in sent.get("warnings") or []:
                st.warning(warning)


code = str(st.query_params.get("code") or "").strip().upper()
if not code:
    _enter_code(st.session_state.get("lang", DEFAULT_LANG))
else:
    seat = _joined(code)
    if seat is not None:
        lang = seat["language"]
        st.markdown(f"### {seat['title']}")
        st.caption(f"{w('ws_code_label', lang)}: {seat['code']}")
        _ask(seat["code"], seat["participant_id"], lang)
        _room(seat["code"], seat["participant_id"], lang)
