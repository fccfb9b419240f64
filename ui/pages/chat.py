"""The chat page: ask, read the streamed answer, open its sources, give feedback, export."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import date
from typing import Any

import streamlit as st

from assistant.guard import contains_cpr, mask_cpr
from assistant.handout import FORMATS, build_handout
from assistant.plain_text import section_label
from ui import common
from ui.api_client import ApiClient, ApiError
from ui.i18n import STARTER_QUESTIONS, fallback_label, kind_label, language_label, t
from ui.render import (
    SOURCE_SCRIPT,
    abstain_html,
    answer_markup,
    card_markup,
    find_quote,
    meta_line,
    passage_html,
    plain_passage_html,
    show_turn_script,
)

HISTORY_TURNS = 8

lang = common.sidebar_settings()
api = common.client()
st.session_state.setdefault("messages", [])
messages: list[dict[str, Any]] = st.session_state["messages"]


def build_filters(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Sidebar filters; only the ones the user set are sent, so the API default stays 'all'."""
    st.subheader(t("filters", lang))
    # The browser keeps a keyed widget's formatted labels, so widgets whose labels are translated
    # get one key per UI language; the choice itself lives in a plain session key.
    languages = ["", "da", "en"]
    doc_lang = st.selectbox(
        t("filter_language", lang),
        options=languages,
        index=languages.index(st.session_state.get("_filter_language", "")),
        format_func=lambda c: language_label(c, lang) if c else t("filter_language_all", lang),
        key=f"filter_language_{lang}",
    )
    st.session_state["_filter_language"] = doc_lang
    kinds = sorted({d.get("kind") for d in docs if d.get("kind")})
    chosen_kinds = st.multiselect(
        t("filter_kind", lang),
        kinds,
        default=[k for k in st.session_state.get("_filter_kind", []) if k in kinds],
        format_func=lambda k: kind_label(k, lang),
        key=f"filter_kind_{lang}",
        placeholder=t("choose", lang),
    )
    st.session_state["_filter_kind"] = chosen_kinds
    titles = {d["doc_id"]: d.get("title") or d["doc_id"] for d in docs}
    chosen_docs = st.multiselect(
        t("filter_docs", lang),
        list(titles),
        format_func=lambda d: titles.get(d, d),
        key="filter_docs",
        placeholder=t("choose", lang),
    )
    filters: dict[str, Any] = {}
    if doc_lang:
        filters["language"] = doc_lang
    if chosen_kinds:
        filters["kind"] = chosen_kinds
    if chosen_docs:
        filters["doc_ids"] = chosen_docs
    return filters


def history_payload() -> list[dict[str, str]]:
    turns: list[dict[str, str]] = []
    for msg in messages:
        if msg.get("error"):
            continue
        turns.append({"role": msg["role"], "content": msg["content"]})
    return turns[-HISTORY_TURNS:]


def answer_stream(client: ApiClient, payload: dict[str, Any], out: dict[str, Any]) -> Iterator[str]:
    """Yield text pieces for st.write_stream and keep the final Answer JSON in ``out``."""
    streamed = False
    for event in client.ask_stream(payload):
        if event.event == "delta":
            piece = event.data.get("text", "") if isinstance(event.data, dict) else str(event.data)
            streamed = True
            yield piece
        elif event.event == "citations":
            out["citations"] = event.data
        elif event.event == "done":
            out["answer"] = event.data
    if not streamed and "answer" in out:
        yield out["answer"].get("answer", "")


