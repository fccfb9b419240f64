"""The trainer's workshop page: start a room, show its code and QR code, moderate the questions
as they arrive (polled every second with the list's ETag), put one on the projector with its
cited answer and source, close the room and export it. Everything goes through the API.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.api_client import ApiError
from ui.common import error_text, sidebar_settings
from ui.workshop_client import Action, WorkshopClient
from ui.workshop_i18n import w
from ui.workshop_view import CSS, answer_html, qr_png, question_html, spotlight_html

POLL_S = 0.5  # new questions must reach this screen within 3 s; a 304 costs one query
EXPORTS = {
    "md": "text/markdown",
    "docx": "application/octet-stream",
    "pdf": "application/pdf",
    "csv": "text/csv",
}

ui_lang = sidebar_settings()
st.markdown(CSS, unsafe_allow_html=True)
api = WorkshopClient()
room: dict[str, Any] | None = st.session_state.get("ws_room")


def _start() -> None:
    st.title(w("ws_trainer_title", ui_lang))
    st.write(w("ws_start_intro", ui_lang))
    with st.form("ws_start"):
        title = st.text_input(w("ws_title_label", ui_lang), max_chars=200)
        language = st.radio(
            w("ws_language_label", ui_lang),
            ["da", "en"],
            index=["da", "en"].index(ui_lang),
            format_func=lambda c: {"da": "Dansk", "en": "English"}[c],
            horizontal=True,
        )
        key = st.text_input(w("ws_admin_key", ui_lang), type="password")
        if st.form_submit_button(w("ws_start_button", ui_lang), type="primary"):
            if not title.strip():
                st.error(w("ws_title_missing", ui_lang))
            else:
                try:
                    created = api.create(title.strip(), language, key or None)
                except ApiError as err:
                    st.error(error_text(err, ui_lang))
                else:
                    st.session_state["ws_room"] = created
                    st.rerun()
    with st.expander(w("ws_resume", ui_lang)), st.form("ws_resume"):
        code = st.text_input(w("ws_code_label", ui_lang)).strip().upper()
        token = st.text_input(w("ws_token_label", ui_lang), type="password").strip()
        if st.form_submit_button(w("ws_resume_button", ui_lang)) and code and token:
            try:
                # The trainer's list needs the token: a wrong one is refused here.
                body, _ = api.questions(code, token=token)
            except ApiError as err:
                st.error(error_text(err, ui_lang))
            else:
                assert body is not None
                st.session_state["ws_room"] = {**body["workshop"], "trainer_token": token}
                st.rerun()


def _fetch(room: dict[str, Any]) -> dict[str, Any] | None:
    """The trainer's list, fetched again only when its ETag changed."""
    cached = st.session_state.get("ws_list")
    etag = cached[0] if cached and cached[1]["workshop"]["code"] == room["code"] else None
    try:
        body, etag = api.questions(room["code"], token=room["trainer_token"], etag=etag)
    except ApiError as err:
        st.error(error_text(err, room["language"]))
        return cached[1] if cached else None
    if body is not None:
        st.session_state["ws_list"] = (etag, body)
        return body
    return cached[1] if cached else None


def _act(room: dict[str, Any], question_id: int, action: Action) -> None:
    try:
        api.moderate(room["code"], room["trainer_token"], question_id, action)
    except ApiError as err:
        st.session_state["ws_error"] = error_text(err, room["language"])


def _header(room: dict[str, Any], lang: str, big: bool) -> None:
    left, right = st.columns([3, 2] if big else [4, 1])
    with left:
        st.markdown(f"## {room['title']}" if not big else f"# {room['title']}")
        st.markdown(
            f"<div class='ws-join'>{w('ws_join_at', lang)}: {room['join_url']}</div>"
            f"<div class='ws-code' data-code='{room['code']}'>{room['code']}</div>",
            unsafe_allow_html=True,
        )
    with right:
        st.image(qr_png(room["join_url"]), width=420 if big else 180)


