"""Trainers' question bank: questions grouped by the topics of the material, in both languages.

The bank is a plain YAML file a trainer can edit (``assistant/question_bank.yaml``, or the file
named by ``KVA_QUESTION_BANK``). The API serves it (``GET /api/study/topics``) and builds study
material from it; the UI gets it from there. It is not the evaluation suite: those questions
test the assistant (traps included); these are for teaching.

Example:
    >>> from assistant.question_bank import bank_topics
    >>> topic = bank_topics()[0]
    >>> topic["n"], topic["title"]["en"], len(topic["questions"]["da"]) > 0
    (1, 'Quality and recovery', True)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

BANK_FILE = Path(__file__).resolve().parent / "question_bank.yaml"
LANGUAGES = ("da", "en")


class BankError(ValueError):
    """The bank file cannot be read; the message names the file and what is wrong."""


def bank_path() -> Path:
    return Path(os.environ.get("KVA_QUESTION_BANK") or BANK_FILE)


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


def bank_topics(path: Path | None = None) -> list[dict[str, Any]]:
    """The bank's topics in file order as ``{n, title: {da, en}, questions: {da: [...], en:
    [...]}}``; a title given once serves both languages, empty questions are left out."""
    topics = []
    for i, raw in enumerate(read_bank(path)):
        title = raw.get("title")
        titles = {
            lang: str((title.get(lang) if isinstance(title, dict) else title) or "").strip()
            for lang in LANGUAGES
        }
        questions = {
            lang: [str(q).strip() for q in raw["questions"].get(lang) or [] if str(q).strip()]
            for lang in LANGUAGES
        }
        topics.append({"n": i + 1, "title": titles, "questions": questions})
    return topics
