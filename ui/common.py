"""Session helpers shared by the pages: current language, API client, error wording, CSS."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from ui.api_client import ApiClient, ApiError
from ui.i18n import DEFAULT_LANG, STRINGS, t
from ui.render import BASE_CSS, PRESENTATION_CSS, a11y_script

DOCS_TTL_S = 60.0


def lang() -> str:
    return st.session_state.get("lang", DEFAULT_LANG)


def client() -> ApiClient:
    # Built per run: cheap, and it picks up API_URL / test transports without a restart.
    return ApiClient()


def error_text(err: ApiError, language: str) -> str:
    if err.kind == "down":
        return t("err_down", language)
    if err.kind == "timeout":
        return t("err_timeout", language)
    if err.kind == "auth":
        return t("err_auth", language)
    if err.kind == "not_found":
        return t("err_not_found", language)
    if err.kind == "rejected":
        return t("err_rejected", language, message=err.message)
    return t("err_server", language, message=err.message)


def _cached(
    name: str, fetch: Callable[[], list[dict[str, Any]]], refresh: bool = False
) -> tuple[list[dict[str, Any]], ApiError | None]:
    """``fetch()``, kept briefly per session so every rerun does not ask the API again."""
    cached = st.session_state.get(name)
    if cached and not refresh and time.monotonic() - cached[0] < DOCS_TTL_S:
        return cached[1], None
    try:
        value = fetch()
    except ApiError as err:
        return [], err
    st.session_state[name] = (time.monotonic(), value)
    return value, None


def documents(
    api: ApiClient, refresh: bool = False
) -> tuple[list[dict[str, Any]], ApiError | None]:
    """The corpus overview."""
    return _cached("_docs", api.documents, refresh)


def question_bank(api: ApiClient) -> tuple[list[dict[str, Any]], ApiError | None]:
    """The trainers' question bank, every topic in both languages (``GET /api/study/topics``)."""
    return _cached("_bank", api.study_topics)


def max_upload_mb() -> str:
    """The API's upload limit as the admin sees it ("50"); the same ``KVA_*`` settings object."""
    from ingest.settings import get_settings

    limit = min(get_settings().max_upload_mb, get_settings().max_file_mb)
    return f"{limit:g}"


def admin_on() -> bool:
    """Whether administration is switched on: the API and the UI start with the same
    ``KVA_API_KEY`` (make run, scripts/start.sh)."""
    from ingest.settings import get_settings

    return bool(get_settings().api_key)


def job_label(job: dict[str, Any], language: str) -> tuple[str, float | None]:
    """What the job is doing, in words, and how far it has come (0–1) when that is known."""
    state = str(job.get("status") or "queued")
    progress = job.get("progress") if isinstance(job.get("progress"), dict) else {}
    stage = str(progress.get("stage") or "")
    done, total = progress.get("done"), progress.get("total")
    fraction = None
    if isinstance(done, int | float) and isinstance(total, int | float) and total > 0:
        fraction = min(1.0, max(0.0, float(done) / float(total)))
    if state == "running" and stage in ("load", "embed"):
        label = t(f"job_stage_{stage}", language)
        if isinstance(done, int) and isinstance(total, int) and total:
            label += f" ({done}/{total})"
        return label, fraction
    key = f"job_state_{state}"
    return (t(key, language) if key in STRINGS else state), fraction


def forget_documents() -> None:
    st.session_state.pop("_docs", None)
    st.session_state.pop("_doc_cache", None)


def document(api: ApiClient, doc_id: str) -> dict[str, Any]:
    """One document with full text; cached per session because the source panel re-renders often."""
    cache: dict[str, dict[str, Any]] = st.session_state.setdefault("_doc_cache", {})
    if doc_id not in cache:
        cache[doc_id] = api.document(doc_id)
    return cache[doc_id]


def _remember(widget_key: str, state_key: str) -> None:
    st.session_state[state_key] = st.session_state[widget_key]


def sidebar_settings() -> str:
    """Language switch and presentation toggle, shown on every page; returns the UI language.

    The widgets write to plain session keys through callbacks because Streamlit forgets
    widget-owned state when a page that does not render the widget runs.
    """
    st.session_state.setdefault("lang", DEFAULT_LANG)
    st.session_state.setdefault("present", False)
    with st.sidebar:
        st.radio(
            t("language_label", st.session_state["lang"]),
            options=["da", "en"],
            index=["da", "en"].index(st.session_state["lang"]),
            format_func=lambda code: {"da": "Dansk", "en": "English"}[code],
            key="_lang_widget",
            horizontal=True,
            on_change=_remember,
            args=("_lang_widget", "lang"),
        )
        language = st.session_state["lang"]
        st.toggle(
            t("presentation_mode", language),
            value=st.session_state["present"],
            key="_present_widget",
            help=t("presentation_help", language),
            on_change=_remember,
            args=("_present_widget", "present"),
        )
    inject_css()
    return language


def inject_css() -> None:
    st.markdown(BASE_CSS, unsafe_allow_html=True)
    # <html lang> and Streamlit's own labels in the UI language, for screen readers.
    st.html(a11y_script(lang()), unsafe_allow_javascript=True)
    # Streamlit's file drop zone speaks English ("Drag and drop", "200MB per file"); the page
    # states the real limits in the UI's language above it, so hide its own instructions.
    browse = (
        "[data-testid='stFileUploaderDropzone'] button:not([data-testid='stFileChipDeleteBtn'] *)"
    )
    label = t("browse_files", lang()).replace("'", "")
    st.markdown(
        "<style>[data-testid='stFileUploaderDropzoneInstructions']{display:none;}"
        # The button's own text stays in the page (invisible) as its name for screen readers;
        # the page script puts it into Danish.
        f"{browse}{{font-size:0 !important; white-space:nowrap;}} {browse} p {{font-size:0;}}"
        f"{browse}::after{{content:'{label}'; font-size:1rem;}}</style>",
        unsafe_allow_html=True,
    )
    if st.session_state.get("present"):
        st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)
