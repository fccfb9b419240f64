"""PDF loader: pypdf text, page by page, regrouped into paragraphs and headings.

The canonical text is built here (pypdf gives one line per text line): lines of a paragraph
are joined with spaces, words hyphenated across lines are rejoined, page numbers and running
headers/footers are dropped, and blocks are separated by blank lines. Every block records its
1-based page.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from reportlab.pdfgen import canvas
    >>> p = Path(tempfile.mkdtemp()) / "pejlemaerker.pdf"
    >>> c = canvas.Canvas(str(p))
    >>> c.drawString(72, 750, "1.2 Borgerens behov")
    >>> c.drawString(72, 730, "Indsatsen tager udgangspunkt i borgerens egne mål.")
    >>> c.save()
    >>> doc = load_pdf(p, p.read_bytes())
    >>> [(b.kind, b.level, b.page) for b in doc.blocks]
    [('heading', 2, 1), ('paragraph', None, 1)]
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections import Counter
from pathlib import Path

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

from ingest.loaders._common import TextBuilder
from ingest.loaders.base import BlockKind, LoadedDocument, LoadError
from ingest.loaders.chrome import is_chrome_line, strip_image_names

# Real-world PDFs may have up to ~1 KB of junk before the header or after %%EOF.
_HEADER_WINDOW = 1024
_TRAILER_WINDOW = 2048

_NUMBERED_RE = re.compile(r"(\d{1,2}(?:\.\d{1,2}){0,5})\.?\s+(\S.*)")
_KEYWORD_RE = re.compile(
    r"(Kapitel|Chapter|Del|Part|Bilag|Appendix|Pejlemærke|Anbefaling|Recommendation|"
    r"Benchmark|Indsats|Afsnit|Section)\s+\d{1,3}[a-z]?\b"
)
_TOP_LEVEL_KEYWORDS = {"Kapitel", "Chapter", "Del", "Part", "Bilag", "Appendix"}
# A table-of-contents entry: dot leaders before a page number.
_TOC_RE = re.compile(r"(\.{3,}|…+)\s*\d{1,4}$")
_ENDS_WITH_PAGE_RE = re.compile(r"\D\s\d{1,3}$")
_TOC_TITLE_RE = re.compile(r"(indhold|indholdsfortegnelse|contents|table of contents)$", re.I)
# On a contents page most lines end in a page number; their numbered titles are not headings.
_MIN_TOC_LINES = 5
_MIN_TOC_ENTRIES = 2
_TOC_LINE_SHARE = 0.5
_PAGE_NUMBER_RE = re.compile(
    r"(?:side|page|s\.)?\s*\d{1,4}(?:\s*(?:/|af|of)\s*\d{1,4})?", re.IGNORECASE
)
_SYMBOL_BULLETS = "•▪◦●■□►➢✓·-–*"
_BULLET_RE = re.compile(rf"([{re.escape(_SYMBOL_BULLETS)}]|\d{{1,2}}[.)]|[a-z]\))\s+\S")
# Bullets from Symbol/Wingdings fonts come out as private-use code points, and reportlab's
# standard fonts give DEL; they are mapped back to bullets, other control characters to spaces.
_GLYPH_FIXES = str.maketrans(
    {"\uf0b7": "•", "\uf0a7": "▪", "\uf0d8": "➢", "\uf076": "•", "\uf0fc": "✓", "\x7f": "•"}
    | {chr(c): " " for c in range(32) if chr(c) not in "\n\t"}
)
_SENTENCE_END = ".!?:"
# A line clearly shorter than the page's text width ends its paragraph if it ends a sentence.
_SHORT_LINE_SHARE = 0.75
_MAX_HEADING_CHARS = 100
_MAX_CAPS_HEADING_CHARS = 60
_WORDY_SHARE = 0.8
# Headings are set at least ~15 % larger than body text; a size used for over a quarter of
# the characters is body text however large it is.
_HEADING_SIZE_RATIO = 1.15
_MAX_HEADING_SHARE = 0.25
# Danish suspended compounds ("kvalitets- og kompetenceløft") keep their hyphen and space.
_SUSPENDED_NEXT = {"og", "eller", "samt", "and", "or", "til", "mv"}

# A grey fill: channels within this of each other, lightness in this range.
_GREY_HUE = 0.05
_GREY_MIN = 0.3
_GREY_MAX = 0.85
# Faint text is furniture only when it is also smaller than the body text.
_FAINT_SIZE_RATIO = 0.95

# Default titles of authoring tools (reportlab, Word's PDF printer), not real titles.
_PLACEHOLDER_TITLES = ("microsoft word", "untitled", "(anonymous)", "anonymous")

# pypdf logs every recoverable oddity of real-world PDFs as a warning; they are noise here.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def load_pdf(path: Path, data: bytes) -> LoadedDocument:
    """Load a .pdf file; raise LoadError for corrupt, truncated, encrypted or scanned PDFs."""
    reader = _open(path, data)
    pages = _page_lines(path, reader)
    if not any(text for lines in pages for text, _, _ in lines):
        raise LoadError(path, "no extractable text (scanned PDF?)")
    cleaned, furniture = _drop_furniture(pages)
    builder = _build(_drop_running_lines(cleaned))
    if builder.empty:
        # A page carrying one or two short lines has only edge lines, and lines alike but
        # for a number ("Punkt 3: ...") look like a running header: they are the text.
        builder = _build(_drop_running_lines(cleaned, running=False))
    if builder.empty:
        builder = _build(_drop_running_lines([[(t, s) for t, s, _ in p] for p in pages], False))
        furniture = []
    if builder.empty:
        raise LoadError(path, "no extractable text (scanned PDF?)")
    text, blocks = builder.build()
    title = _metadata_title(reader)
    if title is None:
        title = next((text[b.start : b.end] for b in blocks if b.kind == "heading"), None)
    return LoadedDocument(
        path,
        text,
        blocks,
        title=title,
        page_count=len(pages),
        publisher=_metadata_field(reader, "author"),
        chrome_text="\n".join(furniture),
    )


def _open(path: Path, data: bytes) -> PdfReader:
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        raise LoadError(path, "not a valid PDF (no %PDF header)")
    if b"%%EOF" not in data[-_TRAILER_WINDOW:]:
        raise LoadError(path, "truncated or corrupt PDF (no %%EOF end marker)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        # Many PDFs are "encrypted" only against editing, with an empty user password.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise LoadError(path, "encrypted PDF (password protected)")
        _ = len(reader.pages)
    except LoadError:
        raise
    except FileNotDecryptedError as exc:
        raise LoadError(path, "encrypted PDF (password protected)") from exc
    except NotImplementedError as exc:
        raise LoadError(path, f"encrypted PDF with unsupported encryption ({exc})") from exc
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LoadError(path, f"not a valid PDF (corrupt: {exc})") from exc
    return reader


# One extracted line: its text (whitespace collapsed) and its dominant font size in points.
_Line = tuple[str, float]
# As extracted, with whether all its characters are faint (grey).
_RawLine = tuple[str, float, bool]


def _page_lines(path: Path, reader: PdfReader) -> list[list[_RawLine]]:
    pages: list[list[_RawLine]] = []
    for page in reader.pages:
        try:
            raw, sizes, faint = _extract_with_sizes(page)
        except FileNotDecryptedError as exc:
            raise LoadError(path, "encrypted PDF (password protected)") from exc
        except Exception:  # noqa: BLE001 - one broken page must not lose the whole document
            raw, sizes, faint = "", [], []
        raw = raw.translate(_GLYPH_FIXES)  # one char to one char, so sizes stay aligned
        lines: list[_RawLine] = []
        pos = 0
        for line in raw.split("\n"):
            size = _dominant_size(line, sizes[pos : pos + len(line)])
            grey = [
                f for ch, f in zip(line, faint[pos : pos + len(line)], strict=False) if ch.strip()
            ]
            lines.append((" ".join(line.split()), size, bool(grey) and all(grey)))
            pos += len(line) + 1
        pages.append(lines)
    return pages


def _extract_with_sizes(page: PageObject) -> tuple[str, list[float], list[bool]]:
    """The page text, the font size of every character of it, and whether it is faint.

    pypdf reports each text run to the visitor in output order, so the runs concatenate to
    exactly the extracted text; if a pypdf version ever breaks that, sizes are dropped.
    Faint means a grey fill colour (neither black nor white, no hue): the colour of the page
    furniture (cookie notices, site addresses, print footers) around a printed web page.
    """
    runs: list[tuple[str, float, bool]] = []
    fill = {"faint": False}

    def before(op: bytes, args: list, cm: list[float], tm: list[float]) -> None:  # noqa: ANN001
        if op in (b"g", b"rg", b"k", b"sc", b"scn"):
            fill["faint"] = _faint_colour(op, args)

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text:
            scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
            runs.append((text, round(size * (scale or 1.0), 1), fill["faint"]))

    raw = page.extract_text(visitor_text=visit, visitor_operand_before=before) or ""
    sizes = [size for text, size, _ in runs for _ in text]
    faint = [grey for text, _, grey in runs for _ in text]
    if len(sizes) != len(raw):
        sizes, faint = [0.0] * len(raw), [False] * len(raw)
    return raw, sizes, faint


def _faint_colour(op: bytes, args: list) -> bool:  # noqa: ANN001
    try:
        values = [float(a) for a in args]
    except (TypeError, ValueError):
        return False
    if op == b"k" and len(values) == 4:
        c, m, y, k = values
        values = [(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)]
    if not values or len(values) not in (1, 3):
        return False
    return max(values) - min(values) < _GREY_HUE and _GREY_MIN <= values[0] <= _GREY_MAX


def _dominant_size(line: str, sizes: list[float]) -> float:
    weights: Counter[float] = Counter(
        size for ch, size in zip(line, sizes, strict=False) if not ch.isspace()
    )
    return weights.most_common(1)[0][0] if weights else 0.0


def _drop_furniture(pages: list[list[_RawLine]]) -> tuple[list[list[_Line]], list[str]]:
    """Blank out page furniture: faint (grey) lines smaller than the body text, chrome lines
    (cookie notices, skip links, "Find out more") and image file names; return them too."""
    chars: Counter[float] = Counter()
    for lines in pages:
        for text, size, _ in lines:
            chars[size] += len(text)
    body = chars.most_common(1)[0][0] if chars else 0.0
    cleaned: list[list[_Line]] = []
    dropped: list[str] = []
    for lines in pages:
        kept: list[_Line] = []
        for text, size, faint in lines:
            stripped = strip_image_names(text)
            if text and (
                (faint and size < body * _FAINT_SIZE_RATIO) or is_chrome_line(text) or not stripped
            ):
                dropped.append(text)
                kept.append(("", size))
            else:
                kept.append((stripped, size))
        cleaned.append(kept)
    return cleaned, dropped


def _build(pages: list[list[_Line]]) -> TextBuilder:
    size_levels = _heading_sizes(pages)
    builder = TextBuilder()
    for number, lines in enumerate(pages, start=1):
        for content, kind, level in _page_blocks(lines, size_levels):
            builder.add(content, kind, level=level, page=number)
    return builder


def _drop_running_lines(pages: list[list[_Line]], running: bool = True) -> list[list[_Line]]:
    """Remove page numbers and (unless ``running`` is false) headers/footers repeated at the
    top or bottom of most pages."""

    def key(line: str) -> str:
        # "Chapter 2: Methods 14": a running header naming the current chapter and page
        # changes wording from page to page, so such lines are compared by first word only.
        if _ENDS_WITH_PAGE_RE.search(line):
            return "page-numbered:" + re.sub(r"\d+", "#", line.split(" ", 1)[0])
        return re.sub(r"\d+", "#", line)

    def edge_indexes(lines: list[_Line]) -> list[int]:
        nonblank = [i for i, (text, _) in enumerate(lines) if text]
        return nonblank[:2] + nonblank[-2:]

    edges: Counter[str] = Counter()
    for lines in pages:
        edges.update({key(lines[i][0]) for i in edge_indexes(lines)})
    threshold = max(3, len(pages) // 2 + 1)
    repeated = {k for k, n in edges.items() if n >= threshold} if running else set()
    cleaned = []
    for lines in pages:
        edge = set(edge_indexes(lines))
        cleaned.append(
            [
                ("", size)
                if _PAGE_NUMBER_RE.fullmatch(text) or (i in edge and key(text) in repeated)
                else (text, size)
                for i, (text, size) in enumerate(lines)
            ]
        )
    return cleaned


def _heading_sizes(pages: list[list[_Line]]) -> dict[float, int]:
    """Heading level for each font size clearly larger than the body text's.

    The body size is the one most characters have. Larger sizes used on short lines are
    ranked, biggest first, as levels 1, 2, ...; a larger size carrying a big share of the
    text is a second body font, not a heading style.
    """
    chars: Counter[float] = Counter()
    short_line_sizes: set[float] = set()
    for lines in pages:
        for text, size in lines:
            chars[size] += len(text)
            if text and len(text) <= _MAX_HEADING_CHARS:
                short_line_sizes.add(size)
    total = sum(chars.values())
    if not total:
        return {}
    body = chars.most_common(1)[0][0]
    if body <= 0:
        return {}
    heading_sizes = sorted(
        (
            size
            for size in short_line_sizes
            if size >= body * _HEADING_SIZE_RATIO and chars[size] / total < _MAX_HEADING_SHARE
        ),
        reverse=True,
    )
    return {size: min(rank, 6) for rank, size in enumerate(heading_sizes, start=1)}


def heading_level(line: str) -> int | None:
    """Heading level of a PDF line, or ``None`` if it reads as body text.

    >>> heading_level("1.2 Borgerens behov"), heading_level("Pejlemærke 4: Samarbejde")
    (2, 2)
    >>> heading_level("INDLEDNING"), heading_level("3 borgere deltog i projektet.")
    (1, None)
    """
    if not line or len(line) > _MAX_HEADING_CHARS or _TOC_RE.search(line):
        return None
    keyword = _KEYWORD_RE.match(line)
    if keyword:
        return 1 if keyword.group(1) in _TOP_LEVEL_KEYWORDS else 2
    if line[-1] in ".,;:=(" or "_" in line or line[0] in _SYMBOL_BULLETS:
        return None
    numbered = _NUMBERED_RE.fullmatch(line)
    if numbered:
        title = numbered.group(2)
        if title[0].isupper() and len(title.split()) <= 12 and _wordy(title):
            return min(numbered.group(1).count(".") + 1, 6)
        return None
    letters = [ch for ch in line if ch.isalpha()]
    if (
        len(letters) >= 4
        and len(line) <= _MAX_CAPS_HEADING_CHARS
        and all(ch.isupper() for ch in letters)
        and _wordy(line)
    ):
        return 1
    return None


def _wordy(text: str) -> bool:
    """Mostly letters: a title, not a row of codes or figures ("4 CARD32 N_ENTRIES 12")."""
    chars = [ch for ch in text if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in chars)
    return letters >= _WORDY_SHARE * len(chars) and not text[-1].isdigit()


def _page_blocks(
    lines: list[_Line], size_levels: dict[float, int]
) -> list[tuple[str, BlockKind, int | None]]:
    width = max((len(text) for text, _ in lines), default=0)
    blocks: list[tuple[str, BlockKind, int | None]] = []
    if _is_contents_page([text for text, _ in lines]):
        return [(text, "other", None) for text, _ in lines if text]
    toc_at = _contents_title_index([text for text, _ in lines])
    if toc_at is not None:
        # A title page with its contents list: what precedes the list is read as usual; the
        # entries ("1. Omfang", "2. Housing First") are a list, not a run of headings.
        before = _page_blocks(lines[:toc_at], size_levels)
        return before + _contents_blocks([text for text, _ in lines[toc_at:]])
    current: list[str] = []
    kind: BlockKind = "paragraph"
    # Size of the heading just emitted, so that a heading wrapped over two lines is rejoined.
    open_heading_size: float | None = None

    def flush() -> None:
        nonlocal current
        if current:
            blocks.append((_join_lines(current), kind, None))
        current = []

    for i, (line, size) in enumerate(lines):
        if not line:
            flush()
            open_heading_size = None
            continue
        level = heading_level(line)
        if level is not None and size not in size_levels and not _numbered_heading_fits(lines, i):
            level = None
        by_size = level is None and size in size_levels and _heading_text(line)
        if by_size and open_heading_size == size and not current:
            text, _, previous_level = blocks.pop()
            blocks.append((_join_lines([text, line]), "heading", previous_level))
            continue
        if by_size:
            level = size_levels[size]
        if level is not None:
            flush()
            blocks.append((line, "heading", level))
            open_heading_size = size
            continue
        open_heading_size = None
        if _TOC_RE.search(line):
            flush()
            blocks.append((line, "other", None))
            continue
        if _BULLET_RE.match(line):
            flush()
            kind = "list_item"
        elif not current:
            kind = "paragraph"
        current.append(line)
        if line[-1] in _SENTENCE_END and len(line) < _SHORT_LINE_SHARE * width:
            flush()
    flush()
    return _demote_repeated_numbers(blocks)


def _numbered_heading_fits(lines: list[_Line], i: int) -> bool:
    """Whether a numbered line in body type ("3. Metode og data") stands as a heading.

    It must stand alone and introduce text: items of a numbered list ("1. Omfang",
    "2. Housing First") have numbered neighbours, and a numbered paragraph ("1. I denne
    vejledning ...") goes on in lower case on the next line. Keyword headings ("Kapitel 2")
    and capitals are not numbered items and always fit.
    """
    line = lines[i][0]
    if _KEYWORD_RE.match(line) or not _NUMBERED_RE.fullmatch(line):
        return True
    prev = next((text for text, _ in reversed(lines[:i]) if text), "")
    nxt = next((text for text, _ in lines[i + 1 :] if text), "")
    return (
        bool(nxt)
        and not nxt[0].islower()
        and not _BULLET_RE.match(nxt)
        and not (_BULLET_RE.match(prev) and prev[:1].isdigit())
    )


def _demote_repeated_numbers(
    blocks: list[tuple[str, BlockKind, int | None]],
) -> list[tuple[str, BlockKind, int | None]]:
    """Section numbers are unique; one repeated on a page marks table rows, not headings."""

    def number(text: str) -> str | None:
        match = _NUMBERED_RE.fullmatch(text)
        return match.group(1) if match else None

    counts = Counter(number(text) for text, kind, _ in blocks if kind == "heading")
    return [
        (text, "paragraph", None)
        if kind == "heading" and number(text) is not None and counts[number(text)] > 1
        else (text, kind, level)
        for text, kind, level in blocks
    ]


def _is_contents_page(lines: list[str]) -> bool:
    """Whether a page is a table of contents (titled so, or mostly lines ending in a number).

    >>> _is_contents_page(["Indhold", "1 Indledning 3", "2 Metode 7"])
    True
    """
    nonblank = [line for line in lines if line]
    if not nonblank:
        return False
    if any(_TOC_TITLE_RE.match(line) for line in nonblank[:3]):
        return True
    entries = sum(1 for line in nonblank if _ENDS_WITH_PAGE_RE.search(line) or _TOC_RE.search(line))
    return entries >= _MIN_TOC_LINES and entries / len(nonblank) >= _TOC_LINE_SHARE


def _contents_title_index(lines: list[str]) -> int | None:
    """Index of a "Contents"/"Indhold" line followed by at least two entries, else ``None``."""
    for i, line in enumerate(lines):
        if _TOC_TITLE_RE.match(line) and sum(1 for x in lines[i + 1 :] if x) >= _MIN_TOC_ENTRIES:
            return i
    return None


def _contents_blocks(lines: list[str]) -> list[tuple[str, BlockKind, int | None]]:
    """The contents title as a paragraph and each entry as a list item (wrapped lines joined).

    >>> _contents_blocks(["Indhold", "1. Omfang", "2. Housing First i", "Danmark"])[1:]
    [('1. Omfang', 'list_item', None), ('2. Housing First i Danmark', 'list_item', None)]
    """
    title, *entries = [line for line in lines if line]
    numbered = any(line[:1].isdigit() for line in entries)
    items: list[str] = []
    for line in entries:
        if items and (not line[:1].isdigit() if numbered else line[:1].islower()):
            items[-1] = _join_lines([items[-1], line])
        else:
            items.append(line)
    return [(title, "paragraph", None)] + [(item, "list_item", None) for item in items]


def _heading_text(line: str) -> bool:
    """Whether a line in a heading-sized font reads like a heading rather than a sentence."""
    return (
        len(line) <= _MAX_HEADING_CHARS
        and any(ch.isalpha() for ch in line)
        and line[-1] not in ",;"
        and not _TOC_RE.search(line)
    )


def _join_lines(lines: list[str]) -> str:
    """Join a paragraph's lines, rejoining words hyphenated at a line break.

    >>> _join_lines(["social-", "psykiatrien og kvalitets-", "og kompetenceløft"])
    'socialpsykiatrien og kvalitets- og kompetenceløft'
    """
    out = lines[0]
    for line in lines[1:]:
        next_word = line.split(" ", 1)[0]
        if (
            out.endswith("-")
            and len(out) > 1
            and out[-2].isalpha()
            and next_word[:1].islower()
            and next_word.rstrip(".,;:") not in _SUSPENDED_NEXT
        ):
            out = out[:-1] + line
        else:
            out = f"{out} {line}"
    return out


def _metadata_field(reader: PdfReader, name: str) -> str | None:
    """A filled-in document property (``author``, ``subject``), else ``None``."""
    try:
        value = getattr(reader.metadata, name, None) if reader.metadata else None
    except Exception:  # noqa: BLE001 - broken metadata is common and never fatal
        return None
    value = " ".join(str(value or "").split())
    if not value or value.lower().startswith(_PLACEHOLDER_TITLES) or value.lower() == "unknown":
        return None
    return value


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - broken metadata is common and never fatal
        return None
    if not title or not str(title).strip():
        return None
    title = " ".join(str(title).split())
    # Authoring tools often leave placeholders such as "Microsoft Word - rapport.docx".
    if title.lower().startswith(_PLACEHOLDER_TITLES) or title.endswith((".doc", ".docx", ".pdf")):
        return None
    return title