def ask(question: str, filters: dict[str, Any]) -> None:
    # The API gets the question as typed (it masks CPR numbers itself and warns about them);
    # the conversation keeps, shows, exports and resends only the masked text, so the number
    # is gone from the screen and the handouts, and later turns do not repeat the warning.
    had_cpr = contains_cpr(question)
    shown = mask_cpr(question)
    payload: dict[str, Any] = {"question": question, "history": history_payload()}
    if filters:
        payload["filters"] = filters
    messages.append({"role": "user", "content": shown})
    with st.chat_message("user"):
        st.text(shown)
    with st.chat_message("assistant"):
        out: dict[str, Any] = {}
        live = st.empty()
        try:
            with live.container(), st.spinner(t("thinking", lang)):
                st.write_stream(answer_stream(api, payload, out))
            if "answer" not in out:
                raise ApiError("server", "no answer in stream")
        except ApiError as err:
            msg = {
                "role": "assistant",
                "content": "",
                "error": err.kind,
                "error_text": common.error_text(err, lang),
                "question": shown,
                "history": payload["history"],
                "cpr": had_cpr,
            }
        else:
            answer = out["answer"]
            msg = {
                "role": "assistant",
                "content": answer.get("answer", ""),
                "answer": answer,
                "question": shown,
                "history": payload["history"],
                "cpr": had_cpr,
            }
        messages.append(msg)
        # Swap the raw stream for the finished answer (markers, sources, feedback) in place,
        # instead of st.rerun(), so the page does not flash and keeps its sidebar state.
        live.empty()
        with live.container():
            render_assistant(len(messages) - 1, msg)
            if st.session_state.get("present"):
                # The room reads the question with its answer: bring the question to the top.
                st.html(show_turn_script(len(messages)), unsafe_allow_javascript=True)
    st.session_state.pop("selected", None)


def new_conversation() -> None:
    messages.clear()
    st.session_state.pop("selected", None)


def select_source(source: dict[str, Any], key: str) -> None:
    st.session_state["selected"] = source
    st.session_state["selected_key"] = key


def send_feedback(i: int, msg: dict[str, Any]) -> None:
    comment = st.session_state.get(f"comment-{i}") or None
    payload = {
        "question": msg.get("question", ""),
        "answer": msg["content"],
        "rating": msg["rating"],
        "comment": comment,
    }
    if msg.get("history"):
        # A follow-up means nothing without what came before; evaluators need it as a case.
        payload["history"] = msg["history"]
    try:
        api.feedback(payload)
    except ApiError:
        msg["feedback_failed"] = True
    else:
        msg.update(feedback_sent=True, feedback_failed=False)


def render_feedback(i: int, msg: dict[str, Any]) -> None:
    if st.session_state.get("present"):  # the projector shows the question and its answer only
        return
    if msg.get("feedback_sent"):
        st.caption(":material/check: " + t("feedback_thanks", lang))
        return
    row = st.container(horizontal=True, vertical_alignment="center")
    for rating, icon in (("up", "thumb_up"), ("down", "thumb_down")):
        row.button(
            t(f"feedback_{rating}", lang),
            key=f"{rating}-{i}",
            icon=f":material/{icon}:",
            type="primary" if msg.get("rating") == rating else "secondary",
            on_click=msg.update,
            kwargs={"rating": rating},
        )
    if not msg.get("rating"):
        row.caption(t("feedback_prompt", lang))
        return
    st.text_input(t("feedback_comment", lang), key=f"comment-{i}")
    st.button(t("feedback_send", lang), key=f"send-{i}", on_click=send_feedback, args=(i, msg))
    if msg.get("feedback_failed"):
        st.warning(t("feedback_failed", lang))


def render_warnings(msg: dict[str, Any]) -> None:
    """The API's warnings for this turn, as a visible warning; a CPR number always gets one."""
    warnings = list((msg.get("answer") or {}).get("warnings") or [])
    if msg.get("cpr") and not warnings:
        warnings.append(t("cpr_warning", lang))
    for warning in warnings:
        st.warning(warning, icon=":material/warning:")


def render_other_versions(answer: dict[str, Any]) -> None:
    versions = [v for v in answer.get("other_versions") or [] if isinstance(v, dict)]
    if not versions:
        return
    names = "; ".join(
        f"{v.get('title') or v.get('doc_id')} ({language_label(v.get('language', ''), lang)})"
        for v in versions
    )
    st.markdown(
        f'<div class="kva-versions">{html.escape(t("other_versions", lang, names=names))}</div>',
        unsafe_allow_html=True,
    )


