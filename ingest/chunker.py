"""Structure-aware chunking: headings open sections, paragraphs pack into chunks, sentences
split what is too long. A chunk is always one contiguous span of the document text.

Bounds (tokens of the embedding model): at most ``max_tokens`` (default 220) and, where a
neighbour in the same section allows, at least ``min_tokens`` (default 40). multilingual-e5-small
reads 512 tokens; answer-sized chunks of a few paragraphs keep the dense vector about one
thing and the citation short enough to read, while 40 tokens stops one-line fragments
("Kontakt") from becoming chunks of their own. The floor holds across sections too: a
section too small for a chunk of its own (a title, a heading with one line under it) is merged
into a neighbouring chunk, which keeps the section path of its bigger part (such a merge may
exceed ``max_tokens`` by up to ``min_tokens``: the model still reads it whole).

Blocks of kind ``"chrome"`` (navigation, cookie banners, breadcrumbs marked by the loaders) never
become chunk text, and no chunk spans one: chunks end before it and start after it.

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
    # A chrome block lies between this piece and the one before: no chunk may span the two.
    barrier: bool = False


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
        self._chrome: list[tuple[int, int]] = []

    def run(self, doc: LoadedDocument) -> list[Chunk]:
        sections = self._sections(doc)
        self._chrome = [(b.start, b.end) for b in doc.blocks if b.kind == "chrome"]
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
        barrier = False
        for block in blocks:
            if block.end <= block.start:
                continue
            if block.kind == "chrome":
                barrier = True
                continue
            text = doc.text[block.start : block.end]
            count = len(sections[-1][1])
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
            if barrier and len(sections[-1][1]) > count:
                first = sections[-1][1][count]
                sections[-1][1][count] = _Piece(
                    first.start, first.end, first.page, first.tokens, first.heading, True
                )
                barrier = False
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
            if current and (piece.barrier or size + piece.tokens > self.max_tokens):
                groups.append(current)
                current, size = [], 0
            current.append(piece)
            size += piece.tokens
        if current:
            groups.append(current)
        return groups

    def _merge_small(self, text: str, chunks: list[Chunk]) -> list[Chunk]:
        """Fold chunks under ``min_tokens`` into a neighbour while the result stays in bounds.

        First within a section; then a chunk still under the floor (a section with nothing
        else, such as a title or a heading over one line) joins the chunk before it, or the
        one after it when it is only a heading or has no chunk before it; to keep the floor, a
        section with nothing else may push its neighbour past ``max_tokens`` by up to
        ``min_tokens``. The merged chunk
        keeps the section path and page of its bigger part. Never across a chrome block.
        """
        merged: list[Chunk] = []
        for chunk in chunks:
            prev = merged[-1] if merged else None
            if (
                prev
                and prev.section == chunk.section
                and (prev.tokens < self.min_tokens or chunk.tokens < self.min_tokens)
                and self._joinable(text, prev, chunk)
            ):
                merged[-1] = self._join(text, prev, chunk)
                continue
            merged.append(chunk)
        i = 0
        while i < len(merged):
            chunk = merged[i]
            if chunk.tokens >= self.min_tokens or len(merged) == 1:
                i += 1
                continue
            prev = merged[i - 1] if i > 0 else None
            nxt = merged[i + 1] if i + 1 < len(merged) else None
            heading_only = _heading_only(text, chunk, nxt)
            order = [(nxt, False), (prev, True)] if heading_only else [(prev, True), (nxt, False)]
            # Only a section with nothing else may push a neighbour past max_tokens.
            whole = all(o is None or o.section != chunk.section for o in (prev, nxt))
            limits = [self.max_tokens] + ([self.max_tokens + self.min_tokens] if whole else [])
            target = next(
                (
                    (other, backward)
                    for limit in limits
                    for other, backward in order
                    if other is not None
                    and self._joinable(
                        text, *((other, chunk) if backward else (chunk, other)), limit
                    )
                ),
                None,
            )
            if target is None:
                i += 1
                continue
            other, backward = target
            at = i - 1 if backward else i
            first, second = (other, chunk) if backward else (chunk, other)
            merged[at : at + 2] = [self._join(text, first, second)]
            i = at
        return [Chunk(i, c.start, c.end, c.section, c.page, c.tokens) for i, c in enumerate(merged)]

    def _joinable(self, text: str, first: Chunk, second: Chunk, limit: int = 0) -> bool:
        if any(first.end <= start and end <= second.start for start, end in self._chrome):
            return False
        return self.count_tokens(text[first.start : second.end]) <= (limit or self.max_tokens)

    def _join(self, text: str, first: Chunk, second: Chunk) -> Chunk:
        tokens = self.count_tokens(text[first.start : second.end])
        # The bigger part names the section: a stray tail sentence must not relabel the next
        # section's text, nor a lone title its body's.
        main = first if first.tokens >= second.tokens else second
        return Chunk(first.seq, first.start, second.end, main.section, main.page, tokens)


def _heading_only(text: str, chunk: Chunk, nxt: Chunk | None) -> bool:
    """Whether a chunk is nothing but a section's heading(s): it belongs to what follows."""
    if nxt is None or not chunk.section:
        return False
    body = text[chunk.start : chunk.end]
    last = _clean_heading(chunk.section.split(" > ")[-1])
    return _clean_heading(body.strip().split("\n")[-1]) == last


def _clean_heading(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lstrip("#").strip().strip("*_").strip())
