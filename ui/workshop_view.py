"""HTML pieces the workshop pages share: a question's cited answer, the projector's spotlight
card, the join QR code. Every text from a participant or a document is escaped; colours are
set explicitly (dark on light) so the projector view keeps its contrast in any theme.

Example:
    >>> "&lt;b&gt;" in question_html({"text": "<b>hi</b>", "votes": 0}, "en")
    True
"""

from __future__ import annotations

import io
from html import escape
from typing import Any

import segno

from ui.workshop_i18n import w

CSS = """<style>
.ws-card {background:#ffffff; color:#1a1a1a; border:1px solid #c8c8c8; border-radius:10px;
  padding:0.8rem 1rem; margin:0.4rem 0;}
.ws-card .ws-q {font-weight:600; font-size:1.1rem; color:#111111;}
.ws-meta {color:#4a4a4a; font-size:0.9rem;}
.ws-answer {color:#1a1a1a; margin-top:0.4rem; white-space:pre-wrap;}
.ws-quote {border-left:4px solid #1f5fa8; background:#f2f5fa; color:#1a1a1a;
  padding:0.4rem 0.7rem; margin:0.4rem 0; white-space:pre-wrap;}
.ws-source {color:#3a3a3a; font-size:0.9rem;}
.ws-code {font-size:4.5rem; font-weight:800; letter-spacing:0.5rem; color:#111111;
  background:#ffffff; padding:0.2rem 1rem; border-radius:8px; display:inline-block;}
.ws-join {font-size:1.4rem; color:#111111; background:#ffffff; word-break:break-all;}
.ws-spot {background:#ffffff; color:#111111; border:3px solid #1f5fa8; border-radius:14px;
  padding:1.5rem 2rem;}
.ws-spot .ws-q {font-size:2.6rem; font-weight:700; color:#111111; line-height:1.25;}
.ws-spot .ws-answer {font-size:1.9rem; color:#111111; line-height:1.4;}
.ws-spot .ws-quote {font-size:1.6rem; color:#111111; background:#eef3fa; line-height:1.4;}
.ws-spot .ws-source {font-size:1.3rem; color:#222222;}
</style>"""

# The participant page is for phones: no sidebar, so nothing of the other pages shows.
PHONE_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stSidebarNav"] {display:none !important;}
.block-container {padding-top:1.2rem; max-width:40rem;}
</style>"""


def qr_png(url: str, scale: int = 14) -> bytes:
    """The join URL as a PNG QR code; a high scale so a phone reads it across a room."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=scale, border=3)
    return buffer.getvalue()


def source_place(citation: dict[str, Any], lang: str) -> list[str]:
    """Where a cited quote stands, briefly: document, last part of its section, page (plain
    text, for the projector and the study sheet alike)."""
    parts = [str(citation.get("title") or citation.get("doc_id") or "")]
    if citation.get("section"):
        parts.append(str(citation["section"]).split(" > ")[-1])
    if citation.get("page") is not None:
        parts.append(w("ws_page_short", lang, page=citation["page"]))
    return [p for p in parts if p]


def _source_line(citation: dict[str, Any], lang: str) -> str:
    return f"[{citation.get('n', 1)}] " + ", ".join(escape(p) for p in source_place(citation, lang))


def answer_html(question: dict[str, Any], lang: str, quotes: int = 3) -> str:
    """The question's answer and its cited quotes with their sources."""
    status = question.get("answer_status")
    answer = question.get("answer") or {}
    if status == "pending" or (not answer and status != "failed"):
        return f"<div class='ws-answer'>{escape(w('ws_answer_pending', lang))}</div>"
    if not answer:
        return f"<div class='ws-answer'>{escape(w('ws_answer_failed', lang))}</div>"
    html = [f"<div class='ws-answer'>{escape(str(answer.get('answer') or ''))}</div>"]
    for c in (answer.get("citations") or [])[:quotes]:
        html.append(
            f"<div class='ws-quote'>{escape(str(c.get('quote') or ''))}</div>"
            f"<div class='ws-source'>{w('ws_source', lang)}: {_source_line(c, lang)}</div>"
        )
    return "".join(html)


def question_html(question: dict[str, Any], lang: str, trainer: bool = False) -> str:
    meta = [w("ws_votes", lang, n=question.get("votes", 0))]
    if question.get("name"):
        meta.append(escape(str(question["name"])))
    if trainer:
        meta.insert(0, w(f"ws_state_{question.get('state', 'pending')}", lang))
        if question.get("spotlight"):
            meta.append(w("ws_spotlight_mark", lang))
    if question.get("answered"):
        meta.append(w("ws_answered_mark", lang))
    return (
        f"<div class='ws-q'>{escape(str(question.get('text') or ''))}</div>"
        f"<div class='ws-meta'>{' · '.join(meta)}</div>"
    )


def spotlight_html(question: dict[str, Any] | None, lang: str) -> str:
    """The projector card: the question, its cited answer and the source passage, large."""
    if question is None:
        return (
            f"<div class='ws-spot'><div class='ws-answer'>{w('ws_no_spotlight', lang)}</div></div>"
        )
    return (
        "<div class='ws-spot' data-testid='ws-spotlight'>"
        f"<div class='ws-q'>{escape(str(question.get('text') or ''))}</div>"
        f"{answer_html(question, lang, quotes=1)}</div>"
    )
