"""Loaders, chunker and metadata on files shaped like real scraped pages and publications.

Every file here is written by the test in the shape seen on real material (issue 9): chrome
lines in text and Markdown, HTML with <header><nav>/<footer>, PDFs with grey chrome, running
headers and 'Side x af y' footers, a title page with a contents list, and DOCX with chrome
paragraphs and core properties.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.chunker import Chunker, approximate_tokens
from ingest.loaders import LoadedDocument, load_file
from ingest.loaders.chrome import is_chrome_line

BODY_DA = (
    "Bostøtte efter servicelovens § 85 gives til borgere, der på grund af betydelig nedsat "
    "psykisk funktionsevne har behov for hjælp til at mestre hverdagen i egen bolig. "
)
BODY_EN = (
    "Housing support under section 85 of the Service Act is given to citizens who need help "
    "to manage everyday life in their own home because of a reduced mental capacity. "
)
CHROME_RE = re.compile(
    r"gå til indhold|skip to|cookie|sidst opdateret|last update|læs mere$|»|\]\(#\)|"
    r"\d{3,4}x\d{3,4}|side \d+ af \d+|page \d+ of \d+",
    re.IGNORECASE | re.MULTILINE,
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def chunk_texts(doc: LoadedDocument, min_tokens: int = 40) -> list[str]:
    return [doc.text[c.start : c.end] for c in Chunker(min_tokens, 220).run(doc)]


# --- chrome ---------------------------------------------------------------------------------


def test_chrome_lines_are_recognised_by_shape_not_by_file() -> None:
    chrome = [
        "Gå til indhold",
        "Skip to main content",
        "Spring til hovedindhold",
        "Acceptér og luk",
        "Vi bruger cookies til at huske dine indstillinger på hjemmesiden.",
        "This website uses cookies to improve your experience.",
        "Sidst opdateret 12.03.2024",
        "Last updated: 4 May 2022",
        "Click here to download the report",
        "Forside » Borger » Handicap » Bostøtte",
        "Home > News > Mental health",
        "Hjem Borger Sociale tilbud Bostøtte efter § 85",
        "2000x1125_header3",
        "tegning-bostotte-660x498.jpg",
        "[Læs rapporten](#)",
        "Overskrift:",
        "Tekst:",
        "Til toppen",
        "Kommunen · Rådhusgade 1 · Tlf. 12 34 56 78 · post@kommune.dk",
    ]
    content = [
        "Bostøtte",
        "Læs mere om bostøtte i vejledningen, som ministeriet udgav i 2023.",
        "Kommunen skal tilbyde cookies og kaffe til borgerne ved mødet.",
        "Socialpædagogisk bistand/bostøtte",
        "1. Indledning",
        "Målgruppe: borgere med psykiske vanskeligheder",
        BODY_DA.strip(),
    ]
    assert [s for s in chrome if not is_chrome_line(s)] == []
    assert [s for s in content if is_chrome_line(s)] == []


def test_text_file_chrome_is_marked_and_never_chunked(tmp_path: Path) -> None:
    text = (
        "Acceptér og Luk\n\n"
        "Sådan bruger hjemmesiden cookies\n\n"
        "Forside » Voksne » Bostøtte\n\n"
        "Bostøtte i egen bolig: en guide\n\n"
        f"{BODY_DA * 3}\n\n"
        "Til toppen\n\n"
        "Målgruppe\n\n"
        f"{BODY_DA * 2}\n\n"
        "Sidst opdateret 03-06-2021\n"
    )
    doc = load_file(write(tmp_path, "side.txt", text))
    assert doc.text == text  # verbatim: offsets point into the file's own text
    assert doc.title == "Bostøtte i egen bolig: en guide"
    chunks = chunk_texts(doc)
    assert chunks
    for chunk in chunks:
        assert not CHROME_RE.search(chunk), chunk
        assert "Til toppen" not in chunk
    assert sum(BODY_DA.strip() in c for c in chunks) >= 2


def test_markdown_breadcrumb_and_link_rows_are_chrome(tmp_path: Path) -> None:
    text = (
        "Gå til indhold\n\n"
        "Forside » Voksne » Recovery » Indsatser » Peer-støtte\n\n"
        "# Peer-støtte\n\n"
        f"{BODY_DA * 2}\n\n"
        "[Se alle indsatser](#)\n\n"
        "1600x900_new4\n\n"
        f"{BODY_DA}\n"
    )
    doc = load_file(write(tmp_path, "side.md", text))
    assert doc.title == "Peer-støtte"
    kinds = {doc.text[b.start : b.end]: b.kind for b in doc.blocks}
    assert kinds["Gå til indhold"] == "chrome"
    assert kinds["[Se alle indsatser](#)"] == "chrome"
    assert kinds["1600x900_new4"] == "chrome"
    for chunk in chunk_texts(doc):
        assert not CHROME_RE.search(chunk), chunk


def test_text_title_is_the_plain_first_line_not_chrome(tmp_path: Path) -> None:
    text = (
        "Vi bruger cookies på hjemmesiden til statistik.\n\n"
        "SocialAnalyse: et nyt redskab til kommunernes socialpsykiatri\n"
        "Redskabet samler data om borgernes forløb og resultater i bostøtten, så kommunen "
        "kan følge udviklingen over tid.\n\n"
        f"{BODY_DA}\n"
    )
    doc = load_file(write(tmp_path, "analyse.txt", text))
    assert doc.title == "SocialAnalyse: et nyt redskab til kommunernes socialpsykiatri"


# --- chunk floor ----------------------------------------------------------------------------


def test_no_chunk_under_the_floor_across_small_sections(tmp_path: Path) -> None:
    # A title section with one line, a heading over a one-line date sentence (the only
    # mention of the Act's date), and a normal section: the small ones must be merged.
    text = (
        "# Lov om social service\n\n"
        "Loven trådte i kraft 1. juli 1998.\n\n"
        "## Formål\n\n"
        f"{BODY_DA * 3}\n\n"
        "## Ikrafttræden\n\n"
        "Bekendtgørelsen gælder fra 1. januar 2024.\n\n"
        "## Målgruppe\n\n"
        f"{BODY_DA * 3}\n"
    )
    doc = load_file(write(tmp_path, "lov.md", text))
    chunks = Chunker(40, 220).run(doc)
    texts = [doc.text[c.start : c.end] for c in chunks]
    assert len(chunks) >= 2
    assert all(c.tokens >= 40 for c in chunks), [
        (c.tokens, t[:40]) for c, t in zip(chunks, texts, strict=True)
    ]
    assert any("1. januar 2024" in t for t in texts)
    assert any("1. juli 1998" in t for t in texts)
    for c in chunks:
        assert approximate_tokens(doc.text[c.start : c.end]) >= 40


# --- PDF ------------------------------------------------------------------------------------


def _pdf(path: Path, pages: list[list[tuple[str, float, float]]], header: str = "") -> Path:
    """Draw (text, font size, grey level) lines; every page gets a 'Side x af y' footer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle("")
    for number, lines in enumerate(pages, start=1):
        if header:
            c.setFont("Helvetica", 8)
            c.setFillGray(0.5)
            c.drawString(72, 815, header)
        y = 790
        for text, size, grey in lines:
            c.setFont("Helvetica", size)
            c.setFillGray(grey)
            c.drawString(72, y, text)
            y -= size + 6
        c.setFont("Helvetica", 8)
        c.setFillGray(0.5)
        c.drawString(250, 30, f"Side {number} af {len(pages)}")
        c.showPage()
    c.save()
    return path


