"""What every loader returns: one canonical text plus the structure found in it.

Offsets everywhere downstream (chunks, citations, highlights) are character offsets into
``LoadedDocument.text``. For plain text that *is* the file's decoded content, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

# "chrome" marks page furniture kept in a verbatim text (navigation, cookie banners, breadcrumbs):
# it stays in the canonical text so offsets hold, but never becomes chunk text.
BlockKind = Literal["heading", "paragraph", "list_item", "table", "other", "chrome"]


class LoadError(Exception):
    """A file that cannot be ingested; the message says why, in one line, for a person."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class Block:
    """A structural unit of the text: ``text[start:end]`` is its content.

    ``level`` is the heading depth (1 = top) for headings and ``None`` otherwise.
    ``page`` is the 1-based page number for paginated sources (PDF), else ``None``.
    """

    start: int
    end: int
    kind: BlockKind
    level: int | None = None
    page: int | None = None


@dataclass
class LoadedDocument:
    path: Path
    text: str
    blocks: list[Block] = field(default_factory=list)
    title: str | None = None
    page_count: int | None = None
    # Metadata a file states outside its text (DOCX/PDF properties), when filled in.
    published: str | None = None
    publisher: str | None = None
    # Page furniture a loader dropped from ``text`` (grey PDF lines, HTML header/footer): never
    # chunked, but it may state the page's date or publisher ("Sidst opdateret 06/05 2015").
    chrome_text: str = ""

    def block_text(self, block: Block) -> str:
        return self.text[block.start : block.end]
