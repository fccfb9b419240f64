"""HTML loader: trafilatura extracts the main content as markdown, which becomes the text.

Navigation, footers and other boilerplate are dropped by trafilatura; headings, lists and
tables survive as markdown and are then found like in a .md file, where chrome lines that
slipped through are marked (and never chunked). The dropped <header>, <nav>, <footer> and
<aside> text is kept aside as ``chrome_text``: it often states the page's date
("Sidst opdateret 06/05 2015") or publisher.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "side.html"
    >>> body = "<p>" + "Socialpsykiatrien skal styrkes med bedre kvalitet i bostøtten. " * 3
    >>> _ = p.write_text(f"<html><head><title>Side</title></head><body><article>"
    ...                  f"<h1>Kvalitet</h1>{body}</p></article></body></html>")
    >>> doc = load_html(p, p.read_bytes())
    >>> doc.title, doc.blocks[0].kind
    ('Kvalitet', 'heading')
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.etree
import lxml.html
import trafilatura

from ingest.loaders.base import LoadedDocument, LoadError
from ingest.loaders.chrome import is_chrome_line
from ingest.loaders.markdown import markdown_document

_SNIFF_BYTES = 64 * 1024


def load_html(path: Path, data: bytes) -> LoadedDocument:
    """Load a .html/.htm file; the title is trafilatura's (the main <h1>, else <title>)."""
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise LoadError(path, "binary content, not text")
    # trafilatura decodes bytes itself, honouring the page's declared charset.
    extracted = trafilatura.extract(
        data,
        output_format="markdown",
        include_formatting=True,
        include_tables=True,
        include_comments=False,
        include_links=False,
        include_images=False,
    )
    if not extracted or not extracted.strip():
        raise LoadError(path, "no readable text")
    # The text is built here (trafilatura's markdown), so chrome lines that slipped through
    # (CMS labels such as "Overskrift:", "Læs mere", image names) are dropped, not marked:
    # marked blocks would split a heading from its paragraph.
    kept, dropped = [], []
    for line in extracted.replace("\r\n", "\n").split("\n"):
        (dropped if is_chrome_line(line) else kept).append(line)
    markdown = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    if not markdown:
        raise LoadError(path, "no readable text")
    doc = markdown_document(path, markdown)
    metadata = trafilatura.extract_metadata(data)
    if metadata is not None and metadata.title:
        doc.title = " ".join(metadata.title.split())
    doc.chrome_text = "\n".join([_furniture_text(data), *dropped]).strip()
    return doc


def _furniture_text(data: bytes) -> str:
    """Text of the page's header, navigation, footer and aside elements, one line per block."""
    try:
        tree = lxml.html.fromstring(data)
    except (ValueError, lxml.etree.ParserError):
        return ""
    lines: list[str] = []
    for element in tree.iter("header", "nav", "footer", "aside"):
        for node in element.iter():
            own = " ".join((node.text or "").split())
            if own:
                lines.append(own)
    return "\n".join(dict.fromkeys(lines))