def test_pdf_grey_chrome_and_page_footers_are_dropped(tmp_path: Path) -> None:
    body = [
        ("Kommunen tilbyder bostøtte til borgere med psykiske vanskeligheder, der bor", 10, 0),
        ("i egen bolig. Støtten tilrettelægges sammen med borgeren ud fra egne mål.", 10, 0),
    ]
    page = [
        ("Acceptér og Luk", 8, 0.5),
        ("Vi bruger cookies til statistik om brugen af hjemmesiden.", 8, 0.5),
        ("Forlaget Eksempel · Tlf. 70 10 20 30 · www.eksempel.dk", 8, 0.5),
        ("Vejledning om bostøtte", 16, 0),
        *body,
    ]
    doc = load_file(_pdf(tmp_path / "vejl.pdf", [page, body]))
    assert doc.title == "Vejledning om bostøtte"
    assert "cookies" not in doc.text and "Side 1 af 2" not in doc.text
    assert "Acceptér" not in doc.text and "Tlf." not in doc.text
    assert "cookies" in doc.chrome_text  # kept aside for metadata, never chunked
    for chunk in chunk_texts(doc, min_tokens=10):
        assert not CHROME_RE.search(chunk), chunk


def test_composite_pdf_contents_and_numbered_lists_stay_lists(tmp_path: Path) -> None:
    title_page = [
        ("Bostøtte og botilbud – et samlet", 22, 0),
        ("overblik", 22, 0),
        ("Sammensat dokument", 12, 0),
        ("Indhold", 12.5, 0),
        ("1. Målgruppe", 11, 0),
        ("2. Metoder i bostøtten", 11, 0),
        ("3. Tilsyn", 11, 0),
    ]
    chapter = [
        ("1. Målgruppe", 15, 0),
        ("Bostøtte gives til borgere med betydelig nedsat psykisk funktionsevne.", 10, 0),
        ("Støtten bygger på otte principper:", 10, 0),
        ("1. Borgeren er ekspert i eget liv.", 10, 0),
        ("2. Støtten tager afsæt i borgerens egne mål.", 10, 0),
        ("3. Pårørende inddrages, når borgeren ønsker det.", 10, 0),
        ("4. Indsatsen følges op og evalueres løbende.", 10, 0),
    ]
    chapter2 = [
        ("2. Metoder i bostøtten", 15, 0),
        ("Kommunerne anvender metoder som CTI, ICM og ACT i den specialiserede bostøtte.", 10, 0),
    ]
    header = "Bostøtte og botilbud · Socialstyrelsen · sammensat dokument"
    doc = load_file(_pdf(tmp_path / "samlet.pdf", [title_page, chapter, chapter2], header))
    headings = [doc.block_text(b) for b in doc.blocks if b.kind == "heading"]
    assert headings[0].startswith("Bostøtte og botilbud – et samlet overblik")
    assert headings.count("1. Målgruppe") == 1 and "2. Metoder i bostøtten" in headings
    assert "3. Tilsyn" not in headings
    items = [doc.block_text(b) for b in doc.blocks if b.kind == "list_item"]
    assert "1. Borgeren er ekspert i eget liv." in items
    assert "4. Indsatsen følges op og evalueres løbende." in items
    assert header not in doc.text and "Side 2 af 3" not in doc.text
    assert doc.title == "Bostøtte og botilbud – et samlet overblik"


