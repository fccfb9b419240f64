"""Limits on what a file may expand into: archive members (DOCX is a zip) and extracted text.

A 41 KB DOCX can hold megabytes of XML; parsing it all holds the single ingest lock for
minutes. The archive's declared sizes are checked before anything is decompressed (Python's
zipfile never reads past a member's declared size, so they cannot lie upwards), and the
extracted text is checked after loading.

Example:
    >>> from pathlib import Path
    >>> from ingest.loaders.limits import check_text
    >>> check_text(Path("a.txt"), "kort tekst")
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ingest.loaders.base import LoadError

_MB = 1024 * 1024
# Defaults; ingest.settings carries the configurable values (KVA_MAX_MEMBER_MB ...).
MAX_MEMBER_BYTES = 25 * _MB
MAX_UNPACKED_BYTES = 100 * _MB
MAX_TEXT_CHARS = 2_000_000
# Structure per file: a 1,000-page report has about 15,000 paragraphs; a 100 KB DOCX of
# 420,000 empty paragraphs held the ingest lock for minutes. Counted before they are read.
MAX_ELEMENTS = 100_000
MAX_TABLE_CELLS = 200_000
# Wall-clock budget for reading one file (ingest.loaders.isolated runs the loader in a child
# process and stops it when the budget is spent).
MAX_LOAD_SECONDS = 120.0


def check_archive(
    path: Path,
    data: bytes,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
) -> None:
    """Refuse a zip whose members would unpack past the limits (before unpacking any)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        return  # the loader reports a broken file in its own words
    total = 0
    for member in members:
        if member.file_size > max_member_bytes:
            raise LoadError(
                path,
                f"archive member {member.filename} unpacks to {member.file_size / _MB:.0f} MB, "
                f"over the {max_member_bytes / _MB:g} MB limit per member",
            )
        total += member.file_size
    if total > max_unpacked_bytes:
        raise LoadError(
            path,
            f"file unpacks to {total / _MB:.0f} MB, over the {max_unpacked_bytes / _MB:g} MB limit",
        )


def check_text(path: Path, text: str, max_chars: int = MAX_TEXT_CHARS) -> None:
    if len(text) > max_chars:
        raise LoadError(
            path,
            f"extracted text is {len(text):,} characters, over the {max_chars:,} limit per file",
        )
