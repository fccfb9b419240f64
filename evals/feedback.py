"""Thumbs-down feedback -> draft suite cases, for a person to review and complete.

The feedback store is the SQLite file at ``settings.feedback_path`` (table ``feedback``:
id, created_at, question, answer, rating 'up'|'down', comment). A missing file or table is
not an error: there is simply nothing to draft yet.

Example:
    >>> rows = [{"id": 7, "created_at": "2026-01-01", "question": "Hvad er § 85?",
    ...          "answer": "Det ved jeg ikke.", "rating": "down", "comment": "forkert"}]
    >>> draft = draft_suite(rows)
    >>> draft["cases"][0]["id"], draft["cases"][0]["tags"]
    ('fb-7', ['from-feedback', 'needs-review'])
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import yaml

from assistant.guard import mask_cpr
from evals.textutil import guess_language, normalise


def read_thumbs_down(db_path: str | Path) -> list[dict[str, Any]]:
    """Thumbs-down rows, oldest first; [] when the database or table does not exist."""
    path = Path(db_path)
    if not path.is_file():
        return []
    # A plain reader: with the API's WAL journal, reading never blocks its writes. (A
    # read-only URI cannot open a WAL database whose -shm file is missing.)
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(
            "SELECT id, created_at, question, answer, rating, comment FROM feedback "
            "WHERE rating = 'down' ORDER BY created_at, id"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []  # created by something else, never written to by the API
        raise
    finally:
        conn.close()
    return [dict(r) for r in rows]


def _shorten(text: str | None, limit: int = 400) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def draft_suite(rows: list[dict[str, Any]], name: str = "from-feedback") -> dict[str, Any]:
    """A suite mapping with one draft case per distinct question (repeats are merged)."""
    cases: dict[str, dict[str, Any]] = {}
    for row in rows:
        # Stored masked by the API, but rows may come from older files or other writers.
        row = {k: mask_cpr(v) if isinstance(v, str) else v for k, v in row.items()}
        question = (row.get("question") or "").strip()
        if not question:
            continue
        note = (
            f"Thumbs down {row.get('created_at') or ''}"
            + (f"; comment: {_shorten(row.get('comment'))}" if row.get("comment") else "")
            + f"; answer given: {_shorten(row.get('answer'))}"
        )
        key = normalise(question)
        if key in cases:
            cases[key]["notes"] += "\n" + note
            continue
        cases[key] = {
            "id": f"fb-{row.get('id')}",
            "question": question,
            "language": guess_language(question),
            # Empty on purpose: only a person who knows the material can say what is right.
            "expected_facts": [],
            "expected_sources": [],
            "must_abstain": False,
            "tags": ["from-feedback", "needs-review"],
            "notes": "TODO: add expected_facts/expected_sources or set must_abstain.\n" + note,
        }
    return {
        "name": name,
        "description": "Draft cases from thumbs-down feedback. Review every case before use.",
        "cases": list(cases.values()),
    }


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.nodes.ScalarNode:
    # Multi-line notes as literal blocks: readable and editable by hand.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(suite: dict[str, Any]) -> str:
    """YAML that keeps Danish letters readable, key order as written and notes as blocks."""
    return yaml.dump(suite, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