# --- HTML and DOCX --------------------------------------------------------------------------


def test_html_chrome_dropped_and_footer_date_used(tmp_path: Path) -> None:
    from ingest.manifest import infer_meta

    html = (
        '<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"></head><body>'
        "<header><nav><p>Gå til indhold</p><p>Forside » Voksne » Bostøtte</p></nav></header>"
        "<main><h1>Bostøtte efter § 85</h1>"
        "<p>Overskrift:</p><h2>Hvem kan få bostøtte?</h2><p>Tekst:</p>"
        f"<p>{BODY_DA * 2}</p><p>2000x1125_header3</p>"
        "<h2>Formål</h2>"
        f"<p>{BODY_DA * 2}</p></main>"
        "<footer><p>Sidst opdateret 06/05 2015</p><p>© Socialstyrelsen</p></footer>"
        "</body></html>"
    )
    path = write(tmp_path, "side.html", html)
    doc = load_file(path)
    assert doc.title == "Bostøtte efter § 85"
    for label in ("Overskrift:", "Tekst:", "2000x1125_header3", "Gå til indhold"):
        assert label not in doc.text
    headings = [doc.block_text(b) for b in doc.blocks if b.kind == "heading"]
    assert "Hvem kan få bostøtte?" in headings
    for chunk in chunk_texts(doc):
        assert not CHROME_RE.search(chunk), chunk
    meta = infer_meta(path, doc.text, doc.title, loaded=doc)
    assert meta.published == "2015-05-06"
    assert meta.publisher == "Socialstyrelsen"


def test_docx_chrome_paragraphs_dropped_and_properties_used(tmp_path: Path) -> None:
    import docx

    from ingest.manifest import infer_meta

    d = docx.Document()
    d.add_paragraph("Skip til hoved indholdet")
    d.add_paragraph("Hjem Borger Hjælp og støtte Kvalitetsstandarder Bostøtte efter § 85")
    d.add_paragraph("bostotte_1600x900.jpg")
    d.add_heading("Kvalitetsstandard for bostøtte efter § 85", level=1)
    d.add_paragraph("Godkendt af Socialudvalget den 17. april 2023")
    d.add_paragraph(BODY_DA * 2)
    d.core_properties.author = "Eksempel Kommune"
    path = tmp_path / "standard.docx"
    d.save(path)
    doc = load_file(path)
    assert doc.text.startswith("Kvalitetsstandard for bostøtte efter § 85")
    assert "Skip til" not in doc.text and ".jpg" not in doc.text
    meta = infer_meta(path, doc.text, doc.title, loaded=doc)
    assert meta.title == "Kvalitetsstandard for bostøtte efter § 85"
    assert meta.published == "2023-04-17"
    assert meta.publisher == "Eksempel Kommune"
    assert meta.kind == "guideline"


# --- metadata inference ---------------------------------------------------------------------


