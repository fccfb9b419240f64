"""The dictionary bridge: FreeDict's dictd files read, stemmed both ways, and used only where
the fitted model asks for it (``coverage_bridged``), never in the strict coverage."""

from __future__ import annotations

import doctest
import gzip
import logging
from pathlib import Path

import pytest

import assistant.lexicon
from assistant.candidates import CandidateBuilder
from assistant.glossary import Glossary
from assistant.lexicon import DICTIONARIES, Lexicon, read_dictd
from assistant.retriever import query_terms

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(n: int) -> str:
    out = ""
    while True:
        out = _B64[n % 64] + out
        n //= 64
        if n == 0:
            return out


def write_dictd(directory: Path, name: str, entries: list[tuple[str, str]]) -> None:
    """A dictionary in dictd's format: a gzip'd text of entries and an index of base-64
    offsets, as the Debian packages ship them."""
    data = b""
    index = []
    for head, body in [("00-database-info", "A test dictionary.\n"), *entries]:
        raw = body.encode("utf-8")
        index.append(f"{head}\t{_b64(len(data))}\t{_b64(len(raw))}")
        data += raw
    (directory / f"{name}.dict.dz").write_bytes(gzip.compress(data))
    (directory / f"{name}.index").write_text("\n".join(index) + "\n", encoding="utf-8")


@pytest.fixture
def dictionaries(tmp_path: Path) -> Path:
    write_dictd(
        tmp_path,
        "freedict-dan-eng",
        [
            ("formål", "formål /fˈɒɒmɒl/ <n>\naim, goal, purpose\n"),
            ("støtte", "støtte /stˈʔœtə/ <v>\n1. support\n2. lean [on something]\n"),
            ("andel", "andel\nshare (of something)\n"),
            ("bolig", "bolig <n>\na place where one lives for a long time\n"),
            ("sygehus", "sygehus /x/ <n>\nhospital\n"),
        ],
    )
    write_dictd(tmp_path, "freedict-eng-dan", [("year", "year /jɪə/ <n>\når\n")])
    return tmp_path


def test_docstring_examples_run() -> None:
    result = doctest.testmod(assistant.lexicon)
    assert result.failed == 0 and result.attempted > 0


def test_dictd_files_are_read_both_ways(dictionaries: Path) -> None:
    heads = [h for h, _ in read_dictd(*_files(dictionaries, "freedict-dan-eng"))]
    assert heads == ["formål", "støtte", "andel", "bolig", "sygehus"]  # no database info

    lexicon = Lexicon.load((dictionaries,))
    assert lexicon.source == "freedict-dan-eng, freedict-eng-dan"
    assert lexicon.translate("formål", "da") == [("aim",), ("goal",), ("purpos",)]
    # Sense numbers and bracketed notes are not words of the translation.
    assert lexicon.translate("støt", "da") == [("lean",), ("support",)]
    assert lexicon.translate("andel", "da") == [("share",)]
    # An explanation is not a word for the word.
    assert lexicon.translate("bolig", "da") == []
    # English head words are read too, and each pair is looked up in either direction.
    assert lexicon.translate("year", "en") == [("år",)]
    assert lexicon.translate("år", "da") == [("year",)]
    assert lexicon.translate("hospit", "en") == [("sygehus",)]
    assert "freedict-dan-eng" in lexicon.description


def test_missing_dictionaries_leave_an_empty_lexicon_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kva.lexicon"):
        lexicon = Lexicon.load((tmp_path / "nowhere",))
    assert len(lexicon) == 0 and lexicon.translate("formål", "da") == []
    assert "no FreeDict dictionaries" in caplog.text and "setup.sh" in caplog.text


def test_a_garbled_dictionary_is_left_out_with_a_warning(
    dictionaries: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (dictionaries / "freedict-eng-dan.dict.dz").write_bytes(b"not gzip at all")
    with caplog.at_level(logging.WARNING, logger="kva.lexicon"):
        lexicon = Lexicon.load((dictionaries,))
    assert "cannot read the dictionary" in caplog.text and "freedict-eng-dan" in caplog.text
    assert lexicon.source == "freedict-dan-eng"
    assert lexicon.translate("formål", "da")  # the other dictionary still counts


def test_the_bridge_counts_only_in_bridged_coverage(dictionaries: Path) -> None:
    """A Danish question's everyday words match an English sentence through the dictionary in
    ``coverage_bridged``; the strict coverage (glossary, names, numbers) stays as it was."""
    glossary = Glossary([], Lexicon.load((dictionaries,)))
    terms = query_terms("Hvad er formålet med støtten?", "da", glossary)
    assert terms.concepts[0].forms == {"da": [("formål",)]}
    assert ("purpos",) in terms.concepts[0].translations["en"]
    # The dictionary does not widen the keyword search.
    assert terms.tokens("en") == [] and terms.languages == ["da"]

    builder = CandidateBuilder(glossary)
    weights = [1.0] * len(terms.concepts)
    sentence = "The purpose of the support is to help people help themselves."
    strict = builder.coverage(sentence, "en", terms.concepts, weights)
    bridged = builder.coverage(sentence, "en", terms.concepts, weights, bridged=True)
    assert strict == 0.0 and bridged == 1.0
    # Without the dictionary nothing bridges.
    plain = Glossary([], Lexicon([]))
    terms = query_terms("Hvad er formålet med støtten?", "da", plain)
    assert builder.coverage(sentence, "en", terms.concepts, weights, bridged=True) == 0.0


def _files(directory: Path, name: str) -> tuple[Path, Path]:
    assert name in {n for n, _ in DICTIONARIES}
    return directory / f"{name}.index", directory / f"{name}.dict.dz"