@st.fragment(run_every=POLL_S)
def _live(room: dict[str, Any]) -> None:
    lang = room["language"]
    body = _fetch(room)
    if body is None:
        return
    questions: list[dict[str, Any]] = body["questions"]
    if body["workshop"]["state"] != "open":
        st.info(w("ws_closed", lang))
    if st.session_state.get("ws_projector"):
        spot = next((q for q in questions if q.get("spotlight")), None)
        st.markdown(spotlight_html(spot, lang), unsafe_allow_html=True)
        return
    error = st.session_state.pop("ws_error", None)
    if error:
        st.error(error)
    counts = {s: sum(q["state"] == s for q in questions) for s in ("pending", "approved", "hidden")}
    st.subheader(w("ws_queue", lang))
    st.caption(w("ws_counts", lang, **counts))
    if not questions:
        st.write(w("ws_queue_empty", lang))
    # Pending first (they need the trainer), then by votes, newest first.
    order = {"pending": 0, "approved": 1, "hidden": 2}
    for q in sorted(questions, key=lambda q: (order[q["state"]], -q["votes"], -q["id"])):
        with st.container(border=True, key=f"ws_q_{q['id']}"):
            st.markdown(question_html(q, lang, trainer=True), unsafe_allow_html=True)
            buttons = st.columns(4)
            actions: list[tuple[str, Action, bool]] = [
                ("ws_approve", "approve", q["state"] != "approved"),
                ("ws_hide", "hide", q["state"] != "hidden"),
                (
                    "ws_unspotlight" if q["spotlight"] else "ws_spotlight",
                    "unspotlight" if q["spotlight"] else "spotlight",
                    q["state"] != "hidden" or not q["spotlight"],
                ),
                ("ws_answered", "answered", not q["answered"]),
            ]
            for column, (label, action, enabled) in zip(buttons, actions, strict=True):
                column.button(
                    w(label, lang),
                    key=f"ws_{action}_{q['id']}",
                    disabled=not enabled,
                    on_click=_act,
                    args=(room, q["id"], action),
                    width="stretch",
                )
            with st.expander(w("ws_show_answer", lang)):
                st.markdown(answer_html(q, lang), unsafe_allow_html=True)


def _export(room: dict[str, Any], lang: str) -> None:
    st.subheader(w("ws_export", lang))
    fmt = st.selectbox(w("ws_export_format", lang), list(EXPORTS), key="ws_export_fmt")
    if st.button(w("ws_export_prepare", lang), key="ws_export_prepare"):
        try:
            st.session_state["ws_export"] = (
                fmt,
                api.export(room["code"], room["trainer_token"], fmt),
            )
        except ApiError as err:
            st.error(error_text(err, lang))
    ready = st.session_state.get("ws_export")
    if ready:
        name = f"workshop-{room['code']}.{ready[0]}"
        st.download_button(
            w("ws_export_download", lang, name=name),
            data=ready[1],
            file_name=name,
            mime=EXPORTS[ready[0]],
            key="ws_export_download",
            on_click="ignore",  # downloading changes nothing on the page
        )


def _token(room: dict[str, Any], lang: str) -> None:
    """The trainer token, folded away: whoever sees the trainer's screen (it is often on the
    projector before the projector view is switched on) must not see it unasked."""
    with st.expander(w("ws_token_show", lang), icon=":material/key:"):
        st.caption(w("ws_token_help", lang))
        st.code(room["trainer_token"], language=None)  # with Streamlit's copy button


def _running(room: dict[str, Any]) -> None:
    lang = room["language"]
    projector = st.toggle(
        w("ws_projector", lang), key="ws_projector", help=w("ws_projector_help", lang)
    )
    _header(room, lang, big=not projector)
    _live(room)
    if projector:
        return
    st.divider()
    _export(room, lang)
    st.divider()
    _token(room, lang)
    left, right = st.columns(2)
    if left.button(w("ws_close", lang), key="ws_close_button"):
        try:
            st.session_state["ws_room"] = {**room, **api.close(room["code"], room["trainer_token"])}
        except ApiError as err:
            st.error(error_text(err, lang))
        st.rerun()
    if right.button(w("ws_leave", lang), key="ws_leave_button"):
        for key in ("ws_room", "ws_list", "ws_export"):
            st.session_state.pop(key, None)
        st.rerun()


if room is None:
    _start()
else:
    _running(room)
