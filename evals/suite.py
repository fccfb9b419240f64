"""Suite files: the pydantic models and strict loading from YAML or CSV.

Every problem is reported as a ``SuiteError`` naming the file, the case id (or its index when
the id itself is missing) and the field, so an evaluator can fix a suite without reading code.

Example:
    >>> suite = parse_suite({"name": "demo", "cases": [
    ...     {"id": "q1", "question": "Hvilken paragraf?", "language": "da",
    ...      "expected_facts": [["85"]]}]}, source="demo.yaml")
    >>> suite.cases[0].expected_facts
    [['85']]
    >>> parse_suite({"name": "demo", "cases": [{"id": "q1", "question": ""}]}, source="d.yaml")
    Traceback (most recent call last):
    ...
    evals.suite.SuiteError: d.yaml: case 'q1', field 'question': String should have at least 1 ...
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SUITE_SUFFIXES = (".yaml", ".yml", ".csv")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
CSV_COLUMNS = (
    "id",
    "question",
    "language",
    "expected_facts",
    "expected_sources",
    "must_abstain",
    "history",
    "tags",
    "filters",
    "notes",
)


class SuiteError(ValueError):
    """A suite that cannot be used; the message names file, case and field."""


class HistoryTurn(BaseModel):
    """An earlier turn of the conversation, sent with follow-up questions."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class CaseFilters(BaseModel):
    """Retrieval filters passed to the assistant (same shape as ``assistant.models.Filters``)."""

    model_config = ConfigDict(extra="forbid")

    language: Literal["da", "en"] | None = None
    kind: list[str] | None = None
    doc_ids: list[str] | None = None


class Case(BaseModel):
    """One question with what a good answer must contain."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    question: str = Field(min_length=1, max_length=2000)
    language: Literal["da", "en"] | None = None
    expected_facts: list[list[str]] = Field(default_factory=list)
    expected_sources: list[str] = Field(default_factory=list)
    must_abstain: bool = False
    history: list[HistoryTurn] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    filters: CaseFilters | None = None
    notes: str | None = None

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("expected_facts", mode="before")
    @classmethod
    def _groups(cls, value: Any) -> Any:
        # A bare string is shorthand for a group with one alternative: ["85", "VIVE"] means
        # [["85"], ["VIVE"]]. YAML reads 85 as an int, so numbers become strings. Anything
        # else is left for pydantic to reject with the position named.
        def scalar(item: Any) -> Any:
            is_number = isinstance(item, int | float) and not isinstance(item, bool)
            return str(item) if is_number else item

        if isinstance(value, list):
            return [
                [scalar(item)]
                if isinstance(item, str | int | float) and not isinstance(item, bool)
                else [scalar(x) for x in item]
                if isinstance(item, list)
                else item
                for item in value
            ]
        return value

    @field_validator("expected_facts")
    @classmethod
    def _non_empty_alternatives(cls, value: list[list[str]]) -> list[list[str]]:
        for i, group in enumerate(value):
            if not group:
                raise ValueError(f"group {i} is empty; give at least one alternative")
            if any(not alt.strip() for alt in group):
                raise ValueError(f"group {i} has a blank alternative")
        return value

    @field_validator("expected_sources", "tags")
    @classmethod
    def _no_blank_items(cls, value: list[str]) -> list[str]:
        if any(not item.strip() for item in value):
            raise ValueError("items must not be blank")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        if self.must_abstain and self.expected_sources:
            raise ValueError("expected_sources makes no sense with must_abstain: true")
        return self


class Suite(BaseModel):
    """A named list of cases; ids are unique within a suite."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    corpus: str | None = Field(
        None,
        description="The folder of documents the cases were written from, relative to the "
        "suite file; the runner ingests it into a scratch store. None: the assistant's own store.",
    )
    cases: list[Case] = Field(min_length=1)
    path: str | None = Field(None, exclude=True)

    @property
    def corpus_dir(self) -> Path | None:
        """The suite's corpus folder resolved against the suite file's folder.

        The bundled dev suites name ``../../../shared/corpora/...``: the shared folder beside the
        checkout. A clone elsewhere has none there, so a path through a ``shared`` folder that is
        missing is looked up in ``$KVA_SHARED_DIR`` and then in a ``shared`` folder beside any
        folder above the suite file or the working directory; the first that exists wins, and
        with none the suite-relative path is returned (and reported missing as before).
        """
        if self.corpus is None:
            return None
        base = Path(self.path).parent if self.path else Path.cwd()
        direct = (base / self.corpus).resolve()
        parts = Path(self.corpus).parts
        if direct.is_dir() or "shared" not in parts:
            return direct
        tail = Path(*parts[parts.index("shared") + 1 :])
        roots = [Path(os.environ["KVA_SHARED_DIR"])] if os.environ.get("KVA_SHARED_DIR") else []
        for start in (base.resolve(), Path.cwd().resolve()):
            roots += [folder / "shared" for folder in (start, *start.parents)]
        return next((root / tail for root in roots if (root / tail).is_dir()), direct)


