"""Trainers' question bank: the evaluation suite's questions, grouped by tag.

These YAML files are plain project files (not the store), so reading them from disk keeps the
"UI talks only HTTP for data" rule intact.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

SUITES_DIR = Path(__file__).resolve().parent.parent / "evals" / "suites"


@dataclass(frozen=True)
class BankQuestion:
    id: str
    question: str
    language: str
    must_abstain: bool
    suite: str


def suites_dir() -> Path:
    return Path(os.environ.get("KVA_QUESTION_BANK_DIR") or SUITES_DIR)


def load_bank(directory: Path | None = None) -> dict[str, list[BankQuestion]]:
    """``{tag: [questions]}`` sorted by tag; unreadable files are skipped, not fatal."""
    directory = directory or suites_dir()
    groups: dict[str, list[BankQuestion]] = {}
    if not directory.is_dir():
        return groups
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            suite = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(suite, dict):
            continue
        name = str(suite.get("name") or path.stem)
        for case in suite.get("cases") or []:
            if not isinstance(case, dict) or not case.get("question"):
                continue
            question = BankQuestion(
                id=str(case.get("id", "")),
                question=str(case["question"]).strip(),
                language=str(case.get("language") or "da"),
                must_abstain=bool(case.get("must_abstain")),
                suite=name,
            )
            for tag in case.get("tags") or ["-"]:
                groups.setdefault(str(tag), []).append(question)
    return dict(sorted(groups.items()))


def filter_language(
    groups: dict[str, list[BankQuestion]], language: str | None
) -> dict[str, list[BankQuestion]]:
    if not language:
        return groups
    kept = {tag: [q for q in qs if q.language == language] for tag, qs in groups.items()}
    return {tag: qs for tag, qs in kept.items() if qs}
