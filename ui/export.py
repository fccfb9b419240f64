"""The conversation as a handout: title, date, each question with its answer, one numbered list
of sources (document, section, page, publisher, date, link where known) and a line saying where
the answers come from; rendered as Markdown, DOCX (python-docx, A4) or PDF (reportlab, A4).

A ``Handout`` is built once from the session's messages so the three formats cannot drift apart.
Citation numbers are renumbered across the whole conversation, so ``[3]`` in any answer is entry
3 of the source list; a quote that the answer already contains is not printed a second time.

Example:
    >>> from datetime import date
    >>> msgs = [{"role": "assistant", "question": "Hvad?", "answer": {"answer": "Svar [1].",
    ...     "language": "da", "citations": [{"n": 1, "doc_id": "d", "title": "Doc",
    ...     "quote": "Svar", "start": 0, "end": 4}]}}]
    >>> h = build_handout(msgs, "da", {}, date(2026, 1, 2))
    >>> h.items[0].answer, h.sources[0].number
    ('Svar [1].', 1)
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from assistant.guard import mask_cpr
from ui.i18n import kind_label, t
from ui.render import MARKER, plain_text, section_label

AUTHOR = "Kvalitetsassistenten"
MONTHS = {
    "da": "januar februar marts april maj juni juli august september oktober november december",
    "en": "January February March April May June July August September October November December",
}


@dataclass
class Source:
    number: int
    doc_id: str
    title: str
    section: str
    page: int | None
    quote: str
    # Printed under the entry only when the answer does not already contain it word for word.
    show_quote: bool
    published: str | None = None
    publisher: str | None = None
    kind: str | None = None
    url: str | None = None


@dataclass
class HandoutItem:
    question: str
    answer: str
    abstained: bool
    language: str
    related: list[str] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)


@dataclass
class Handout:
    lang: str
    title: str
    day: date
    items: list[HandoutItem]
    sources: list[Source]


def _squash(text: str) -> str:
    return " ".join(str(text or "").split())


def _clean(text: str) -> str:
    return mask_cpr(plain_text(str(text or "")))


def _renumber(text: str, numbers: dict[int, int]) -> str:
    return MARKER.sub(lambda m: f"[{numbers.get(int(m.group(1)), m.group(1))}]", text)


def long_date(day: date, lang: str) -> str:
    month = MONTHS.get(lang, MONTHS["da"]).split()[day.month - 1]
    return f"{day.day}. {month} {day.year}" if lang == "da" else f"{day.day} {month} {day.year}"


def build_handout(
    messages: list[dict[str, Any]],
    lang: str,
    docs_meta: dict[str, dict[str, Any]] | None = None,
    day: date | None = None,
) -> Handout:
    """Pair each answered question with its answer; failed turns (errors) are left out."""
    docs_meta = docs_meta or {}
    items: list[HandoutItem] = []
    sources: dict[tuple[str, int, int], Source] = {}
    for msg in messages:
        answer = msg.get("answer")
        if msg.get("role") != "assistant" or not answer:
            continue
        language = str(answer.get("language") or lang)
        if language not in ("da", "en"):
            language = lang
        text = _clean(answer.get("answer", ""))
        local: dict[int, int] = {}
        for cite in answer.get("citations") or []:
            doc_id = str(cite.get("doc_id"))
            key = (doc_id, int(cite.get("start") or 0), int(cite.get("end") or 0))
            if key not in sources:
                meta = docs_meta.get(doc_id, {})
                title = str(cite.get("title") or meta.get("title") or doc_id)
                quote = _clean(cite.get("quote", ""))
                sources[key] = Source(
                    number=len(sources) + 1,
                    doc_id=doc_id,
                    title=title,
                    section=section_label(title, cite.get("section")),
                    page=cite.get("page"),
                    quote=quote,
                    show_quote=_squash(quote) not in _squash(text),
                    published=meta.get("published"),
                    publisher=meta.get("publisher"),
                    kind=meta.get("kind"),
                    url=meta.get("url") or meta.get("source_url"),
                )
            if isinstance(cite.get("n"), int):
                local[cite["n"]] = sources[key].number
        abstained = bool(answer.get("abstained"))
        if abstained:
            # The API's abstention text repeats its heading and points at passages "below" that
            # a handout does not show; say it once, in the question's language, and name them.
            text = t("abstained_title", language) + "."
            related = []
            for passage in answer.get("related") or []:
                label = str(passage.get("title") or passage.get("doc_id") or "")
                if sub := section_label(label, passage.get("section")):
                    label += f" – {sub}"
                if label and label not in related:
                    related.append(label)
        else:
            text = _renumber(text, local)
            related = []
        items.append(
            HandoutItem(
                question=mask_cpr(_squash(msg.get("question", ""))),
                answer=text,
                abstained=abstained,
                language=language,
                related=related,
                sources=sorted(set(local.values())),
            )
        )
    return Handout(
        lang=lang,
        title=t("handout_title", lang),
        day=day or date.today(),
        items=items,
        sources=list(sources.values()),
    )


def source_parts(source: Source, lang: str) -> list[str]:
    """Document, section, page, publisher, kind and date of one source, in reading order."""
    parts = [f"“{source.title}”"]
    if source.section:
        parts.append(f"{t('section', lang).lower()}: {source.section}")
    if source.page is not None:
        parts.append(f"{t('page', lang).lower()} {source.page}")
    if source.publisher:
        parts.append(source.publisher)
    if source.kind:
        parts.append(kind_label(source.kind, lang).lower())
    if source.published:
        parts.append(f"{t('published', lang).lower()} {source.published}")
    return parts


def _related_line(item: HandoutItem) -> str:
    return f"{t('closest_passages', item.language)}: " + "; ".join(item.related)


def _answer_paragraphs(item: HandoutItem) -> list[str]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", item.answer) if p.strip()]
    if item.abstained and item.related:
        paragraphs.append(_related_line(item))
    return [" ".join(p.split()) for p in paragraphs]


def to_markdown(handout: Handout) -> str:
    lang = handout.lang
    lines = [f"# {handout.title}", "", f"{t('handout_date', lang)}: {long_date(handout.day, lang)}"]
    lines += ["", t("handout_origin", lang), ""]
    for i, item in enumerate(handout.items, start=1):
        lines += [f"## {i}. {item.question}", ""]
        for paragraph in _answer_paragraphs(item):
            lines += [paragraph, ""]
    if handout.sources:
        lines += [f"## {t('handout_sources', lang)}", ""]
        for source in handout.sources:
            entry = f"{source.number}. " + ", ".join(source_parts(source, lang))
            if source.url:
                entry += f". <{source.url}>"
            lines.append(entry)
            if source.show_quote:
                lines.append(f"   > {_squash(source.quote)}")
        lines.append("")
    lines += [f"_{t('handout_footer', lang)}_", ""]
    return "\n".join(lines)


def to_docx(handout: Handout) -> bytes:
    from docx import Document  # imported lazily: only needed when someone exports
    from docx.shared import Cm, Mm

    lang = handout.lang
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.2))
    props = doc.core_properties
    props.title = handout.title
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.subject = t("handout_origin", lang)
    props.language = "da-DK" if lang == "da" else "en-GB"
    doc.add_heading(handout.title, level=0)
    doc.add_paragraph(f"{t('handout_date', lang)}: {long_date(handout.day, lang)}")
    doc.add_paragraph(t("handout_origin", lang)).runs[0].italic = True
    for i, item in enumerate(handout.items, start=1):
        doc.add_heading(f"{i}. {item.question}", level=1)
        for paragraph in _answer_paragraphs(item):
            doc.add_paragraph(paragraph)
    if handout.sources:
        doc.add_heading(t("handout_sources", lang), level=1)
        for source in handout.sources:
            para = doc.add_paragraph()
            para.add_run(f"{source.number}. ").bold = True
            para.add_run(", ".join(source_parts(source, lang)))
            if source.url:
                para.add_run(f". {source.url}")
            if source.show_quote:
                para.add_run("\n«" + _squash(source.quote) + "»").italic = True
    doc.add_paragraph(t("handout_footer", lang)).runs[0].italic = True
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def to_pdf(handout: Handout) -> bytes:
    # reportlab's built-in Helvetica covers WinAnsi, which includes æ, ø and å.
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import CondPageBreak, Paragraph, SimpleDocTemplate, Spacer

    lang = handout.lang
    styles = getSampleStyleSheet()
    # A heading never ends a page: it keeps with the paragraph after it, and a question's
    # heading starts a new page when less than a few lines' room is left.
    heading = ParagraphStyle("KvaHeading", parent=styles["Heading2"], keepWithNext=1)
    body = styles["BodyText"]
    note = ParagraphStyle("KvaNote", parent=styles["Italic"], leftIndent=0.6 * cm)
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=handout.title,
        author=AUTHOR,
        subject=t("handout_origin", lang),
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
    )

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(
            2 * cm,
            1.2 * cm,
            f"{handout.title} · {long_date(handout.day, lang)} · "
            f"{t('page', lang).lower()} {document.page}",
        )
        canvas.restoreState()

    def para(text: str, style: Any = body) -> Paragraph:
        return Paragraph(xml_escape(text), style)

    story: list[Any] = [
        para(handout.title, styles["Title"]),
        para(f"{t('handout_date', lang)}: {long_date(handout.day, lang)}"),
        para(t("handout_origin", lang), styles["Italic"]),
        Spacer(1, 0.4 * cm),
    ]
    for i, item in enumerate(handout.items, start=1):
        story += [CondPageBreak(4 * cm), para(f"{i}. {item.question}", heading)]
        story += [para(p) for p in _answer_paragraphs(item)]
    if handout.sources:
        story += [CondPageBreak(4 * cm), para(t("handout_sources", lang), heading)]
        for source in handout.sources:
            entry = f"{source.number}. " + ", ".join(source_parts(source, lang))
            if source.url:
                entry += f". {source.url}"
            story.append(para(entry))
            if source.show_quote:
                story.append(para("«" + _squash(source.quote) + "»", note))
    story += [Spacer(1, 0.4 * cm), para(t("handout_footer", lang), styles["Italic"])]
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