def _case_label(raw_cases: Any, index: int) -> str:
    if isinstance(raw_cases, list) and index < len(raw_cases):
        raw = raw_cases[index]
        if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
            return f"case {raw['id']!r}"
    return f"case #{index + 1}"


def _describe(exc: ValidationError, data: dict[str, Any], source: str) -> SuiteError:
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        if loc[:1] == ["cases"] and len(loc) > 1 and isinstance(loc[1], int):
            where = _case_label(data.get("cases"), loc[1])
            field = ".".join(str(p) for p in loc[2:]) or "(case)"
        else:
            where = "suite"
            field = ".".join(str(p) for p in loc) or "(suite)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {where}, field {field!r}: {msg}")
    return SuiteError("\n".join(lines))


def parse_suite(data: Any, *, source: str = "<suite>") -> Suite:
    """Validate already-parsed suite data (a mapping with name, description, cases)."""
    if not isinstance(data, dict):
        raise SuiteError(f"{source}: a suite must be a mapping with 'name' and 'cases'")
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise _describe(exc, data, source) from None
    seen: set[str] = set()
    for case in suite.cases:
        if case.id in seen:
            raise SuiteError(f"{source}: case {case.id!r}, field 'id': duplicate id")
        seen.add(case.id)
    return suite


def _split(cell: str, sep: str = ";") -> list[str]:
    return [part.strip() for part in cell.split(sep) if part.strip()]


def _csv_cell(row_id: str, column: str, cell: str, source: str) -> Any:
    """Turn one CSV cell into the YAML-equivalent value.

    Lists: ``;`` separates items; in expected_facts ``|`` separates alternatives in a group
    ("107;108" = two facts, "recovery|rehabilitering" = one fact, two spellings). A cell that
    starts with ``[`` or ``{`` is read as JSON instead, for anything the shorthand cannot say.
    """
    cell = cell.strip()
    if cell.startswith(("[", "{")):
        try:
            return json.loads(cell)
        except json.JSONDecodeError as exc:
            raise SuiteError(
                f"{source}: case {row_id!r}, field {column!r}: invalid JSON ({exc.msg})"
            ) from None
    if column == "expected_facts":
        return [_split(group, "|") for group in _split(cell)]
    if column in ("expected_sources", "tags"):
        return _split(cell)
    if column == "must_abstain":
        lowered = cell.lower()
        if lowered in ("", "false", "no", "0", "nej"):
            return False
        if lowered in ("true", "yes", "1", "ja"):
            return True
        return cell  # let pydantic reject it with the field named
    if column == "history":
        if cell:
            raise SuiteError(
                f"{source}: case {row_id!r}, field 'history': write it as a JSON list of "
                '{"role": ..., "content": ...} objects'
            )
        return []
    if column in ("language", "notes", "filters"):
        return cell or None
    return cell


def load_csv(path: Path) -> Suite:
    """Load a CSV suite: a header row with CSV_COLUMNS (id and question required)."""
    source = str(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if unknown:
            raise SuiteError(f"{source}: unknown column(s) {unknown}; allowed: {list(CSV_COLUMNS)}")
        missing = [c for c in ("id", "question") if c not in header]
        if missing:
            raise SuiteError(f"{source}: missing column(s) {missing}")
        cases = []
        for line_no, row in enumerate(reader, start=2):
            if not any((v or "").strip() for v in row.values()):
                continue  # blank lines are common in spreadsheet exports
            row_id = (row.get("id") or "").strip() or f"line {line_no}"
            case = {col: _csv_cell(row_id, col, row.get(col) or "", source) for col in header}
            case["id"] = (row.get("id") or "").strip()
            case["question"] = row.get("question") or ""
            cases.append(case)
    return parse_suite({"name": path.stem, "cases": cases}, source=source)


def load_suite(path: str | Path) -> Suite:
    """Load a ``.yaml``/``.yml`` or ``.csv`` suite file, raising ``SuiteError`` on any problem."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"{path}: no such suite file")
    if path.suffix.lower() == ".csv":
        suite = load_csv(path)
    elif path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SuiteError(f"{path}: not valid YAML: {exc}") from None
        suite = parse_suite(data, source=str(path))
    else:
        raise SuiteError(f"{path}: unknown suite format; use .yaml, .yml or .csv")
    suite.path = str(path)
    return suite


def load_runnable_suite(path: str | Path) -> Suite:
    """``load_suite``, and a ``SuiteError`` too when the corpus the suite names is not here
    (the social-dev suites need ``../shared/corpora/social-dev``)."""
    suite = load_suite(path)
    if suite.corpus_dir is not None and not suite.corpus_dir.is_dir():
        raise SuiteError(f"suite {suite.name} needs its corpus at {suite.corpus_dir}")
    return suite


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Suite paths with directories expanded to the suite files inside them, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in SUITE_SUFFIXES))
        else:
            out.append(p)
    return out


def load_suites(paths: list[str | Path]) -> list[Suite]:
    """Load several suites; suite names must be unique so results can be keyed by them."""
    suites = [load_suite(p) for p in expand_paths(paths)]
    names = [s.name for s in suites]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SuiteError(f"suite name(s) used more than once: {dupes}")
    return suites
