"""Documents page: the corpus at a glance, reading section by section, admin upload/delete."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from assistant.plain_text import section_label
from ui import common
from ui.api_client import ApiError
from ui.i18n import kind_label, language_label, t
from ui.render import meta_line, passage_html, plain_passage_html, section_at

JOB_POLL_S = 1.0
JOB_WAIT_S = 180.0

lang = common.sidebar_settings()
api = common.client()


def translation_titles(docs: list[dict[str, Any]]) -> dict[str, str]:
    """doc_id -> titles of its counterparts in the other language, whichever side names the link."""
    titles = {d["doc_id"]: d.get("title") or d["doc_id"] for d in docs}
    links: dict[str, list[str]] = {}

    def link(a: str, b: str) -> None:
        if b not in links.setdefault(a, []):
            links[a].append(b)

    for d in docs:
        others = list(d.get("translations") or [])
        if d.get("translation_of"):
            others.append(d["translation_of"])
        for other in others:
            link(d["doc_id"], other)
            link(other, d["doc_id"])
    return {doc_id: "; ".join(titles.get(o, o) for o in others) for doc_id, others in links.items()}


def render_overview(docs: list[dict[str, Any]]) -> None:
    st.caption(t("docs_count", lang, n=len(docs)))
    translations = translation_titles(docs)
    rows = [
        {
            t("col_title", lang): d.get("title"),
            t("col_language", lang): language_label(d.get("language", ""), lang),
            t("col_kind", lang): kind_label(d.get("kind", ""), lang),
            t("col_published", lang): d.get("published") or "–",
            t("col_chunks", lang): d.get("chunk_count"),
            t("col_translation", lang): translations.get(d["doc_id"]) or "–",
        }
        for d in docs
    ]
    # Widths that fit a 1366 px laptop beside the sidebar; a long title wraps into its cell
    # tooltip instead of pushing the translation column out of sight.
    widths = {
        "col_title": 330, "col_language": 75, "col_kind": 85, "col_published": 95,
        "col_chunks": 70, "col_translation": 230,
    }
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={t(k, lang): st.column_config.Column(width=w) for k, w in widths.items()},
    )


def render_reader(docs: list[dict[str, Any]]) -> None:
    st.header(t("read_document", lang))
    ids = [d["doc_id"] for d in docs]
    titles = {d["doc_id"]: d.get("title") or d["doc_id"] for d in docs}
    arriving = st.session_state.pop("doc_view", None)
    if arriving and arriving.get("doc_id") in ids:
        # Coming from a citation: preselect that document once, then let the user move on.
        st.session_state["reader_doc"] = arriving["doc_id"]
        st.session_state["doc_focus"] = arriving
    target = st.session_state.get("doc_focus") or {}
    doc_id = st.selectbox(
        t("choose_document", lang), ids, format_func=lambda d: titles.get(d, d), key="reader_doc"
    )
    if not doc_id:
        return
    try:
        doc = common.document(api, doc_id)
    except ApiError as err:
        st.error(common.error_text(err, lang))
        return
    translations = translation_titles(docs)
    st.markdown(
        '<div class="kva-meta">'
        + meta_line(
            [
                (t("published", lang), doc.get("published")),
                (t("kind", lang), kind_label(doc.get("kind", ""), lang)),
                (t("language", lang), language_label(doc.get("language", ""), lang)),
                (t("publisher", lang), doc.get("publisher")),
                (t("col_translation", lang), translations.get(doc_id)),
            ]
        )
        + "</div>",
        unsafe_allow_html=True,
    )
    text: str = doc.get("text", "")
    sections: list[dict[str, Any]] = doc.get("sections") or []
    if not sections:
        sections = [{"heading": None, "start": 0, "end": len(text), "page": None}]
    focus = target.get("start") if target.get("doc_id") == doc_id else None
    open_at = section_at(sections, focus) if focus is not None else 0
    for i, section in enumerate(sections):
        raw = section.get("heading") or ""
        heading = section_label(doc.get("title", ""), raw) or raw or t("untitled_section", lang)
        if section.get("page") is not None:
            heading += f" ({t('page', lang)} {section['page']})"
        with st.expander(heading, expanded=i == open_at):
            s, e = section.get("start", 0), section.get("end", len(text))
            body = text[s:e]
            if focus is not None and i == open_at:
                end = min(target.get("end", focus), e)
                st.markdown(
                    passage_html(body, focus - s, end - s, window=None), unsafe_allow_html=True
                )
            else:
                st.markdown(plain_passage_html(body), unsafe_allow_html=True)


def wait_for_job(job_id: str, key: str) -> bool:
    """Poll the job until it ends, showing progress; give up politely after JOB_WAIT_S.

    Returns whether the job finished, so the caller can refresh the document list.
    """
    with st.status(t("job_state_queued", lang), expanded=True) as status:
        bar = st.progress(0.0)
        deadline = time.monotonic() + JOB_WAIT_S
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                job = api.job(job_id, key)
            except ApiError as err:
                status.update(label=common.error_text(err, lang), state="error")
                return False
            label, fraction = common.job_label(job, lang)
            status.update(label=label)
            if fraction is not None:
                bar.progress(fraction)
            if job.get("status") in ("done", "failed"):
                break
            time.sleep(JOB_POLL_S)
        else:
            status.update(label=t("job_still_running", lang), state="running")
            return False
        if job.get("status") == "done":
            bar.progress(1.0)
            status.update(label=t("job_done", lang), state="complete")
        else:
            status.update(label=t("job_failed", lang), state="error")
            if job.get("error") or job.get("report"):
                st.json(job.get("error") or job["report"], expanded=False)
    common.forget_documents()
    return job.get("status") == "done"


def flash(message: str, kind: str = "success") -> None:
    """A message that survives the rerun that refreshes the document list."""
    st.session_state["docs_flash"] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop("docs_flash", (None, None))
    if message:
        (st.success if kind == "success" else st.error)(message)


def upload(files: list[Any], key: str, *, replace: bool) -> None:
    payload = [(f.name, f.getvalue(), f.type or "application/octet-stream") for f in files]
    try:
        job_id = api.upload(payload, key, replace=replace)
    except ApiError as err:
        if err.status == 409 and not replace:
            # A name uploaded before: ask, instead of replacing that document silently.
            st.session_state["upload_conflict"] = {
                "files": [f.name for f in files],
                "message": err.message,
            }
        else:
            st.error(common.error_text(err, lang))
        return
    if wait_for_job(job_id, key):
        flash(t("job_done_files", lang, names=", ".join(f.name for f in files)))
        st.session_state["uploads_round"] = st.session_state.get("uploads_round", 0) + 1
        st.rerun()


def offer_replace(files: list[Any] | None, key: str) -> None:
    """After a 409: replace the document uploaded under that name, or keep it."""
    conflict = st.session_state.get("upload_conflict")
    if not conflict:
        return
    if not files or [f.name for f in files] != conflict["files"]:
        st.session_state.pop("upload_conflict", None)  # another choice of files: moot
        return
    # The API names the files it already holds ("a.txt, b.pdf: a file of that name ...").
    message = conflict["message"] or ""
    names = message.split(": ", 1)[0] if ": " in message else ", ".join(conflict["files"])
    st.warning(t("upload_exists", lang, names=names))
    replace_col, keep_col = st.columns(2)
    if replace_col.button(
        t("upload_replace_button", lang), key="upload_replace", icon=":material/sync:"
    ):
        st.session_state.pop("upload_conflict", None)
        if not key:
            st.warning(t("need_key", lang))
        else:
            upload(files, key, replace=True)
    elif keep_col.button(t("upload_keep_button", lang), key="upload_keep"):
        st.session_state.pop("upload_conflict", None)
        st.rerun()


def render_admin(docs: list[dict[str, Any]]) -> None:
    with st.expander(t("admin", lang), icon=":material/key:"):
        # How to switch administration on matters only while it is off.
        st.caption(t("admin_how_on" if common.admin_on() else "admin_how", lang))
        show_flash()
        key = st.text_input(
            t("admin_key", lang), type="password", help=t("admin_key_help", lang), key="admin_key"
        )
        st.markdown(f"**{t('upload_files', lang)}**")
        st.caption(t("upload_limits", lang, mb=common.max_upload_mb()))
        files = st.file_uploader(
            t("upload_files", lang),
            accept_multiple_files=True,
            type=["txt", "md", "pdf", "docx", "html", "htm"],
            # A new key after each successful upload empties the picker.
            key=f"uploads-{st.session_state.get('uploads_round', 0)}",
            label_visibility="collapsed",
        )
        if st.button(t("upload_button", lang), key="upload", icon=":material/upload:"):
            st.session_state.pop("upload_conflict", None)
            if not key:
                st.warning(t("need_key", lang))
            elif not files:
                st.warning(t("need_files", lang))
            else:
                upload(files, key, replace=False)
        offer_replace(files, key)
        st.divider()
        titles = {d["doc_id"]: d.get("title") or d["doc_id"] for d in docs}
        victim = st.selectbox(
            t("delete_document", lang),
            list(titles),
            index=None,
            format_func=lambda d: titles.get(d, d),
            key=f"delete_doc_{lang}",
            placeholder=t("choose_document_placeholder", lang),
        )
        # A new key after each delete: the box comes back unticked. (Popping the old key left
        # the browser showing it ticked while the server read it as unticked.)
        confirm_key = f"delete_confirm-{st.session_state.get('delete_round', 0)}"
        confirmed = st.checkbox(t("delete_confirm", lang), key=confirm_key)
        if st.button(
            t("delete_button", lang), key="delete", disabled=not confirmed, icon=":material/delete:"
        ):
            if not key:
                st.warning(t("need_key", lang))
            elif not victim:
                st.warning(t("need_document", lang))
            else:
                try:
                    api.delete_document(victim, key)
                except ApiError as err:
                    st.error(common.error_text(err, lang))
                else:
                    common.forget_documents()
                    flash(t("deleted", lang, title=titles.get(victim, victim)))
                    st.session_state["delete_round"] = st.session_state.get("delete_round", 0) + 1
                    st.rerun()


st.title(t("docs_title", lang))
st.caption(t("docs_intro", lang))
docs, error = common.documents(api)
if error is not None:
    st.error(common.error_text(error, lang))
elif not docs:
    st.info(t("docs_empty", lang))
else:
    render_overview(docs)
    render_reader(docs)
render_admin(docs)