def render_fell_back(answer: dict[str, Any]) -> None:
    """A generative answer that fell back to quotes says so, discreetly: the reader should know
    the text is quoted, not written, and an evaluator why. (A declined question is shown as
    declined; how the model failed does not change that.)"""
    if not answer.get("fell_back") or answer.get("abstained"):
        return
    reason = fallback_label(answer.get("fallback_reason"), lang)
    st.caption(":material/format_quote: " + t("fell_back", lang, reason=reason))


def card_source(cite: dict[str, Any], answer: dict[str, Any]) -> str:
    """The line under a quote of the answer card: its document and section, and where it comes
    from when it is in the other language than the answer."""
    title = str(cite.get("title") or cite.get("doc_id") or "")
    source = title
    if sub := section_label(title, cite.get("section")):
        source += f" – {sub}"
    quote_lang = cite.get("language")
    if quote_lang in ("da", "en") and quote_lang != (answer.get("language") or lang):
        return t(f"quote_from_{quote_lang}", lang, source=source)
    return source


def render_assistant(i: int, msg: dict[str, Any]) -> None:
    if msg.get("error"):
        render_warnings(msg)
        st.error(msg.get("error_text") or t("err_server", lang, message=msg["error"]))
        return
    answer = msg["answer"]
    render_warnings(msg)
    render_fell_back(answer)
    if answer.get("abstained"):
        st.markdown(
            # Headed in the answer's language, so it reads as one message with the text below.
            abstain_html(
                t("abstained_title", answer.get("language") or lang), answer.get("answer", "")
            ),
            unsafe_allow_html=True,
        )
        related = answer.get("related") or []
        st.markdown(f"**{t('closest_passages', lang)}**")
        if not related:
            st.caption(t("no_related", lang))
        for j, passage in enumerate(related):
            label = passage.get("title", "")
            if sub := section_label(label, passage.get("section")):
                label += f" – {sub}"
            st.button(
                label,
                key=f"rel-{i}-{j}",
                icon=":material/search:",
                on_click=select_source,
                args=({**passage, "quote": passage.get("text", "")}, f"rel-{i}-{j}"),
            )
    else:
        citations = answer.get("citations") or []
        cited = {int(c["n"]) for c in citations if isinstance(c.get("n"), int)}
        card = card_markup(answer, lambda c: card_source(c, answer), i)
        if card is None:  # a generative answer (or an API from before the card): its text
            card = answer_markup(answer.get("answer", ""), i, cited)
        st.markdown(card, unsafe_allow_html=True)
        if citations:
            st.caption(t("sources", lang))
            for cite in citations:
                label = f"[{cite.get('n')}] {cite.get('title', '')}"
                if sub := section_label(cite.get("title", ""), cite.get("section")):
                    label += f" – {sub}"
                key = f"cite-{i}-{cite.get('n')}"
                st.button(label, key=key, on_click=select_source, args=(cite, key))
        render_other_versions(answer)
    render_feedback(i, msg)


def render_source_panel(docs: list[dict[str, Any]]) -> None:
    st.header(t("source_panel", lang))
    source = st.session_state.get("selected")
    if not source:
        st.caption(t("source_panel_empty", lang))
        return
    doc_id = source["doc_id"]
    meta = next((d for d in docs if d.get("doc_id") == doc_id), {})
    st.markdown(f"### {source.get('title') or meta.get('title') or doc_id}")
    st.markdown(
        '<div class="kva-meta">'
        + meta_line(
            [
                (t("published", lang), meta.get("published")),
                (t("kind", lang), kind_label(meta["kind"], lang) if meta.get("kind") else None),
                (t("language", lang), language_label(source.get("language", ""), lang)),
                (t("section", lang), source.get("section")),
                (t("page", lang), source.get("page")),
            ]
        )
        + "</div>",
        unsafe_allow_html=True,
    )
    try:
        doc = common.document(api, doc_id)
    except ApiError as err:
        st.warning(common.error_text(err, lang))
        st.markdown(plain_passage_html(source.get("quote", "")), unsafe_allow_html=True)
        return
    text = doc.get("text", "")
    start, end = find_quote(text, source.get("quote", ""), source["start"], source["end"])
    st.markdown(
        passage_html(text, start, end, source_key=st.session_state.get("selected_key")),
        unsafe_allow_html=True,
    )
    with st.expander(t("read_whole_document", lang)):
        st.markdown(passage_html(text, start, end, window=None), unsafe_allow_html=True)
    if st.button(t("open_in_documents", lang), key="open-doc"):
        st.session_state["doc_view"] = {"doc_id": doc_id, "start": start, "end": end}
        st.switch_page("pages/documents.py")


