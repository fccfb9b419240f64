"""Structure-aware chunking: headings open sections, paragraphs pack into chunks, sentences
split what is too long. A chunk is always one contiguous span of the document text.

Bounds (tokens of the embedding model): at most ``max_tokens`` (default 220) and, where a
neighbour in the same section allows, at least ``min_tokens`` (default 40). multilingual-e5-small
reads 512 tokens; answer-sized chunks of a few paragraphs keep the dense vector about one
thing and the citation short enough to read, while 40 tokens stops one-line fragments
("Kontakt") from becoming chunks of their own.

Example:
    >>> from pathlib import Path
    >>> from ingest.chunker import Chunker
    >>> from ingest.loaders.base import Block, LoadedDocument
    >>> text = "Intro\\n\\nFirst paragraph. Second sentence."
    >>> blocks = [Block(0, 5, "heading", 1), Block(7, 42, "paragraph")]
    >>> doc = LoadedDocument(Path("x.txt"), text, blocks)
    >>> [(c.section, text[c.start:c.end]) for c in Chunker(min_tokens=1, max_tokens=50).run(doc)]
    [('Intro', 'Intro\\n\\nFirst paragraph. Second sentence.')]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.loaders.base import Block, LoadedDocument
from ingest.sentences import sentence_spans

TokenCounter = Callable[[str], int]
_WORDISH = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def approximate_tokens(text: str) -> int:
    """A model-free token estimate (words and punctuation, ×1.3 for sub-word pieces)."""
    return int(len(_WORDISH.findall(text)) * 1.3) + 1


@dataclass(frozen=True)
class Chunk:
    seq: int
    start: int
    end: int
    section: str | None
    page: int | None
    tokens: int


@dataclass
class _Piece:
    start: int
    end: int
    page: int | None
    tokens: int
    heading: bool = False


class Chunker:
    """Split a ``LoadedDocument`` into bounded, sentence-aligned chunks with section paths."""

    def __init__(
        self,
        min_tokens: int = 40,
        max_tokens: int = 220,
        count_tokens: TokenCounter = approximate_tokens,
    ) -> None:
        if min_tokens < 1 or max_tokens < 16 or min_tokens >= max_tokens:
            raise ValueError(
                f"need 1 <= min_tokens < max_tokens and max_tokens >= 16, "
                f"got min_tokens={min_tokens}, max_tokens={max_tokens}"
            )
        self.min_tokens = min_tokens
        self.max_tokens = max_tokens
        self.count_tokens = count_tokens

    def run(self, doc: LoadedDocument) -> list[Chunk]:
        sections = self._sections(doc)
        chunks: list[Chunk] = []
        for trail, pieces in sections:
            for group in self._pack(pieces):
                chunks.append(
                    Chunk(
                        seq=len(chunks),
                        start=group[0].start,
                        end=group[-1].end,
                        section=" > ".join(trail) or None,
                        page=group[0].page,
                        tokens=sum(p.tokens for p in group),
                    )
                )
        return self._merge_small(doc.text, chunks)

    def _sections(self, doc: LoadedDocument) -> list[tuple[list[str], list[_Piece]]]:
        blocks = doc.blocks or [Block(0, len(doc.text), "paragraph")]
        trail: list[tuple[int, str]] = []
        sections: list[tuple[list[str], list[_Piece]]] = [([], [])]
        for block in blocks:
            if block.end <= block.start:
                continue
            text = doc.text[block.start : block.end]
            if block.kind == "heading":
                level = block.level or 1
                trail = [(lvl, t) for lvl, t in trail if lvl < level]
                trail.append((level, _clean_heading(text)))
                sections.append(([t for _, t in trail], []))
                sections[-1][1].append(
                    _Piece(block.start, block.end, block.page, self.count_tokens(text), True)
                )
            else:
                sections[-1][1].extend(self._pieces(doc.text, block))
        return [(trail_, pieces) for trail_, pieces in sections if pieces]

    def _pieces(self, text: str, block: Block) -> list[_Piece]:
        tokens = self.count_tokens(text[block.start : block.end])
        if tokens <= self.max_tokens:
            return [_Piece(block.start, block.end, block.page, tokens)]
        pieces = []
        for start, end in sentence_spans(text, block.start, block.end):
            n = self.count_tokens(text[start:end])
            if n <= self.max_tokens:
                pieces.append(_Piece(start, end, block.page, n))
            else:
                pieces.extend(self._hard_split(text, start, end, block.page))
        return pieces

    def _hard_split(self, text: str, start: int, end: int, page: int | None) -> list[_Piece]:
        # Only a "sentence" longer than the model's window lands here (tables, run-on lists):
        # cutting at whitespace is the lesser evil than truncation by the embedder.
        pieces, cursor = [], start
        words = list(re.finditer(r"\S+", text[start:end]))
        piece_start = cursor
        for i, word in enumerate(words):
            word_end = start + word.end()
            n = self.count_tokens(text[piece_start:word_end])
            if n > self.max_tokens and i > 0:
                prev_end = start + words[i - 1].end()
                pieces.append(
                    _Piece(
                        piece_start, prev_end, page, self.count_tokens(text[piece_start:prev_end])
                    )
                )
                piece_start = start + word.start()
        pieces.append(_Piece(piece_start, end, page, self.count_tokens(text[piece_start:end])))
        return pieces

    def _pack(self, pieces: list[_Piece]) -> list[list[_Piece]]:
        groups: list[list[_Piece]] = []
        current: list[_Piece] = []
        size = 0
        for piece in pieces:
            if current and size + piece.tokens > self.max_tokens:
                groups.append(current)
                current, size = [], 0
            current.append(piece)
            size += piece.tokens
        if current:
            groups.append(current)
        return groups

    def _merge_small(self, text: str, chunks: list[Chunk]) -> list[Chunk]:
        """Fold chunks under ``min_tokens`` into their neighbour in the same section when the
        result stays in bounds; a chunk never spans two sections, so its section path is true."""
        merged: list[Chunk] = []
        for chunk in chunks:
            prev = merged[-1] if merged else None
            if (
                prev
                and prev.section == chunk.section
                and (prev.tokens < self.min_tokens or chunk.tokens < self.min_tokens)
            ):
                combined = self.count_tokens(text[prev.start : chunk.end])
                if combined <= self.max_tokens:
                    merged[-1] = Chunk(
                        prev.seq, prev.start, chunk.end, prev.section, prev.page, combined
                    )
                    continue
            merged.append(chunk)
        return [Chunk(i, c.start, c.end, c.section, c.page, c.tokens) for i, c in enumerate(merged)]


def _clean_heading(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lstrip("#").strip().strip("*_").strip())
