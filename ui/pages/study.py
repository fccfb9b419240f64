"""Study material for preparing a session: pick a document or a question-bank topic, get its
key points, questions with cited answers and a short quiz from the API, download it."""

from __future__ import annotations

import streamlit as st

from ui.api_client import ApiError
from ui.common import documents, error_text, sidebar_settings
from ui.study_export import to_markdown
from ui.workshop_client import WorkshopClient
from ui.workshop_i18n import w

lang = sidebar_settings()
api = WorkshopClient()
st.title(w("st_title", lang))
st.write(w("st_intro", lang))

scope = st.radio(
    w("st_scope", lang),
    ["document", "topic"],
    format_func=lambda s: w(f"st_{s}", lang),
    horizontal=True,
    key="st_scope",
)
params: dict[str, str] = {"language": lang}
if scope == "document":
    docs, err = documents(api)
    if err is not None:
        st.error(error_text(err, lang))
        st.stop()
    titles = {d["doc_id"]: d["title"] for d in docs}
    doc_id = st.selectbox(
        w("st_pick_document", lang), list(titles), format_func=titles.get, key="st_doc"
    )
    if doc_id:
        params["doc_id"] = doc_id
else:
    try:
        topics = api.study_topics()
    except ApiError as err:
        st.error(error_text(err, lang))
        st.stop()
    names = {str(t["n"]): t["title"].get(lang) or t["title"].get("da") for t in topics}
    topic = st.selectbox(w("st_pick_topic", lang), list(names), format_func=names.get, key="st_t")
    if topic:
        params["topic"] = topic

if st.button(w("st_build", lang), type="primary", key="st_build"):
    with st.spinner(w("st_building", lang)):
        try:
            st.session_state["st_result"] = api.study(params)
        except ApiError as err:
            st.session_state.pop("st_result", None)
            st.error(error_text(err, lang))

study = st.session_state.get("st_result")
if study:
    st.header(study["scope"]["title"])
    st.download_button(
        w("st_download", lang),
        data=to_markdown(study).encode("utf-8"),
        file_name="study-material.md",
        mime="text/markdown",
        key="st_download",
    )
    # st.text keeps a document's markup (headings, links) inert here.
    st.subheader(w("st_key_points", lang))
    for p in study["key_points"]:
        with st.container(border=True):
            st.text(p["text"])
            st.caption(p["citation"]["title"])
    st.subheader(w("st_faq", lang))
    for item in study["faq"]:
        with st.expander(item["question"]):
            st.text(item["answer"])
            st.caption(" · ".join(dict.fromkeys(c["title"] for c in item["citations"])))
    st.subheader(w("st_quiz", lang))
    for i, q in enumerate(study["quiz"], 1):
        with st.container(border=True):
            st.text(f"{i}. {q['prompt']}")
            st.caption(f"{w('st_options', lang)}: {' / '.join(q['options'])}")
            with st.expander(w("st_answer", lang)):
                st.text(q["answer"])
                st.caption(q["citation"]["title"])
    if not (study["key_points"] or study["faq"] or study["quiz"]):
        st.write(w("st_none", lang))