def test_published_dates_are_read_from_labelled_statements() -> None:
    from ingest.meta_inference import infer_published

    assert infer_published("Nyhed\n\n03-06-2021\n\n" + BODY_DA) == "2021-06-03"
    assert infer_published("Homelessness in Denmark\n\nReport 17 Jan 2017\n\n") == "2017-01-17"
    assert infer_published("Godkendt 17. april 2023\n\n" + BODY_DA) == "2023-04-17"
    assert infer_published("Publiceret 1. DEC 2011") == "2011-12-01"
    assert (
        infer_published(
            "Submitted: 6 April 2018 | Accepted: 4 July 2018 | Published: 28 September 2018"
        )
        == "2018-09-28"
    )
    assert infer_published("", chrome_text="Updated 27 JAN 2021") == "2021-01-27"
    # The document's own number and date, not an older one it replaces or an act it cites.
    text = (
        "Vejledning nr. 9764 af 2/10 2023.\n\nVejledningen afløser vejledning nr. 10284 af "
        "11. december 2017, jf. lovbekendtgørelse nr. 1089 af 16. august 2023."
    )
    assert infer_published(text, title="Vejledning om bostøtte") == "2023-10-02"
    replaced = (
        "Vejledningen afløser Vejledning nr. 8 af 15. februar 2011, Vejledning nr. 97 af "
        "30. november 2011 og Vejledning nr. 9596 af 31. oktober 2013."
    )
    assert infer_published(replaced, title="Vejledning om magtanvendelse") is None
    # Only a year, or a date inside running text with no label: not a publication date.
    assert infer_published("Strategien 2009-2013 blev evalueret i 2014.") is None
    assert infer_published(BODY_DA + "Loven trådte i kraft 1. juli 1998 for alle.") is None
    # The 13th month does not exist: day first, and impossible dates are skipped.
    assert infer_published("Dato: 12/13/2020") is None


def test_publisher_is_read_from_statements() -> None:
    from ingest.meta_inference import infer_publisher

    assert infer_publisher("Rapport\n\n© 2019 Socialstyrelsen. Alle rettigheder forbeholdt.") == (
        "Socialstyrelsen"
    )
    assert infer_publisher("Udgivet af Social- og Boligstyrelsen\n\n" + BODY_DA) == (
        "Social- og Boligstyrelsen"
    )
    assert infer_publisher("Published by The Ministry of Social Affairs\n\n") == (
        "The Ministry of Social Affairs"
    )
    assert infer_publisher(BODY_DA + BODY_EN) is None
    assert infer_publisher(BODY_DA, hint="Eksempel Kommune") == "Eksempel Kommune"


def test_kind_is_inferred_from_title_and_content() -> None:
    from assistant.models import KINDS as MODEL_KINDS
    from ingest.manifest import KINDS
    from ingest.meta_inference import KIND_KEYWORDS, infer_kind

    assert set(KIND_KEYWORDS) | {"other"} == set(KINDS) == set(MODEL_KINDS)
    law = (
        "1. § 8 Socialtilsynet træffer afgørelse om skærpet tilsyn.\n2. Stk. 2. Socialtilsynet kan"
    )
    assert infer_kind("Socialtilsynsloven § 8", law) == "law"
    assert infer_kind("Consolidation Act on Social Services", "Part 1\n\n(1) The purpose") == "law"
    assert infer_kind("Vejledning om bostøtte", "Vejledningen beskriver reglerne.") == "guideline"
    assert infer_kind("Nyhed: Flere får bostøtte", "Af Anne Hansen\n\n" + BODY_DA) == "news"
    assert infer_kind("Homelessness in Denmark 2011", "Report 1 Dec 2011. The study shows") == (
        "report"
    )
    assert infer_kind("CTI-metodemanual", "Metoden er en tidsafgrænset indsats.") == "method"
    assert infer_kind("Faglige pejlemærker for bostøtten", BODY_DA) == "benchmark"
    assert infer_kind("Litteraturstudie: kvalitet i botilbud", BODY_DA) == "literature-study"
    assert infer_kind("Indsatskatalog", BODY_DA) == "catalogue"
    assert infer_kind("Kontakt", "Ring til os på hverdage mellem 9 og 15.") == "other"


def test_small_last_section_joins_a_full_neighbour() -> None:
    from ingest.loaders.base import Block

    body = BODY_EN.strip()
    text = f"Organisation\n\n{body} {body}\n\nAdult area:\n\nAimed at people aged 26 to 65."
    h2 = text.index("Adult area:")
    blocks = [
        Block(0, 12, "heading", 1),
        Block(14, h2 - 2, "paragraph"),
        Block(h2, h2 + 11, "heading", 2),
        Block(h2 + 13, len(text), "paragraph"),
    ]
    doc = LoadedDocument(Path("x.md"), text, blocks)
    apart = Chunker(10, 90).run(doc)
    assert len(apart) == 2 and apart[1].tokens < 40  # together they are over max_tokens
    assert approximate_tokens(text) > 90
    chunks = Chunker(40, 90).run(doc)
    assert [(c.start, c.end) for c in chunks] == [(0, len(text))]
    assert chunks[0].section == "Organisation"
