"""The conversation as a handout: title, date, each question with its answer and quotes, and the
list of sources, rendered as Markdown, DOCX (python-docx) or PDF (reportlab).

A ``Handout`` is built once from the session's messages so the three formats cannot drift apart.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from ui.i18n import kind_label, t
from ui.render import section_label


@dataclass
class HandoutItem:
    question: str
    answer: str
    abstained: bool
    citations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Source:
    doc_id: str
    title: str
    published: str | None
    kind: str | None
    publisher: str | None


@dataclass
class Handout:
    lang: str
    title: str
    day: date
    items: list[HandoutItem]
    sources: list[Source]


def build_handout(
    messages: list[dict[str, Any]],
    lang: str,
    docs_meta: dict[str, dict[str, Any]] | None = None,
    day: date | None = None,
) -> Handout:
    """Pair each answered question with its answer; failed turns (errors) are left out."""
    docs_meta = docs_meta or {}
    items: list[HandoutItem] = []
    sources: dict[str, Source] = {}
    for msg in messages:
        answer = msg.get("answer")
        if msg.get("role") != "assistant" or not answer:
            continue
        citations = list(answer.get("citations") or [])
        items.append(
            HandoutItem(
                question=str(msg.get("question", "")),
                answer=str(answer.get("answer", "")),
                abstained=bool(answer.get("abstained")),
                citations=citations,
            )
        )
        for cite in citations:
            doc_id = str(cite.get("doc_id"))
            if doc_id in sources:
                continue
            meta = docs_meta.get(doc_id, {})
            sources[doc_id] = Source(
                doc_id=doc_id,
                title=str(cite.get("title") or meta.get("title") or doc_id),
                published=meta.get("published"),
                kind=meta.get("kind"),
                publisher=meta.get("publisher"),
            )
    return Handout(
        lang=lang,
        title=t("handout_title", lang),
        day=day or date.today(),
        items=items,
        sources=list(sources.values()),
    )


def _cite_label(cite: dict[str, Any], lang: str) -> str:
    parts = [str(cite.get("title", ""))]
    if section := section_label(str(cite.get("title", "")), cite.get("section")):
        parts.append(f"{t('section', lang)}: {section}")
    if cite.get("page") is not None:
        parts.append(f"{t('page', lang)} {cite['page']}")
    return ", ".join(parts)


def _source_label(source: Source, lang: str) -> str:
    parts = [source.title]
    if source.publisher:
        parts.append(source.publisher)
    if source.kind:
        parts.append(kind_label(source.kind, lang))
    if source.published:
        parts.append(f"{t('published', lang).lower()} {source.published}")
    return ", ".join(parts)


def _answer_text(item: HandoutItem, lang: str) -> str:
    if item.abstained:
        return f"{t('abstained_title', lang)}. {item.answer}"
    return item.answer


def to_markdown(handout: Handout) -> str:
    lang = handout.lang
    lines = [f"# {handout.title}", "", f"{t('handout_date', lang)}: {handout.day.isoformat()}", ""]
    for i, item in enumerate(handout.items, start=1):
        lines += [f"## {i}. {item.question}", "", _answer_text(item, lang), ""]
        if item.citations:
            lines += [f"**{t('handout_quotes', lang)}**", ""]
            for cite in item.citations:
                quote = " ".join(str(cite.get("quote", "")).split())
                lines.append(f"- [{cite.get('n')}] {_cite_label(cite, lang)}: «{quote}»")
            lines.append("")
    lines += [f"## {t('handout_sources', lang)}", ""]
    lines += [f"- {_source_label(s, lang)}" for s in handout.sources]
    lines += ["", f"_{t('handout_footer', lang)}_", ""]
    return "\n".join(lines)


def to_docx(handout: Handout) -> bytes:
    from docx import Document  # imported lazily: only needed when someone exports

    lang = handout.lang
    doc = Document()
    doc.core_properties.title = handout.title
    doc.add_heading(handout.title, level=0)
    doc.add_paragraph(f"{t('handout_date', lang)}: {handout.day.isoformat()}")
    for i, item in enumerate(handout.items, start=1):
        doc.add_heading(f"{i}. {item.question}", level=1)
        doc.add_paragraph(_answer_text(item, lang))
        if item.citations:
            doc.add_paragraph(t("handout_quotes", lang)).runs[0].bold = True
            for cite in item.citations:
                para = doc.add_paragraph(style="List Bullet")
                para.add_run(f"[{cite.get('n')}] {_cite_label(cite, lang)}: ").bold = True
                para.add_run("«" + " ".join(str(cite.get("quote", "")).split()) + "»").italic = True
    doc.add_heading(t("handout_sources", lang), level=1)
    for source in handout.sources:
        doc.add_paragraph(_source_label(source, lang), style="List Bullet")
    doc.add_paragraph(t("handout_footer", lang)).runs[0].italic = True
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def to_pdf(handout: Handout) -> bytes:
    # reportlab's built-in Helvetica covers WinAnsi, which includes æ, ø and å.
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

    lang = handout.lang
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer, pagesize=A4, title=handout.title, leftMargin=2 * cm, rightMargin=2 * cm
    )

    def para(text: str, style: str = "BodyText") -> Paragraph:
        return Paragraph(xml_escape(text), styles[style])

    story: list[Any] = [
        para(handout.title, "Title"),
        para(f"{t('handout_date', lang)}: {handout.day.isoformat()}"),
        Spacer(1, 0.4 * cm),
    ]
    for i, item in enumerate(handout.items, start=1):
        story += [para(f"{i}. {item.question}", "Heading2"), para(_answer_text(item, lang))]
        if item.citations:
            story.append(para(t("handout_quotes", lang), "Heading4"))
            quotes = [
                ListItem(
                    para(
                        f"[{c.get('n')}] {_cite_label(c, lang)}: «"
                        + " ".join(str(c.get("quote", "")).split())
                        + "»"
                    )
                )
                for c in item.citations
            ]
            story.append(ListFlowable(quotes, bulletType="bullet"))
    story.append(para(t("handout_sources", lang), "Heading2"))
    if handout.sources:
        items = [ListItem(para(_source_label(s, lang))) for s in handout.sources]
        story.append(ListFlowable(items, bulletType="bullet"))
    story += [Spacer(1, 0.4 * cm), para(t("handout_footer", lang), "Italic")]
    pdf.build(story)
    return buffer.getvalue()
