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

import re
from pathlib import Path

from ingest.loaders._common import decode_text, plain_title
from ingest.loaders._textblocks import find_blocks
from ingest.loaders.base import Block, LoadedDocument, LoadError

# A first line longer than this is a paragraph, not a title.
_MAX_TITLE_CHARS = 150
# How many blocks before the first heading may hold a plain title line.
_TITLE_LOOKAHEAD = 3


def load_text(path: Path, data: bytes) -> LoadedDocument:
    """Load a .txt file; headings may be markdown ``#`` lines or short standalone lines."""
    text = decode_text(path, data)
    blocks = find_blocks(text, plain_headings=True)
    return build_document(path, text, blocks, title_line=True)


def build_document(
    path: Path, text: str, blocks: list[Block], title_line: bool = False
) -> LoadedDocument:
    """Wrap text and its blocks in a LoadedDocument titled by the first heading."""
    if not blocks:
        raise LoadError(path, "no readable text")
    title = first_heading(text, blocks, title_line)
    return LoadedDocument(path=path, text=text, blocks=blocks, title=title)


def first_heading(text: str, blocks: list[Block], title_line: bool = False) -> str | None:
    """The document's title: its first heading (never chrome).

    With ``title_line`` (plain text, where nothing marks a heading) a plain first line
    ("SocialAnalyse: et nyt værktøj") is the title when it is short, not a sentence and not a
    page header ending in a page number.
    """
    content = [b for b in blocks if b.kind != "chrome"]
    for block in content[:_TITLE_LOOKAHEAD] if title_line else []:
        if block.kind == "heading":
            break
        first, _, rest = text[block.start : block.end].partition("\n")
        # A first line glued to its paragraph is a title only if the next line starts anew.
        glued_ok = not rest or rest.lstrip()[:1].isupper()
        if block.kind == "paragraph" and glued_ok and _title_shaped(plain_title(first)):
            return plain_title(first)
    for block in content:
        if block.kind == "heading":
            return plain_title(text[block.start : block.end]) or None
    return None


def _title_shaped(line: str) -> bool:
    return (
        3 <= len(line) <= _MAX_TITLE_CHARS
        and line[-1] not in ".,;!"
        and not re.search(r"\s\d{1,4}$", line)
        and sum(ch.isalpha() for ch in line) >= len(line) / 2
    )
