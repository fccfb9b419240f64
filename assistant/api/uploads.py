"""Saving uploaded files: safe names, supported types only, size checked while copying.

Example:
    >>> from assistant.api.uploads import safe_filename
    >>> safe_filename("../../etc/Kvalitet rapport (2020).PDF")
    'Kvalitet_rapport_2020.pdf'
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import BinaryIO

from assistant.api.errors import ApiError
from assistant.guard import mask_cpr

CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^\w.-]+")
_FORM_ESCAPES = re.compile(r"%0[AaDd]|%22")


def safe_filename(name: str | None) -> str:
    """Keep only the last path component, with word characters, dots and dashes.

    CPR numbers are masked before and after every transformation: the cleaner itself can
    make one ("x 010203+1234.txt" becomes "x_010203_1234.txt").

    >>> safe_filename("x 010203+1234.TXT")
    'x_cpr-removed.txt'
    >>> safe_filename("b\uff10\uff11\uff10\uff12\uff10\uff13!1234.md")
    'bcpr-removed.md'
    """
    # Browsers (and httpx) send a line break or quote in a file name as %0A, %0D, %22
    # (WHATWG multipart): read back, so "010203%0A1234" is seen as the number it is.
    name = _FORM_ESCAPES.sub(lambda m: chr(int(m[0][1:], 16)), name or "")
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    # The name travels into uploads/, job rows, the document id, its source path and Chroma.
    base = _mask(base)
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _mask(_UNSAFE.sub("_", stem).strip("._"))[:120] or "upload"
    suffix = _UNSAFE.sub("", suffix).lower()[:10]
    return _mask(f"{stem}.{suffix}" if suffix else stem)


def _mask(name: str) -> str:
    # The mask token keeps to the safe characters, so masking never needs another cleaning.
    return mask_cpr(name, "cpr-removed")


def check_suffix(name: str, supported: set[str] | frozenset[str]) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in supported:
        allowed = ", ".join(sorted(supported))
        raise ApiError(
            415,
            "unsupported_media_type",
            f"{name}: files of type '{suffix or '(none)'}' cannot be ingested; use {allowed}.",
        )


def save_stream(source: BinaryIO, target: Path, max_bytes: int) -> int:
    """Copy ``source`` to ``target`` atomically, refusing (413) as soon as it passes max_bytes.

    A temporary file in the same folder is renamed into place, so the indexer never reads a
    half-written upload and a refused upload leaves nothing behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ApiError(
                        413,
                        "file_too_large",
                        f"{target.name} is larger than the upload limit of "
                        f"{max_bytes / CHUNK:.0f} MB.",
                    )
                out.write(chunk)
        if size == 0:
            raise ApiError(422, "empty_file", f"{target.name} is empty.")
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return size
