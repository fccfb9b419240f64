"""Helpers shared by the loaders: decoding bytes to text and building text + blocks together.

Example:
    >>> b = TextBuilder()
    >>> b.add("Titel", "heading", level=1)
    >>> b.add("Brødtekst.", "paragraph")
    >>> text, blocks = b.build()
    >>> text
    'Titel\\n\\nBrødtekst.'
    >>> text[blocks[1].start:blocks[1].end]
    'Brødtekst.'
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from ingest.loaders.base import Block, BlockKind, LoadError

# Bytes that never occur in real text files; tab, LF, FF and CR are the legitimate ones.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
# A few stray control bytes happen in scraped text; one byte in twenty means it is not text.
_MAX_CONTROL_SHARE = 0.05
_SNIFF_BYTES = 64 * 1024


def decode_text(path: Path, data: bytes) -> str:
    """Decode a text file's bytes: UTF-8 (BOM or not), then cp1252, then latin-1.

    Line endings become ``\\n``; nothing else changes, so seed texts stay verbatim.

    >>> decode_text(Path("x.txt"), "Smørrebrød\\r\\n".encode("cp1252"))
    'Smørrebrød\\n'
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # UTF-16 is full of NUL bytes, so it must be recognised before the binary sniff.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LoadError(path, "invalid UTF-16 text") from exc
    else:
        _reject_binary(path, data)
        text = _decode_8bit(data)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _reject_binary(path: Path, data: bytes) -> None:
    sample = data[:_SNIFF_BYTES]
    if b"\x00" in sample:
        raise LoadError(path, "binary content, not text")
    controls = sum(sample.count(bytes([b])) for b in _CONTROL_BYTES)
    if sample and controls / len(sample) > _MAX_CONTROL_SHARE:
        raise LoadError(path, "binary content, not text")


def _decode_8bit(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Danish files saved by older Windows tools are cp1252; it is a superset of latin-1's
        # printable range, so it is tried first.
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # latin-1 maps every byte, so this cannot fail.
        return data.decode("latin-1")


class TextBuilder:
    """Accumulates blocks into one canonical text, recording each block's offsets.

    Used by loaders that construct their text (PDF, DOCX) rather than keep a file verbatim.
    """

    def __init__(self, separator: str = "\n\n") -> None:
        self._parts: list[str] = []
        self._blocks: list[Block] = []
        self._length = 0
        self._separator = separator

    def add(
        self, content: str, kind: BlockKind, level: int | None = None, page: int | None = None
    ) -> None:
        """Append ``content`` (stripped) as one block; empty content is ignored."""
        content = content.strip()
        if not content:
            return
        if self._parts:
            self._parts.append(self._separator)
            self._length += len(self._separator)
        start = self._length
        self._parts.append(content)
        self._length += len(content)
        self._blocks.append(Block(start, self._length, kind, level, page))

    def build(self) -> tuple[str, list[Block]]:
        return "".join(self._parts), list(self._blocks)

    @property
    def empty(self) -> bool:
        return not self._blocks


_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|_|`)(.+?)\1")


def plain_title(raw: str) -> str:
    """Strip inline markdown from a heading so it reads as a title.

    >>> plain_title("**The individual** [sub-initiatives](#)")
    'The individual sub-initiatives'
    """
    text = _LINK_RE.sub(r"\1", raw)
    previous = None
    while previous != text:
        previous = text
        text = _EMPHASIS_RE.sub(r"\2", text)
    return " ".join(text.split())
