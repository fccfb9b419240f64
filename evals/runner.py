"""Running suites through a backend and writing results.json, results.csv and report.html.

Example:
    >>> from assistant.models import Answer
    >>> from evals.backends import StaticBackend
    >>> from evals.suite import parse_suite
    >>> suite = parse_suite({"name": "demo", "cases": [
    ...     {"id": "q1", "question": "Hvem?", "language": "da", "expected_facts": [["VIVE"]]}]})
    >>> backend = StaticBackend({"Hvem?": Answer(answer="VIVE.", language="da", abstained=False)})
    >>> results = run_suites([suite], backend)
    >>> results["summary"]["overall"]["pass_rate"]
    1.0
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.models import Filters, Turn
from evals.backends import Backend
from evals.metrics import CaseScore, score_case, score_error, summarise
from evals.suite import Case, Suite

SCHEMA_VERSION = 1
CSV_FIELDS = (
    "suite",
    "id",
    "language",
    "tags",
    "must_abstain",
    "passed",
    "fact_recall",
    "source_hit",
    "citations_total",
    "citations_valid",
    "abstained",
    "abstention_correct",
    "language_match",
    "answer_language",
    "answer_chars",
    "latency_ms",
    "error",
    "failures",
    "question",
    "answer",
    "cited_docs",
)


def select_cases(suite: Suite, tags: list[str] | None) -> list[Case]:
    """The suite's cases carrying at least one of ``tags`` (all cases when no tags are given)."""
    if not tags:
        return list(suite.cases)
    return [c for c in suite.cases if set(c.tags) & set(tags)]


def case_history(case: Case) -> list[Turn] | None:
    """The case's earlier turns as the assistant takes them."""
    return [Turn(role=t.role, content=t.content) for t in case.history] or None


def case_filters(case: Case) -> Filters | None:
    """The case's filters as the assistant takes them (raises on one it rejects)."""
    return Filters.model_validate(case.filters.model_dump()) if case.filters else None


def run_case(
    case: Case, backend: Backend, clock: Callable[[], float] = time.perf_counter
) -> tuple[dict[str, Any] | None, CaseScore]:
    """Ask one case; returns the answer as JSON (None on error) and its score."""
    history = case_history(case)
    started = clock()
    try:
        # Inside the try: a filter the assistant rejects (an unknown kind) fails this case only.
        filters = case_filters(case)
        answer = backend.ask(
            case.question, language=case.language, history=history, filters=filters
        )
    except Exception as exc:  # noqa: BLE001 - one broken case must not end the run
        latency = (clock() - started) * 1000
        return None, score_error(f"{type(exc).__name__}: {exc}", latency)
    latency = (clock() - started) * 1000
    score = score_case(case, answer, latency_ms=latency, document_text=backend.document_text)
    return answer.model_dump(mode="json"), score


def run_suites(
    suites: list[Suite],
    backend: Backend,
    *,
    tags: list[str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    progress: bool | None = None,
    backends: Mapping[str, Backend] | None = None,
) -> dict[str, Any]:
    """Run every selected case and return the results document (what results.json holds).

    ``backends`` maps a suite name to the backend that answers it (a suite written over its own
    corpus runs against a store of that corpus); other suites use ``backend``.
    """
    from tqdm import tqdm

    backends = backends or {}

    work = [(s, c) for s in suites for c in select_cases(s, tags)]
    # The bar is for people; in CI logs it would only add noise.
    show = sys.stderr.isatty() if progress is None else progress
    pairs: list[tuple[Case, CaseScore]] = []
    rows: list[dict[str, Any]] = []
    for suite, case in tqdm(work, desc="evaluating", unit="case", disable=not show):
        answer, score = run_case(case, backends.get(suite.name, backend), clock)
        pairs.append((case, score))
        rows.append(
            {
                "suite": suite.name,
                **case.model_dump(mode="json"),
                "answer": answer,
                "score": score.model_dump(mode="json"),
            }
        )
    info = backend.describe()
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "suites": [
            {
                "name": s.name,
                "path": s.path,
                "description": s.description,
                "n_cases": len(select_cases(s, tags)),
                "corpus": str(s.corpus_dir) if s.corpus_dir else None,
                "corpus_fingerprint": backends[s.name].describe().get("corpus_fingerprint")
                if s.name in backends
                else info.get("corpus_fingerprint"),
            }
            for s in suites
        ],
        "tags_selected": tags or [],
        "backend": info.get("backend"),
        "settings": info.get("settings", {}),
        "corpus_fingerprint": info.get("corpus_fingerprint"),
        "documents": info.get("documents", []),
        "environment": {**environment(), "lexicon": info.get("lexicon")},
        "summary": summarise(pairs),
        "cases": rows,
    }


def environment() -> dict[str, Any]:
    """Python version and the git revision of the code under test (None outside a checkout)."""
    import platform
    import subprocess

    try:
        proc = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        revision = proc.stdout.strip() or None if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        revision = None
    return {"python": platform.python_version(), "git_revision": revision}


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    score, answer = row["score"], row["answer"] or {}
    return {
        "suite": row["suite"],
        "id": row["id"],
        "language": row["language"] or "",
        "tags": ";".join(row["tags"]),
        "must_abstain": row["must_abstain"],
        "passed": score["passed"],
        "fact_recall": "" if score["fact_recall"] is None else round(score["fact_recall"], 3),
        "source_hit": "" if score["source_hit"] is None else score["source_hit"],
        "citations_total": score["citations_total"],
        "citations_valid": score["citations_valid"],
        "abstained": "" if score["abstained"] is None else score["abstained"],
        "abstention_correct": ""
        if score["abstention_correct"] is None
        else score["abstention_correct"],
        "language_match": "" if score["language_match"] is None else score["language_match"],
        "answer_language": answer.get("language", ""),
        "answer_chars": score["answer_chars"],
        "latency_ms": "" if score["latency_ms"] is None else round(score["latency_ms"], 1),
        "error": score["error"] or "",
        "failures": "; ".join(score["failures"]),
        "question": row["question"],
        "answer": answer.get("answer", ""),
        "cited_docs": ";".join(c["doc_id"] for c in answer.get("citations", [])),
    }


def write_results(results: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write results.json, results.csv and report.html into ``out_dir``; returns their paths."""
    from evals.report_html import render_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "results.json",
        "csv": out / "results.csv",
        "html": out / "report.html",
    }
    paths["json"].write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    with paths["csv"].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(_csv_row(r) for r in results["cases"])
    paths["html"].write_text(render_report(results), encoding="utf-8")
    return paths


def load_results(path: str | Path) -> dict[str, Any]:
    """Read a run: a results.json file or the directory that holds one."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    if not p.is_file():
        raise FileNotFoundError(f"{path}: no results.json there")
    data = json.loads(p.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "cases" not in data or "summary" not in data:
        raise ValueError(f"{p}: not an evals results.json")
    return data
