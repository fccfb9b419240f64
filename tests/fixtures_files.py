"""Builders for real test files (PDF via reportlab, DOCX via python-docx), shared by tests.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = make_pdf(Path(tempfile.mkdtemp()) / "x.pdf", [["1 Indledning", "Tekst."]])
    >>> p.read_bytes()[:5]
    b'%PDF-'
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import docx
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # lets `pytest tests/...` import the packages without installing
    sys.path.insert(0, str(ROOT))

BENCHMARK_PAGES: list[list[str]] = [
    [
        "PEJLEMÆRKER FOR KVALITET",
        "1 Indledning",
        "Pejlemærkerne beskriver god kvalitet i den socialpædagogiske støtte til borgere med "
        "psykiske vanskeligheder, der bor i egen bolig. De er udarbejdet af en arbejdsgruppe "
        "med kommuner, eksperter og andre relevante ressourcepersoner.",
        "1.1 Baggrund",
        "Flere kommuner oplever et stigende antal borgere med komplekse behov. Det presser "
        "socialpsykiatrien og kræver et fælles kvalitetsbegreb på tværs af indsatser.",
    ],
    [
        "Pejlemærke 1: Recovery-orienteret tilgang",
        "Indsatsen tager udgangspunkt i borgerens egne mål, ressourcer og ønsker for et "
        "meningsfuldt liv. Medarbejderne understøtter borgerens social- og kompetence-"
        "udvikling gennem hele forløbet.",
        "• Borgeren inddrages i planlægningen af indsatsen.",
        "2.3 Samarbejde med pårørende",
        "Pårørende inddrages, når borgeren ønsker det, og samarbejdet evalueres løbende.",
    ],
    [
        "Anbefaling 3",
        "Kommunen bør følge op på indsatsen og dokumentere borgerens progression.",
        "3. Metode og data",
        "Pejlemærkerne bygger på en vidensafdækning og casebeskrivelser fra ni kommuner.",
    ],
]


def make_pdf(
    path: Path,
    pages: list[list[str]],
    *,
    encrypt: str | None = None,
    title: str | None = None,
    running_header: str | None = None,
    wrap: bool = True,
) -> Path:
    """Write a PDF with one text line per drawString; long entries are wrapped at 80 chars.

    A gap is left between entries, as real layouts do between paragraphs. With
    ``wrap=False`` each entry is drawn as exactly one line, with no gap.
    """
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    if title:
        c.setTitle(title)
    for number, entries in enumerate(pages, start=1):
        y = 800
        if running_header:
            c.setFont("Helvetica", 8)
            c.drawString(72, 815, running_header)
        for entry in entries:
            c.setFont("Helvetica", 11)
            lines = textwrap.wrap(entry, 80, break_on_hyphens=False) if wrap else [entry]
            for line in lines:
                c.drawString(72, y, line)
                y -= 14
            y -= 10 if wrap else 0
        c.setFont("Helvetica", 8)
        c.drawString(290, 30, str(number))
        c.showPage()
    c.save()
    return path


def make_styled_pdf(path: Path) -> Path:
    """A PDF laid out by reportlab's platypus: headings differ from body text only by size.

    The title is long enough to wrap onto two lines, and no heading is numbered.
    """
    styles = getSampleStyleSheet()
    body = (
        "Borgeren skal opleve en sammenhængende indsats, hvor medarbejderne arbejder "
        "recovery-orienteret og rehabiliterende, og hvor der følges op på borgerens mål. "
    )
    story = [
        Paragraph(
            "Faglige pejlemærker for kvalitet i den socialpædagogiske støtte til borgere "
            "i egen bolig",
            styles["Title"],
        ),
        Paragraph(body * 2, styles["BodyText"]),
        Paragraph("Borgerens egne mål", styles["Heading2"]),
        Paragraph(body * 3, styles["BodyText"]),
        Paragraph("Opfølgning og dokumentation", styles["Heading3"]),
        Paragraph(body, styles["BodyText"]),
    ]
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    return path


def make_blank_pdf(path: Path) -> Path:
    """A PDF whose only page has a drawing but no text, like a scan."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.rect(100, 100, 300, 300, fill=1)
    c.showPage()
    c.save()
    return path


def make_docx(path: Path) -> Path:
    """A DOCX with a title, headings, body text, a bulleted list and a 2x3 table."""
    d = docx.Document()
    d.add_heading("Indsatskatalog for botilbud", level=0)
    d.add_heading("Kerneelementer", level=1)
    d.add_paragraph("Et godt botilbud arbejder recovery-orienteret og inddrager borgeren.")
    d.add_paragraph("Fælles faglig tilgang", style="List Bullet")
    d.add_paragraph("Systematisk opfølgning", style="List Number")
    d.add_heading("Metoder og redskaber", level=2)
    table = d.add_table(rows=2, cols=3)
    for r, row in enumerate([["Metode", "Målgruppe", "Evidens"], ["IMR", "Voksne", "Høj"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph("Kataloget udkommer i 2021.")
    d.save(path)
    return path
