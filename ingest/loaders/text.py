"""Plain-text loader: the decoded file is the canonical text, kept verbatim.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "nyhed.txt"
    >>> _ = p.write_bytes("Voksende behov\\n\\nFlere borgere har brug for støtte.\\n".encode())
    >>> doc = load_text(p, p.read_bytes())
    >>> doc.title, [b.kind for b in doc.blocks]
    ('Voksende behov', ['heading', 'paragraph'])
"""

from __future__ import annotations

from pathlib import Path

from ingest.loaders._common import decode_text, plain_title
from ingest.loaders._textblocks import find_blocks
from ingest.loaders.base import Block, LoadedDocument, LoadError


def load_text(path: Path, data: bytes) -> LoadedDocument:
    """Load a .txt file; headings may be markdown ``#`` lines or short standalone lines."""
    text = decode_text(path, data)
    return build_document(path, text, find_blocks(text, plain_headings=True))


def build_document(path: Path, text: str, blocks: list[Block]) -> LoadedDocument:
    """Wrap text and its blocks in a LoadedDocument titled by the first heading."""
    if not blocks:
        raise LoadError(path, "no readable text")
    return LoadedDocument(path=path, text=text, blocks=blocks, title=first_heading(text, blocks))


def first_heading(text: str, blocks: list[Block]) -> str | None:
    """The first heading's text without inline markdown, or ``None`` if there is none."""
    for block in blocks:
        if block.kind == "heading":
            return plain_title(text[block.start : block.end]) or None
    return None
