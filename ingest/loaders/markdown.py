"""Markdown loader: the raw markdown is the canonical text; spans point into it.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "note.md"
    >>> _ = p.write_text("# **Kvalitet**\\n\\n- et punkt\\n\\n```\\nkode\\n```\\n")
    >>> doc = load_markdown(p, p.read_bytes())
    >>> doc.title, [(b.kind, b.level) for b in doc.blocks]
    ('Kvalitet', [('heading', 1), ('list_item', None), ('other', None)])
"""

from __future__ import annotations

from pathlib import Path

from ingest.loaders._common import decode_text
from ingest.loaders._textblocks import find_blocks
from ingest.loaders.base import LoadedDocument
from ingest.loaders.text import build_document


def load_markdown(path: Path, data: bytes) -> LoadedDocument:
    """Load a .md/.markdown file: ATX and setext headings, lists, tables, fenced code."""
    text = decode_text(path, data)
    return markdown_document(path, text)


def markdown_document(path: Path, text: str) -> LoadedDocument:
    """Build a document from markdown text already in memory (also used for HTML)."""
    return build_document(path, text, find_blocks(text, setext=True))