def render_question_bank() -> str | None:
    with st.expander(t("question_bank", lang), expanded=False, icon=":material/school:"):
        help_text = t("question_bank_help", lang)
        if not st.session_state.get("present"):  # for whoever maintains the list, not the room
            help_text += " " + t("question_bank_edit", lang)
        st.caption(help_text)
        bank, err = common.question_bank(api)
        if err is not None:
            if err.status == 503:  # the API could not read the file: say what is wrong with it
                reason = err.message.removeprefix("The question bank: ")
                st.warning(t("question_bank_broken", lang, error=reason))
            else:
                st.warning(common.error_text(err, lang))
            return None
        # A topic without questions in the UI's language is left out; an untitled one numbered.
        topics = [
            (topic["title"].get(lang) or str(topic["n"]), topic["questions"].get(lang) or [])
            for topic in bank
        ]
        topics = [(title, questions) for title, questions in topics if questions]
        if not topics:
            st.caption(t("question_bank_empty", lang))
            return None
        chosen = None
        tabs = st.tabs([title for title, _ in topics])
        for k, (tab, (_, questions)) in enumerate(zip(tabs, topics, strict=True)):
            with tab:
                for j, q in enumerate(questions):
                    if st.button(q, key=f"bank-{lang}-{k}-{j}"):
                        chosen = q
    return chosen


def render_export(docs: list[dict[str, Any]]) -> None:
    st.subheader(t("export_heading", lang))
    if not any(m.get("answer") for m in messages):
        st.caption(t("export_empty", lang))
        return
    handout = build_handout(messages, lang, {d["doc_id"]: d for d in docs}, date.today())
    stem = f"kvalitetsassistenten-{handout.day.isoformat()}"
    for fmt, (mime, render) in FORMATS.items():
        st.download_button(
            t(f"export_{fmt}", lang),
            render(handout),
            file_name=f"{stem}.{fmt}",
            mime=mime,
            key=f"dl-{fmt}",
            icon=":material/download:",
            # No rerun on click: a rerun replaces the file URL and can cancel the download.
            on_click="ignore",
        )


docs, docs_error = common.documents(api)

with st.sidebar:
    st.button(
        t("new_conversation", lang),
        key="new-conversation",
        icon=":material/restart_alt:",
        on_click=new_conversation,
    )
    filters = build_filters(docs)
    # Filled last, so an answer given in this very run is already in the handout.
    export_box = st.container()

st.title(t("app_title", lang))
st.html(SOURCE_SCRIPT, unsafe_allow_javascript=True)
st.caption(t("tagline", lang))
st.info(t("privacy_notice", lang), icon=":material/lock:")
if docs_error is not None:
    st.error(common.error_text(docs_error, lang))

question = st.chat_input(t("chat_placeholder", lang), key="chat-input")
# Presentation mode gives the sources as much room as the answer: both are read from afar.
left, right = st.columns([1, 1] if st.session_state.get("present") else [3, 2], gap="large")
with left:
    bank_question = render_question_bank()
    question = question or bank_question
    starters = st.empty()
    if not messages:
        with starters.container():
            st.markdown(f"**{t('starter_heading', lang)}**")
            for k, starter in enumerate(STARTER_QUESTIONS[lang]):
                if st.button(starter, key=f"starter-{k}"):
                    question = starter
    for i, msg in enumerate(messages):
        with st.chat_message(msg["role"]):
            if msg["role"] == "user":
                st.text(msg["content"])
            else:
                render_assistant(i, msg)
    if question:
        starters.empty()
        ask(question, filters)
with right:
    render_source_panel(docs)
with export_box:
    render_export(docs)
