"""Document metadata: the corpus manifest (``manifest.yaml`` beside the files) or inference.

A manifest maps file names to metadata::

    documents:
      001_nyhed.txt:
        id: nyhed-kvalitet-da
        title: Hvad er kvalitet på botilbud og i bostøtte?
        language: da
        kind: news
        published: 2020-09-03
        publisher: Socialstyrelsen
        translation_of: null

A file without an entry gets its title from its first heading (or its file name), its
language detected from its text, and its date, publisher and kind inferred from its text and
title (``infer_meta``; the rules are in ``ingest.meta_inference``).

Example:
    >>> from ingest.manifest import slugify
    >>> slugify("Faglige pejlemærker for kvalitet i bostøtten.pdf")
    'faglige-pejlemaerker-for-kvalitet-i-bostoetten-pdf'
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.cpr import mask_cpr
from ingest.language import detect_language
from ingest.loaders.base import LoadedDocument
from ingest.loaders.chrome import is_chrome_line
from ingest.meta_inference import infer_kind, infer_published, infer_publisher

Kind = Literal[
    "news",
    "initiative",
    "benchmark",
    "catalogue",
    "literature-study",
    "guideline",
    "law",
    "report",
    "method",
    "other",
]
KINDS: tuple[str, ...] = get_args(Kind)
MANIFEST_NAMES = ("manifest.yaml", "manifest.yml")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


class ManifestError(ValueError):
    """A manifest that cannot be read; the message names the file, entry and field."""


class DocumentMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str = Field(min_length=1)
    language: str
    kind: str = "other"
    published: str | None = None
    publisher: str | None = None
    translation_of: str | None = None

    @field_validator("id", "translation_of")
    @classmethod
    def _valid_id(cls, value: str | None) -> str | None:
        if value is not None and not _ID.match(value):
            raise ValueError("ids are 1-128 chars of a-z 0-9 . _ -, starting with a letter/digit")
        return value

    @field_validator("language")
    @classmethod
    def _valid_language(cls, value: str) -> str:
        if value not in ("da", "en", "other"):
            raise ValueError("language must be 'da', 'en' or 'other'")
        return value

    @field_validator("kind")
    @classmethod
    def _valid_kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        return value

    @field_validator("published", mode="before")
    @classmethod
    def _date(cls, value: object) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise ValueError("published must be a date YYYY-MM-DD") from exc


def slugify(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:100] or "document"
    # Masked after the transformation: folding and dashes can make a CPR number of a name.
    return mask_cpr(slug, "cpr-removed")


def load_manifest(folder: Path) -> dict[str, DocumentMeta]:
    """Entries of the manifest in ``folder`` keyed by file name; {} when there is none."""
    path = next((folder / n for n in MANIFEST_NAMES if (folder / n).is_file()), None)
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: not valid YAML ({exc.__class__.__name__})") from exc
    entries = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ManifestError(f"{path}: expected a mapping 'documents: {{file name: metadata}}'")
    metas: dict[str, DocumentMeta] = {}
    for name, entry in entries.items():
        try:
            metas[str(name)] = DocumentMeta.model_validate(entry or {})
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "entry"
            raise ManifestError(f"{path}: entry {name!r}, field {field!r}: {err['msg']}") from exc
    ids = [m.id for m in metas.values()]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ManifestError(f"{path}: duplicate document ids {', '.join(dupes)}")
    return metas


def infer_meta(
    path: Path, text: str, title: str | None, *, loaded: LoadedDocument | None = None
) -> DocumentMeta:
    """Metadata for a file that has no manifest entry.

    The title is the loader's (the real heading, or a text file's plain first line) unless
    that is page chrome; then the first heading or line that is not, else the file name.
    Date, publisher and kind are read from the text (``ingest.meta_inference``); a loaded
    document adds its dropped page furniture and its file properties as evidence.
    """
    chrome_text = loaded.chrome_text if loaded else ""
    if loaded is not None:
        chrome_text += "\n" + "\n".join(
            loaded.text[b.start : b.end] for b in loaded.blocks if b.kind == "chrome"
        )
    title = _usable_title(title, text, loaded) or path.stem.replace("_", " ").strip() or path.name
    language = detect_language(text[:5000], default="da") or "da"
    published = infer_published(text, chrome_text, loaded.published if loaded else None, title)
    publisher = infer_publisher(text, chrome_text, loaded.publisher if loaded else None, title)
    kind = infer_kind(title, text)
    return DocumentMeta(
        id=slugify(path.stem),
        title=title[:300],
        language=language,
        kind=kind,
        published=published,
        publisher=publisher[:200] if publisher else None,
    )


def _usable_title(title: str | None, text: str, loaded: LoadedDocument | None) -> str | None:
    title = " ".join((title or "").split())
    if title and not is_chrome_line(title):
        return title
    if loaded is None:
        return None
    for block in loaded.blocks:
        if block.kind == "heading":
            line = " ".join(text[block.start : block.end].split()).lstrip("# ").strip("*_ ")
            if line and not is_chrome_line(line):
                return line
    return None
