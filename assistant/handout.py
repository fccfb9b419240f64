"""The conversation as a handout: title, date, each question with its answer, one numbered list
of sources (document, section, page, publisher, date, link where known) and a line saying where
the answers come from; rendered as Markdown, DOCX (python-docx, A4) or PDF (reportlab, A4).

A ``Handout`` is built once from the messages so the three formats cannot drift apart; the chat's
conversation export and a workshop's export (``GET /api/workshops/{code}/export``) both use it,
so they look the same. Plain Python: python-docx and reportlab are imported only to render.

Each answer keeps the numbers it had on screen and lists its own sources under it: one entry per
source passage (citations from the same document and section share one entry, "[2, 3]"), and a
quote that the answer already contains is not printed a second time.

Example:
    >>> from datetime import date
    >>> msgs = [{"role": "assistant", "question": "Hvad?", "answer": {"answer": "Svar [1].",
    ...     "language": "da", "citations": [{"n": 1, "doc_id": "d", "title": "Doc",
    ...     "quote": "Svar", "start": 0, "end": 4}]}}]
    >>> h = build_handout(msgs, "da", {}, date(2026, 1, 2))
    >>> h.items[0].answer, h.items[0].sources[0].numbers
    ('Svar [1].', [1])
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from assistant.guard import mask_cpr
from assistant.i18n import Strings, label, lookup
from assistant.plain_text import plain_text, section_label

AUTHOR = "Kvalitetsassistenten"
MONTHS = {
    "da": "januar februar marts april maj juni juli august september oktober november december",
    "en": "January February March April May June July August September October November December",
}


# What a handout prints; the UI's table includes these, so the screen and the handout name a
# document kind, a section or a page alike.
HANDOUT_STRINGS: Strings = {
    "abstained_title": {
        "da": "Materialet dækker ikke dette",
        "en": "The material does not cover this",
    },
    "closest_passages": {
        "da": "Nærmeste passager i materialet",
        "en": "Closest passages in the material",
    },
    "kind_news": {"da": "Nyhed", "en": "News"},
    "kind_initiative": {"da": "Initiativ", "en": "Initiative"},
    "kind_benchmark": {"da": "Benchmark", "en": "Benchmark"},
    "kind_catalogue": {"da": "Katalog", "en": "Catalogue"},
    "kind_literature-study": {"da": "Litteraturstudie", "en": "Literature study"},
    "kind_guideline": {"da": "Vejledning", "en": "Guideline"},
    "kind_law": {"da": "Lov og regler", "en": "Law and rules"},
    "kind_report": {"da": "Rapport", "en": "Report"},
    "kind_method": {"da": "Metode", "en": "Method"},
    "kind_other": {"da": "Andet", "en": "Other"},
    "published": {"da": "Udgivet", "en": "Published"},
    "section": {"da": "Afsnit", "en": "Section"},
    "page": {"da": "Side", "en": "Page"},
    "handout_title": {
        "da": "Kvalitetsassistenten – samtale med kilder",
        "en": "Kvalitetsassistenten – conversation with sources",
    },
    "handout_date": {"da": "Dato", "en": "Date"},
    "handout_sources": {"da": "Kildeliste", "en": "List of sources"},
    "handout_origin": {
        "da": "Svarene er ordrette uddrag af det udgivne materiale om kvalitet i "
        "socialpsykiatrien, fundet af Kvalitetsassistenten; tallene i [ ] henviser til "
        "kildelisten.",
        "en": "The answers are verbatim extracts from the published material on quality in "
        "social psychiatry, found by Kvalitetsassistenten; the numbers in [ ] refer to the "
        "list of sources.",
    },
    "handout_footer": {
        "da": "Svarene bygger kun på de udgivne dokumenter i kildelisten. Tjek originalen, før "
        "du bruger et svar i en konkret sag.",
        "en": "The answers rest only on the published documents in the list of sources. Check "
        "the original before you rely on an answer in a specific case.",
    },
}


def t(key: str, lang: str, **kwargs: object) -> str:
    """The handout's string for ``key`` in ``lang``."""
    return lookup(HANDOUT_STRINGS, key, lang, **kwargs)


def kind_label(kind: str, lang: str) -> str:
    """A readable name for a document kind; kinds added later show as-is rather than crash."""
    return label(HANDOUT_STRINGS, "kind_", kind, lang)


@dataclass
class Source:
    """One source passage of one answer: the citation numbers it had on screen share it."""

    numbers: list[int]
    doc_id: str
    title: str
    section: str
    page: int | None
    # Printed under the entry: only quotes the answer does not already contain.
    quotes: list[str] = field(default_factory=list)
    published: str | None = None
    publisher: str | None = None
    kind: str | None = None
    url: str | None = None

    @property
    def label(self) -> str:
        return "[" + ", ".join(str(n) for n in self.numbers) + "]"


@dataclass
class HandoutItem:
    question: str
    answer: str
    abstained: bool
    language: str
    related: list[str] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)


@dataclass
class Handout:
    lang: str
    title: str
    day: date
    items: list[HandoutItem]

    @property
    def sources(self) -> list[Source]:
        return [source for item in self.items for source in item.sources]


def _squash(text: str) -> str:
    return " ".join(str(text or "").split())


def _clean(text: str) -> str:
    return mask_cpr(plain_text(str(text or "")))


