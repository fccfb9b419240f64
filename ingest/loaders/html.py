"""HTML loader: trafilatura extracts the main content as markdown, which becomes the text.

Navigation, footers and other boilerplate are dropped by trafilatura; headings, lists and
tables survive as markdown and are then found like in a .md file.

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

from pathlib import Path

import trafilatura

from ingest.loaders.base import LoadedDocument, LoadError
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
    doc = markdown_document(path, extracted.replace("\r\n", "\n"))
    metadata = trafilatura.extract_metadata(data)
    if metadata is not None and metadata.title:
        doc.title = " ".join(metadata.title.split())
    return doc
