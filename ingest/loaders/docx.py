"""DOCX loader: python-docx paragraphs and tables, in document order.

Headings come from the "Title" and "Heading N" styles (or a paragraph outline level, which
localised styles such as Danish "Overskrift 1" carry), list items from list styles or
numbering, and each table becomes one block with a row per line and cells joined by " | ".
List items get a "- " prefix so the canonical text reads as a list. Chrome pasted in with a
web page (skip links, breadcrumbs, image file names) is left out of the text; the author and
creation date properties, when filled in, are passed on as publisher and date hints.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> import docx
    >>> p = Path(tempfile.mkdtemp()) / "notat.docx"
    >>> d = docx.Document()
    >>> _ = d.add_heading("Kvalitet", level=1)
    >>> _ = d.add_paragraph("Et punkt", style="List Bullet")
    >>> d.save(p)
    >>> doc = load_docx(p, p.read_bytes())
    >>> doc.text
    'Kvalitet\\n\\n- Et punkt'
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from ingest.loaders._common import TextBuilder
from ingest.loaders.base import LoadedDocument, LoadError
from ingest.loaders.chrome import is_chrome_line, strip_image_names
from ingest.loaders.limits import MAX_ELEMENTS, MAX_TABLE_CELLS

_HEADING_STYLE_RE = re.compile(r"(?:heading|overskrift)\s*(\d)", re.IGNORECASE)
_LIST_STYLE_RE = re.compile(r"list|liste|punkt|opstilling", re.IGNORECASE)
# python-docx's blank template carries this creation date; it says nothing about the file.
_TEMPLATE_CREATED = dt.date(2013, 12, 23)
_UNSET: Any = object()


def load_docx(path: Path, data: bytes) -> LoadedDocument:
    """Load a .docx file; raise LoadError if it is not a readable Word document."""
    document = _open(path, data)
    # Counted before any paragraph is read: a 100 KB file can hold 400,000 empty paragraphs.
    elements = len(document.element.body)
    if elements > MAX_ELEMENTS:
        raise LoadError(
            path,
            f"the document has {elements:,} paragraphs and tables, over the "
            f"{MAX_ELEMENTS:,} limit per file",
        )
    styles = _StyleCache()
    cells = 0
    builder = TextBuilder()
    first_title: str | None = None
    furniture: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            cells += len(item._tbl.xpath("./w:tr/w:tc"))
            if cells > MAX_TABLE_CELLS:
                raise LoadError(
                    path, f"the tables hold over {MAX_TABLE_CELLS:,} cells, the limit per file"
                )
            builder.add(_table_text(item), "table")
            continue
        content = item.text.strip()
        if not content:
            continue
        if is_chrome_line(content) or not strip_image_names(content):
            # Skip links, breadcrumbs, cookie lines and image names pasted with a web page.
            furniture.append(content)
            continue
        content = strip_image_names(content)
        style = styles.of(item)
        level = _heading_level(item, style)
        if level is not None:
            builder.add(content, "heading", level=level)
            if first_title is None:
                first_title = " ".join(content.split())
        elif _is_list_item(item, style):
            builder.add(f"- {content}", "list_item")
        else:
            builder.add(content, "paragraph")
    if builder.empty:
        raise LoadError(path, "no readable text")
    text, blocks = builder.build()
    core = document.core_properties
    core_title = (core.title or "").strip()
    return LoadedDocument(
        path,
        text,
        blocks,
        title=core_title or first_title,
        published=_core_date(core.created),
        publisher=" ".join((core.author or "").split()) or None,
        chrome_text="\n".join(furniture),
    )


def _core_date(value: dt.datetime | None) -> str | None:
    """The document's creation date, unless it is the blank template's own (python-docx)."""
    if value is None or value.date() == _TEMPLATE_CREATED:
        return None
    return value.date().isoformat()


def _open(path: Path, data: bytes) -> docx.document.Document:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LoadError(path, "not a valid DOCX (not a zip package)")
    try:
        return docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as exc:
        raise LoadError(path, f"not a valid DOCX (missing Word document part: {exc})") from exc
    except ValueError as exc:
        # python-docx raises ValueError for e.g. a .docm/.dotx content type.
        raise LoadError(path, f"not a valid DOCX ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - malformed XML etc. inside a valid zip
        raise LoadError(path, f"not a valid DOCX (corrupt: {type(exc).__name__}: {exc})") from exc


class _StyleCache:
    """A paragraph's style, looked up once per style id: python-docx resolves the default
    style by scanning every style, three times per paragraph (13 s for 2,000 paragraphs)."""

    def __init__(self) -> None:
        self._by_id: dict[str | None, Any] = {}

    def of(self, paragraph: Paragraph) -> Any:
        key = paragraph._p.style
        if key not in self._by_id:
            self._by_id[key] = paragraph.style
        return self._by_id[key]


def _heading_level(paragraph: Paragraph, style: Any = _UNSET) -> int | None:
    style = paragraph.style if style is _UNSET else style
    name = style.name if style is not None and style.name else ""
    if name == "Title":
        return 1
    match = _HEADING_STYLE_RE.match(name)
    if match:
        return max(1, min(int(match.group(1)), 6))
    outline = _outline_level(paragraph, style)
    return None if outline is None else min(outline + 1, 6)


def _outline_level(paragraph: Paragraph, style: Any = _UNSET) -> int | None:
    """Outline level (0-based) set on the paragraph or its style; 9 means body text."""
    candidates = [paragraph._p.pPr]
    style = paragraph.style if style is _UNSET else style
    while style is not None:
        candidates.append(style.element.pPr)
        style = style.base_style
    for ppr in candidates:
        if ppr is None:
            continue
        outline = ppr.find(qn("w:outlineLvl"))
        if outline is not None:
            value = outline.get(qn("w:val"))
            if value is not None and value.isdigit() and int(value) < 9:
                return int(value)
            return None
    return None


def _is_list_item(paragraph: Paragraph, style: Any = _UNSET) -> bool:
    ppr = paragraph._p.pPr
    if ppr is not None and ppr.numPr is not None:
        return True
    style = paragraph.style if style is _UNSET else style
    return bool(style is not None and style.name and _LIST_STYLE_RE.search(style.name))


def _table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            # Merged cells are returned once per grid column; keep one copy.
            if previous is not None and cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
