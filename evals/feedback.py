"""Thumbs-down feedback -> draft suite cases, for a person to review and complete.

The feedback store is the API's database (``assistant.db.feedback``; table ``feedback``:
id, created_at, question, answer, rating 'up'|'down', comment, history: the JSON list of turns
before a follow-up), read by its URL; an SQLite file with that table (``app.sqlite``, or the
``feedback.sqlite`` of earlier versions) is read directly. A missing file or table is not an
error: there is simply nothing to draft yet. Drafts go to ``evals/drafts/`` (or anywhere but
``evals/suites/``): a plain run reads every suite in ``evals/suites/``, and an unreviewed draft
must not slip into it.

Example:
    >>> rows = [{"id": 7, "created_at": "2026-01-01", "question": "Hvad er § 85?",
    ...          "answer": "Det ved jeg ikke.", "rating": "down", "comment": "forkert"}]
    >>> draft = draft_suite(rows)
    >>> draft["cases"][0]["id"], draft["cases"][0]["tags"]
    ('fb-7', ['from-feedback', 'needs-review'])
    >>> follow = dict(rows[0], id=8, question="og botilbud?",
    ...               history='[{"role": "user", "content": "Hvad er § 85?"}]')
    >>> draft_suite([follow])["cases"][0]["history"]
    [{'role': 'user', 'content': 'Hvad er § 85?'}]
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import yaml

from assistant.guard import mask_cpr
from evals.textutil import guess_language, normalise


def read_thumbs_down(db_path: str | Path) -> list[dict[str, Any]]:
    """Thumbs-down rows, oldest first; [] when the database or table does not exist.
    A ``str`` with ``://`` is a database URL (``postgresql://…``, ``sqlite:///…``)."""
    if isinstance(db_path, str) and "://" in db_path:
        return _read_url(db_path)
    path = Path(db_path)
    if not path.is_file():
        return []
    # A plain reader: with the API's WAL journal, reading never blocks its writes. (A
    # read-only URI cannot open a WAL database whose -shm file is missing.)
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
        # Files written before follow-ups kept their history have no such column.
        history = "history" if "history" in columns else "NULL AS history"
        rows = conn.execute(
            f"SELECT id, created_at, question, answer, rating, comment, {history} FROM feedback "
            "WHERE rating = 'down' ORDER BY created_at, id"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []  # created by something else, never written to by the API
        raise
    finally:
        conn.close()
    return [dict(r) for r in rows]


def _read_url(url: str) -> list[dict[str, Any]]:
    from sqlalchemy import inspect

    from assistant.db import Database
    from assistant.db.feedback import FeedbackStore

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return []
    db = Database(url, migrate=False)  # a reader: the API migrates, this never writes
    try:
        if not inspect(db.engine).has_table("feedback"):
            return []
        return FeedbackStore(db).thumbs_down()
    finally:
        db.dispose()


def _shorten(text: str | None, limit: int = 400) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _history(value: Any) -> list[dict[str, str]]:
    """The stored turns as suite history; unreadable or odd entries are dropped, not fatal."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    turns = []
    for turn in value or []:
        if isinstance(turn, dict) and turn.get("role") in ("user", "assistant"):
            turns.append({"role": turn["role"], "content": str(turn.get("content", ""))})
    return turns


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
        history = _history(row.get("history"))
        # A follow-up is only the same case as another with the same history before it.
        key = normalise(question + "\n" + "\n".join(t["content"] for t in history))
        if key in cases:
            cases[key]["notes"] += "\n" + note
            continue
        cases[key] = {
            "id": f"fb-{row.get('id')}",
            **({"history": history} if history else {}),
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
