"""Trainers' question bank: questions grouped by the topics of the material, in both languages.

The bank is a plain YAML file a trainer can edit (``ui/question_bank.yaml``, or the file named by
``KVA_QUESTION_BANK``); it is a project file, not the store, so reading it from disk keeps the
"UI talks only HTTP for data" rule intact. It is not the evaluation suite: those questions test
the assistant (traps included); these are for teaching.

Example:
    >>> from ui.question_bank import load_bank
    >>> topics = load_bank(language="en")
    >>> topics[0].title, len(topics[0].questions) > 0
    ('Quality and recovery', True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BANK_FILE = Path(__file__).resolve().parent / "question_bank.yaml"
LANGUAGES = ("da", "en")


class BankError(ValueError):
    """The bank file cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Topic:
    title: str
    questions: list[str]


def bank_path() -> Path:
    return Path(os.environ.get("KVA_QUESTION_BANK") or BANK_FILE)


def _text(value: Any, language: str) -> str:
    if isinstance(value, dict):
        value = value.get(language) or ""
    return str(value or "").strip()


def read_bank(path: Path | None = None) -> list[dict[str, Any]]:
    """The raw topics of the bank file; a missing file is an empty bank, a broken one an error."""
    path = path or bank_path()
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BankError(f"{path.name}: {exc}") from exc
    topics = data.get("topics") if isinstance(data, dict) else None
    if not isinstance(topics, list):
        raise BankError(f"{path.name}: expected a list under 'topics'")
    for i, topic in enumerate(topics):
        if not isinstance(topic, dict) or not isinstance(topic.get("questions"), dict):
            raise BankError(f"{path.name}: topic {i + 1} needs a title and 'questions: {{da, en}}'")
    return topics


def load_bank(path: Path | None = None, language: str = "da") -> list[Topic]:
    """The topics in ``language``, in file order; topics without questions in it are left out."""
    shown: list[Topic] = []
    for i, topic in enumerate(read_bank(path)):
        questions = [_text(q, language) for q in topic["questions"].get(language) or []]
        questions = [q for q in questions if q]
        if questions:
            title = _text(topic.get("title"), language) or f"{i + 1}"
            shown.append(Topic(title=title, questions=questions))
    return shown
