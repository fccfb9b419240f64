"""File loaders: turn one file into a LoadedDocument (canonical text + structural blocks).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> p = Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_text("Kontakt\\n\\nRing til os på hverdage mellem 9 og 15.\\n")
    >>> doc = load_file(p)
    >>> doc.title, doc.block_text(doc.blocks[1])
    ('Kontakt', 'Ring til os på hverdage mellem 9 og 15.')
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.loaders.base import Block, LoadedDocument, LoadError
from ingest.loaders.docx import load_docx
from ingest.loaders.html import load_html
from ingest.loaders.limits import MAX_TEXT_CHARS, check_archive, check_text
from ingest.loaders.markdown import load_markdown
from ingest.loaders.pdf import load_pdf
from ingest.loaders.text import load_text

__all__ = [
    "DEFAULT_MAX_BYTES",
    "LOADERS_VERSION",
    "SUPPORTED_SUFFIXES",
    "Block",
    "LoadError",
    "LoadedDocument",
    "load_file",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# Bump when a loader reads the same bytes differently (chrome dropped, lists kept, metadata
# inferred): ingestion then re-reads every file instead of keeping what it read before.
LOADERS_VERSION = "loaders-v2"
_MB = 1024 * 1024

_LOADERS: dict[str, Callable[[Path, bytes], LoadedDocument]] = {
    ".txt": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_LOADERS)


def load_file(
    path: Path, max_bytes: int = DEFAULT_MAX_BYTES, max_text_chars: int = MAX_TEXT_CHARS
) -> LoadedDocument:
    """Load a supported file; every problem with the file is raised as ``LoadError``.

    The suffix picks the loader (case-insensitive). The size is checked before reading so
    that an oversized file is refused without being read into memory.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise LoadError(path, f"unsupported file type {suffix or '(no suffix)'}")
    data = _read(path, max_bytes)
    if not data:
        raise LoadError(path, "empty file (0 bytes)")
    if suffix == ".docx":
        check_archive(path, data)
    try:
        loaded = loader(path, data)
        check_text(path, loaded.text, max_text_chars)
        return loaded
    except LoadError:
        raise
    except MemoryError as exc:
        raise LoadError(path, "file too complex to read (out of memory)") from exc
    except Exception as exc:  # noqa: BLE001 - a bad file must never crash the whole ingest
        raise LoadError(
            path, f"could not read {suffix} file ({type(exc).__name__}: {exc})"
        ) from exc


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(path, _too_big(size, max_bytes))
        with path.open("rb") as handle:
            # Read one byte past the limit: the file may have grown since stat().
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise LoadError(path, "file disappeared while reading") from exc
    except IsADirectoryError as exc:
        raise LoadError(path, "is a directory, not a file") from exc
    except PermissionError as exc:
        raise LoadError(path, "permission denied (cannot read file)") from exc
    except OSError as exc:
        raise LoadError(path, f"could not read file ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise LoadError(path, _too_big(len(data), max_bytes))
    return data


def _too_big(size: int, max_bytes: int) -> str:
    return f"file is {size / _MB:.1f} MB, over the {max_bytes / _MB:g} MB limit"