def _words(text: str) -> str:
    """Letters and digits only: "• Professional benchmarks …" and "“Professional benchmarks”"
    are the same words, so a quote the answer holds is recognised whatever marks surround it."""
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def _answer_sources(
    citations: list[dict[str, Any]], text: str, docs_meta: dict[str, dict[str, Any]]
) -> list[Source]:
    """The answer's sources in the order of their first number, one per document and section."""
    in_answer = _words(text)
    grouped: dict[tuple[str, str, Any], Source] = {}
    for k, cite in enumerate(citations):
        doc_id = str(cite.get("doc_id"))
        meta = docs_meta.get(doc_id, {})
        title = str(cite.get("title") or meta.get("title") or doc_id)
        section = section_label(title, cite.get("section"))
        key = (doc_id, section, cite.get("page"))
        if key not in grouped:
            grouped[key] = Source(
                numbers=[],
                doc_id=doc_id,
                title=title,
                section=section,
                page=cite.get("page"),
                published=meta.get("published"),
                publisher=meta.get("publisher"),
                kind=meta.get("kind"),
                url=meta.get("url") or meta.get("source_url"),
            )
        source = grouped[key]
        n = cite.get("n")
        number = n if isinstance(n, int) else k + 1
        if number not in source.numbers:
            source.numbers.append(number)
        quote = _squash(_clean(cite.get("quote", "")))
        words = _words(quote)
        if words and words not in in_answer and quote not in source.quotes:
            source.quotes.append(quote)
    return sorted(grouped.values(), key=lambda s: min(s.numbers))


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
    for msg in messages:
        answer = msg.get("answer")
        if msg.get("role") != "assistant" or not answer:
            continue
        language = str(answer.get("language") or lang)
        if language not in ("da", "en"):
            language = lang
        text = _clean(answer.get("answer", ""))
        citations = [c for c in answer.get("citations") or [] if isinstance(c, dict)]
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
            related = []
        items.append(
            HandoutItem(
                question=mask_cpr(_squash(msg.get("question", ""))),
                answer=text,
                abstained=abstained,
                language=language,
                related=related,
                sources=[] if abstained else _answer_sources(citations, text, docs_meta),
            )
        )
    return Handout(lang=lang, title=t("handout_title", lang), day=day or date.today(), items=items)


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
        if item.sources:
            lines += [f"**{t('handout_sources', lang)}**", ""]
            for source in item.sources:
                entry = f"- {source.label} " + ", ".join(source_parts(source, lang))
                if source.url:
                    entry += f". <{source.url}>"
                lines.append(entry)
                lines += [f"  > {quote}" for quote in source.quotes]
            lines.append("")
    lines += [f"_{t('handout_footer', lang)}_", ""]
    return "\n".join(lines)


LOCALES = {"da": "da-DK", "en": "en-US"}


def _set_language(element: Any, locale: str) -> None:
    """Put ``locale`` on the run properties of ``element``: a run, or the styles part, whose
    document defaults and styles then all carry it (Word spell-checks by this tag)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    if element.tag == qn("w:r"):
        holders = [element.get_or_add_rPr()]
    else:
        holders = list(element.iter(qn("w:rPr")))
    for rpr in holders:
        tag = rpr.find(qn("w:lang"))
        if tag is None:
            tag = OxmlElement("w:lang")
            rpr.append(tag)
        tag.set(qn("w:val"), locale)


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
    props.language = LOCALES[lang]
    # python-docx's template says it was made in 2013; a handout is made now.
    now = datetime.now(UTC).replace(microsecond=0)
    day = handout.day
    stamp = now if now.date() == day else datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    props.created = props.modified = stamp
    props.revision = 1
    _set_language(doc.styles.element, LOCALES[lang])
    doc.add_heading(handout.title, level=0)
    doc.add_paragraph(f"{t('handout_date', lang)}: {long_date(handout.day, lang)}")
    doc.add_paragraph(t("handout_origin", lang)).runs[0].italic = True
    for i, item in enumerate(handout.items, start=1):
        doc.add_heading(f"{i}. {item.question}", level=1)
        for paragraph in _answer_paragraphs(item):
            para = doc.add_paragraph(paragraph)
            if item.language != lang:  # an answer in the other language is spell-checked as such
                for run in para.runs:
                    _set_language(run._r, LOCALES.get(item.language, LOCALES[lang]))
        if item.sources:
            doc.add_heading(t("handout_sources", lang), level=2)
            for source in item.sources:
                para = doc.add_paragraph()
                para.add_run(f"{source.label} ").bold = True
                para.add_run(", ".join(source_parts(source, lang)))
                if source.url:
                    para.add_run(f". {source.url}")
                for quote in source.quotes:
                    para.add_run("\n«" + quote + "»").italic = True
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
    sources_heading = ParagraphStyle("KvaSources", parent=styles["Heading4"], keepWithNext=1)
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
        if item.sources:
            story.append(para(t("handout_sources", lang), sources_heading))
            for source in item.sources:
                entry = f"{source.label} " + ", ".join(source_parts(source, lang))
                if source.url:
                    entry += f". {source.url}"
                story.append(para(entry))
                story += [para("«" + quote + "»", note) for quote in source.quotes]
    story += [Spacer(1, 0.4 * cm), para(t("handout_footer", lang), styles["Italic"])]
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


# The formats a handout is rendered in: file ending -> (media type, renderer).
FORMATS: dict[str, tuple[str, Callable[[Handout], bytes]]] = {
    "md": ("text/markdown; charset=utf-8", lambda handout: to_markdown(handout).encode("utf-8")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", to_docx),
    "pdf": ("application/pdf", to_pdf),
}


def render(handout: Handout, fmt: str) -> bytes:
    """The handout as a file in ``fmt`` (a key of ``FORMATS``)."""
    return FORMATS[fmt][1](handout)
