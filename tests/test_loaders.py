"""Loaders: canonical text + blocks for every supported type, and clear errors for bad files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pypdf
import pytest
from fixtures_files import (
    BENCHMARK_PAGES,
    make_blank_pdf,
    make_docx,
    make_pdf,
    make_styled_pdf,
)

from ingest import loaders
from ingest.loaders import SUPPORTED_SUFFIXES, LoadedDocument, LoadError, load_file

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SEED_FILES = sorted(CORPUS.glob("*.txt"))


def assert_invariants(doc: LoadedDocument) -> None:
    """Every block is a non-empty, stripped, in-order, non-overlapping span of the text."""
    assert doc.blocks, "document has no blocks"
    previous_end = 0
    for block in doc.blocks:
        content = doc.text[block.start : block.end]
        assert content, block
        assert content == content.strip(), block
        assert block.start >= previous_end, f"overlap or disorder at {block}"
        previous_end = block.end
        if block.kind == "heading":
            assert block.level is not None and 1 <= block.level <= 6, block
        else:
            assert block.level is None, block
        assert block.kind in ("heading", "paragraph", "list_item", "table", "other", "chrome")


def blocks_of(doc: LoadedDocument, kind: str) -> list[str]:
    return [doc.block_text(b) for b in doc.blocks if b.kind == kind]


def headings(doc: LoadedDocument) -> list[tuple[str, int | None]]:
    return [(doc.block_text(b), b.level) for b in doc.blocks if b.kind == "heading"]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def reason_of(path: Path, **kwargs: int) -> str:
    with pytest.raises(LoadError) as info:
        load_file(path, **kwargs)
    assert info.value.path == path
    return info.value.reason


def test_supported_suffixes() -> None:
    expected = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}
    assert expected == SUPPORTED_SUFFIXES


# --- plain text -----------------------------------------------------------------------------


def test_seed_corpus_is_present() -> None:
    assert len(SEED_FILES) >= 3


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name)
def test_seed_txt_loaded_verbatim(path: Path) -> None:
    doc = load_file(path)
    assert doc.text == path.read_bytes().decode("utf-8")
    assert_invariants(doc)


def test_seed_news_da_structure() -> None:
    doc = load_file(CORPUS / "001_5b92f40e6654ad7d.txt")
    assert doc.title == "Hvad er kvalitet på botilbud og i bostøtte?"
    found = headings(doc)
    assert found[0] == ("Hvad er kvalitet på botilbud og i bostøtte?", 1)
    for name in ("Voksende behov", "Katalog og pejlemærker", "Kontakt", "Nyhedsbrev"):
        assert (name, 2) in found
    # The date under the title and the link lines are not headings.
    assert "03-09-2020" not in [h for h, _ in found]
    assert "Litteraturstudie: Kvalitet på botilbud" not in [h for h, _ in found]


def test_seed_news_en_structure() -> None:
    doc = load_file(CORPUS / "000_b16baf14af9431b4.txt")
    assert doc.title == "What is the quality of housing and housing support?"
    assert headings(doc) == [
        ("What is the quality of housing and housing support?", 1),
        ("Growing needs", 2),
        ("Catalogue and landmarks", 2),
    ]


def test_seed_initiative_structure() -> None:
    doc = load_file(CORPUS / "003_c7958f0d3eef49fb.txt")
    assert doc.title == "The sub-initiatives on enhanced quality in social psychiatry"
    found = headings(doc)
    assert found[0] == ("The sub-initiatives on enhanced quality in social psychiatry", 1)
    # "## **...**": the span points inside the emphasis, so the heading text is clean.
    assert ("The individual sub-initiatives", 2) in found
    assert ("Competence development", 2) in found
    items = blocks_of(doc, "list_item")
    assert "- Effort catalogue on good quality housing" in items
    assert "2. Quality and development of the greatest service areas:" in items
    assert "- > How to ensure that employees have the necessary competencies" in items
    assert "Fold all the texts in or out" not in [h for h, _ in found]


def test_txt_structure(tmp_path: Path) -> None:
    text = (
        "# **Faglige pejlemærker**\n\n"
        "12. marts 2021\n\n"
        "Indledende tekst om kvalitet i bostøtten, som er længere end en overskrift.\n\n"
        "Baggrund\n\n"
        "Mange kommuner oplever et stigende antal borgere\nmed komplekse behov.\n\n"
        "- første punkt\n* andet punkt\n> - citeret punkt\n1. nummereret punkt\n\n"
        "Tilmeld dig her"
    )
    doc = load_file(write(tmp_path, "a.txt", text))
    assert doc.text == text
    assert_invariants(doc)
    assert doc.title == "Faglige pejlemærker"
    assert headings(doc) == [("Faglige pejlemærker", 1), ("Baggrund", 2)]
    assert blocks_of(doc, "list_item") == [
        "- første punkt",
        "* andet punkt",
        "> - citeret punkt",
        "1. nummereret punkt",
    ]
    assert "Mange kommuner oplever et stigende antal borgere\nmed komplekse behov." in blocks_of(
        doc, "paragraph"
    )
    assert "12. marts 2021" in blocks_of(doc, "paragraph")


def test_txt_crlf_and_bom(tmp_path: Path) -> None:
    raw = "\ufeffOverskrift\r\n\r\nFørste linje.\r\nAnden linje.\r\n".encode()
    doc = load_file(write(tmp_path, "crlf.txt", raw))
    assert doc.text == "Overskrift\n\nFørste linje.\nAnden linje.\n"
    assert_invariants(doc)


def test_txt_cp1252_danish(tmp_path: Path) -> None:
    text = "Ærø og Øresund\n\nBørn på botilbud får støtte – også i weekenden.\n"
    path = write(tmp_path, "dansk.txt", text.encode("cp1252"))
    doc = load_file(path)
    assert doc.text == text
    assert doc.title == "Ærø og Øresund"


def test_txt_latin1_fallback(tmp_path: Path) -> None:
    # 0x81 is undefined in cp1252, so only latin-1 can decode this file.
    raw = "Bostøtte\x81 og æbler.\n".encode("latin-1")
    doc = load_file(write(tmp_path, "latin.txt", raw))
    assert doc.text == "Bostøtte\x81 og æbler.\n"


def test_txt_utf16(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path, "u16.txt", "Støtte til borgere.\n".encode("utf-16")))
    assert doc.text == "Støtte til borgere.\n"


@pytest.mark.parametrize(
    "raw",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", bytes(range(1, 9)) * 20 + b"abc"],
    ids=["nul-bytes", "control-chars"],
)
def test_binary_with_text_suffix(tmp_path: Path, raw: bytes) -> None:
    assert reason_of(write(tmp_path, "image.txt", raw)) == "binary content, not text"


def test_whitespace_only_txt(tmp_path: Path) -> None:
    assert reason_of(write(tmp_path, "blank.txt", " \n\n\u00a0\n")) == "no readable text"


# --- markdown -------------------------------------------------------------------------------


def test_markdown_structure(tmp_path: Path) -> None:
    text = (
        "Kvalitetsmodel\n==============\n\n"
        "Intro med *kursiv* tekst.\n\n"
        "### Tre niveauer ###\n\n"
        "```python\n# ikke en overskrift\n\nprint('hej')\n```\n\n"
        "| Tema | Niveau |\n|---|---|\n| Recovery | Høj |\n\n"
        "Underafsnit\n-----------\n\n"
        "- punkt et\n  fortsat på næste linje\n- punkt to\n\n"
        "---\n\n"
        "Slut.\n"
    )
    doc = load_file(write(tmp_path, "model.md", text))
    assert doc.text == text
    assert_invariants(doc)
    assert doc.title == "Kvalitetsmodel"
    assert headings(doc) == [("Kvalitetsmodel", 1), ("Tre niveauer", 3), ("Underafsnit", 2)]
    assert blocks_of(doc, "other") == ["```python\n# ikke en overskrift\n\nprint('hej')\n```"]
    assert blocks_of(doc, "table") == ["| Tema | Niveau |\n|---|---|\n| Recovery | Høj |"]
    assert blocks_of(doc, "list_item") == ["- punkt et\n  fortsat på næste linje", "- punkt to"]
    assert blocks_of(doc, "paragraph") == ["Intro med *kursiv* tekst.", "Slut."]


def test_markdown_short_lines_stay_paragraphs(tmp_path: Path) -> None:
    # Plain-line heading guessing is for .txt only; markdown says what a heading is.
    doc = load_file(write(tmp_path, "x.markdown", "Kort linje\n\nEn lang forklarende tekst.\n"))
    assert headings(doc) == []
    assert doc.title is None


# --- HTML -----------------------------------------------------------------------------------

HTML_PAGE = (
    b'<html><head><meta charset="windows-1252"><title>Om os | Socialstyrelsen</title></head>'
    b'<body><nav><a href="/">Forside</a><a href="/om">Menu punkt</a></nav><main>'
    b"<h1>Kvalitet i bost\xf8tte</h1><p>Socialstyrelsen s\xe6tter fokus p\xe5 kvalitet i "
    b"socialpsykiatrien med nye litteraturstudier og pejlem\xe6rker.</p>"
    b"<h2>Voksende behov</h2><ul><li>F\xf8rste punkt om recovery og rehabilitering</li>"
    b"<li>Andet punkt om inddragelse</li></ul><p>Mange kommuner oplever et stigende antal "
    b"borgere med komplekse behov for st\xf8tte.</p></main><footer>Kontakt os</footer>"
    b"</body></html>"
)


@pytest.mark.parametrize("suffix", [".html", ".htm"])
def test_html_structure(tmp_path: Path, suffix: str) -> None:
    doc = load_file(write(tmp_path, "side" + suffix, HTML_PAGE))
    assert_invariants(doc)
    assert doc.title == "Kvalitet i bostøtte"
    assert headings(doc) == [("Kvalitet i bostøtte", 1), ("Voksende behov", 2)]
    assert len(blocks_of(doc, "list_item")) == 2
    assert "Socialstyrelsen sætter fokus på kvalitet" in doc.text
    assert "Forside" not in doc.text


def test_html_binary(tmp_path: Path) -> None:
    path = write(tmp_path, "billede.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert reason_of(path) == "binary content, not text"


def test_html_without_text(tmp_path: Path) -> None:
    path = write(tmp_path, "tom.html", "<html><body><script>var x = 1;</script></body></html>")
    assert reason_of(path) == "no readable text"


# --- PDF ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def benchmark_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "pejlemaerker.pdf"
    return make_pdf(
        path, BENCHMARK_PAGES, title="Faglige pejlemærker", running_header="Socialstyrelsen 2021"
    )


def test_pdf_headings_pages_and_text(benchmark_pdf: Path) -> None:
    doc = load_file(benchmark_pdf)
    assert_invariants(doc)
    assert doc.page_count == 3
    assert doc.title == "Faglige pejlemærker"
    found = [(doc.block_text(b), b.level, b.page) for b in doc.blocks if b.kind == "heading"]
    assert found == [
        ("PEJLEMÆRKER FOR KVALITET", 1, 1),
        ("1 Indledning", 1, 1),
        ("1.1 Baggrund", 2, 1),
        ("Pejlemærke 1: Recovery-orienteret tilgang", 2, 2),
        ("2.3 Samarbejde med pårørende", 2, 2),
        ("Anbefaling 3", 2, 3),
        ("3. Metode og data", 1, 3),
    ]
    # Wrapped lines of a paragraph become one line; page numbers and running headers go.
    paragraphs = blocks_of(doc, "paragraph")
    assert paragraphs[0].startswith("Pejlemærkerne beskriver god kvalitet i den")
    assert "\n" not in paragraphs[0] and paragraphs[0].endswith("ressourcepersoner.")
    assert "Socialstyrelsen 2021" not in doc.text
    assert [b.page for b in doc.blocks if b.kind == "paragraph"] == [1, 1, 2, 2, 3, 3]
    assert blocks_of(doc, "list_item") == ["• Borgeren inddrages i planlægningen af indsatsen."]
    assert "\n\n3\n\n" not in doc.text and not doc.text.endswith("3")


def test_pdf_headings_by_font_size(tmp_path: Path) -> None:
    doc = load_file(make_styled_pdf(tmp_path / "styled.pdf"))
    assert_invariants(doc)
    title = (
        "Faglige pejlemærker for kvalitet i den socialpædagogiske støtte til borgere i egen bolig"
    )
    # The wrapped title is one heading; reportlab's "(anonymous)" metadata title is ignored.
    assert doc.title == title
    assert headings(doc) == [
        (title, 1),
        ("Borgerens egne mål", 2),
        ("Opfølgning og dokumentation", 3),
    ]
    assert len(blocks_of(doc, "paragraph")) == 3


def test_pdf_contents_page_is_not_headings(tmp_path: Path) -> None:
    pages = [
        ["Indhold", "1 Indledning ........ 2", "1.1 Baggrund ........ 2", "2 Metode 3"],
        ["1 Indledning", "Pejlemærkerne beskriver god kvalitet i bostøtten."],
    ]
    doc = load_file(make_pdf(tmp_path / "toc.pdf", pages))
    assert_invariants(doc)
    assert [(doc.block_text(b), b.page) for b in doc.blocks if b.kind == "heading"] == [
        ("1 Indledning", 2)
    ]
    assert "2 Metode 3" in blocks_of(doc, "other")


def test_pdf_hyphenation_joined(tmp_path: Path) -> None:
    lines = [
        "Medarbejderne understøtter borgerens udvikling i social-",
        "psykiatrien gennem et kvalitets- og kompetenceløft, der er",
        "forankret i kommunen.",
    ]
    path = make_pdf(tmp_path / "bind.pdf", [lines], wrap=False)
    doc = load_file(path)
    assert blocks_of(doc, "paragraph") == [
        "Medarbejderne understøtter borgerens udvikling i socialpsykiatrien gennem et "
        "kvalitets- og kompetenceløft, der er forankret i kommunen."
    ]


def test_pdf_owner_password_only_loads(benchmark_pdf: Path, tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=str(benchmark_pdf))
    writer.encrypt(user_password="", owner_password="ejer", algorithm="AES-256")
    path = tmp_path / "owner.pdf"
    writer.write(path)
    assert "Anbefaling 3" in load_file(path).text


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("empty", "empty file (0 bytes)"),
        ("not-pdf", "not a valid PDF (no %PDF header)"),
        ("truncated", "truncated or corrupt PDF (no %%EOF end marker)"),
        ("broken-xref", "not a valid PDF (corrupt"),
        ("encrypted-reportlab", "encrypted PDF (password protected)"),
        ("encrypted-aes", "encrypted PDF (password protected)"),
        ("scanned", "no extractable text (scanned PDF?)"),
    ],
)
def test_pdf_errors(benchmark_pdf: Path, tmp_path: Path, case: str, expected: str) -> None:
    path = tmp_path / f"{case}.pdf"
    good = benchmark_pdf.read_bytes()
    if case == "empty":
        path.write_bytes(b"")
    elif case == "not-pdf":
        path.write_text("Dette er ikke en PDF, bare tekst med forkert endelse.")
    elif case == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif case == "broken-xref":
        path.write_bytes(b"%PDF-1.4\n" + b"garbage " * 100 + b"\n%%EOF\n")
    elif case == "encrypted-reportlab":
        make_pdf(path, BENCHMARK_PAGES, encrypt="hemmelig")
    elif case == "encrypted-aes":
        writer = pypdf.PdfWriter(clone_from=str(benchmark_pdf))
        writer.encrypt(user_password="bruger", owner_password="ejer", algorithm="AES-256")
        writer.write(path)
    elif case == "scanned":
        make_blank_pdf(path)
    assert reason_of(path).startswith(expected)


@pytest.mark.parametrize(
    "lines",
    [
        ["Kvalitet i bostøtten", "Kvalitet i bostøtten", "Kvalitet i bostøtten"],
        [f"Punkt {n}: borgeren bliver hørt om sin plan" for n in range(1, 6)],
        [f"Målet er nået i uge {n}" for n in range(1, 6)],
        ["Recovery", "Inddragelse", "Tilsyn", "Pårørende"],
    ],
    ids=["same-line", "numbered-alike", "ending-in-numbers", "one-word"],
)
def test_pdf_with_one_short_line_per_page_loads(tmp_path: Path, lines: list[str]) -> None:
    """Issue 12, point 11: each page's only line looked like a running header and was
    dropped, so the PDF was refused as "scanned PDF?"."""
    path = make_pdf(tmp_path / "slides.pdf", [[line] for line in lines])
    doc = load_file(path)
    assert_invariants(doc)
    assert doc.text.split("\n\n") == lines
    assert [b.page for b in doc.blocks] == list(range(1, len(lines) + 1))


def test_pdf_with_only_page_numbers_is_scanned(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "numbers.pdf", [[], [], [], []])
    assert reason_of(path) == "no extractable text (scanned PDF?)"


# --- DOCX -----------------------------------------------------------------------------------


def test_docx_structure(tmp_path: Path) -> None:
    doc = load_file(make_docx(tmp_path / "katalog.docx"))
    assert_invariants(doc)
    assert doc.title == "Indsatskatalog for botilbud"
    assert headings(doc) == [
        ("Indsatskatalog for botilbud", 1),
        ("Kerneelementer", 1),
        ("Metoder og redskaber", 2),
    ]
    assert blocks_of(doc, "list_item") == ["- Fælles faglig tilgang", "- Systematisk opfølgning"]
    assert blocks_of(doc, "table") == ["Metode | Målgruppe | Evidens\nIMR | Voksne | Høj"]
    # Document order is kept: the table comes before the closing paragraph.
    assert doc.text.endswith("IMR | Voksne | Høj\n\nKataloget udkommer i 2021.")


def test_docx_core_title_and_merged_cells(tmp_path: Path) -> None:
    d = docx.Document()
    d.core_properties.title = "Notat om bostøtte"
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Samlet overskrift"
    table.cell(1, 0).text = "a"
    table.cell(1, 1).text = "b"
    path = tmp_path / "notat.docx"
    d.save(path)
    doc = load_file(path)
    assert doc.title == "Notat om bostøtte"
    assert blocks_of(doc, "table") == ["Samlet overskrift\na | b"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("not-zip", "not a valid DOCX (not a zip package)"),
        ("zip-not-word", "not a valid DOCX (missing Word document part"),
        ("truncated", "not a valid DOCX"),
        ("no-text", "no readable text"),
    ],
)
def test_docx_errors(tmp_path: Path, case: str, expected: str) -> None:
    path = tmp_path / f"{case}.docx"
    if case == "not-zip":
        path.write_text("ikke et Word-dokument")
    elif case == "zip-not-word":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hej.txt", "hej")
    elif case == "truncated":
        good = make_docx(tmp_path / "good.docx").read_bytes()
        path.write_bytes(good[: len(good) // 2])
    else:
        docx.Document().save(path)
    assert reason_of(path).startswith(expected)


# --- any file -------------------------------------------------------------------------------


def test_oversized_file_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "stor.txt"
    with path.open("wb") as handle:
        handle.truncate(3 * 1024 * 1024 // 2)

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("file was opened despite being too big")

    monkeypatch.setattr(Path, "open", no_open)
    reason = reason_of(path, max_bytes=1024 * 1024)
    assert reason == "file is 1.5 MB, over the 1 MB limit"


def test_default_limit_is_50_mb(tmp_path: Path) -> None:
    path = tmp_path / "kæmpe.pdf"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024 + 1)
    assert reason_of(path) == "file is 50.0 MB, over the 50 MB limit"


@pytest.mark.parametrize(("name", "suffix"), [("data.xyz", ".xyz"), ("README", "(no suffix)")])
def test_unsupported_suffix(tmp_path: Path, name: str, suffix: str) -> None:
    assert reason_of(write(tmp_path, name, "tekst")) == f"unsupported file type {suffix}"


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    assert load_file(write(tmp_path, "NOTE.TXT", "Hej.\n")).text == "Hej.\n"


def test_missing_file(tmp_path: Path) -> None:
    assert reason_of(tmp_path / "væk.txt") == "file disappeared while reading"


def test_file_vanishes_between_stat_and_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "flygtig.txt", "tekst")

    def vanish(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(Path, "open", vanish)
    assert reason_of(path) == "file disappeared while reading"


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "låst.md", "tekst")

    def deny(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", deny)
    assert reason_of(path) == "permission denied (cannot read file)"


def test_directory_with_supported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "mappe.txt"
    path.mkdir()
    assert reason_of(path) == "is a directory, not a file"


def test_unexpected_loader_error_is_wrapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(path: Path, data: bytes) -> LoadedDocument:
        raise RuntimeError("parser blew up")

    monkeypatch.setitem(loaders._LOADERS, ".txt", explode)
    reason = reason_of(write(tmp_path, "x.txt", "tekst"))
    assert reason == "could not read .txt file (RuntimeError: parser blew up)"
