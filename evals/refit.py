"""``python -m evals refit``: the answer model fitted again, with the organisation's labels.

Evaluators label answers through the API (``POST /api/labels``): the sentence of the store that
answers a question, or the verdict that the material does not cover it. A refit fits every
weight again (``evals.fitting``) on the bundled tuning suites whose corpora are here plus one
case per label, asked of the organisation's own store. It runs the held-out suites with the
model in use and with the new one, and installs the new one (under the data dir, where the
assistant finds it: ``assistant.answer_model.model_path``) only when no held-out suite's fact
recall, nor its share of the questions to decline that are declined, falls beyond noise (the
paired 95 % interval of ``evals.compare``); ``--force`` installs it all the same. The
installed model names the labels it learnt from in its provenance, and ``/readyz`` shows it.

Example::

    python -m evals refit                 # fit, compare on the held-out suites, install or refuse
    python -m evals refit --dry-run       # fit and compare, install nothing
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.composer import plain_text
from evals.compare import compare_runs
from evals.suite import Case, Suite, load_suite
from ingest.settings import Settings

# What a refit must not make worse beyond noise on any held-out suite: the facts its answers
# hold (an answerable question declined loses its facts too) and the questions to decline it
# declines (case advice, near-miss and off-domain questions), each with its name in the report.
GUARDED = {"fact_recall": "fact recall", "abstention_recall": "questions to decline declined"}


@dataclass
class RefitOutcome:
    """What a refit did: the comparison per held-out suite and whether it installed."""

    installed: bool
    model_path: Path | None
    labels: int
    comparisons: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """per held-out suite, ``evals.compare``'s overall comparison of each ``GUARDED`` figure"""
    refused: list[str] = field(default_factory=list)
    """why it did not install (a held-out suite worse beyond noise, or none to compare on)"""


def labels_suite(labels: list[Any]) -> Suite | None:
    """One case per label: the question with its labelled sentence as the fact to find and its
    document as the source, or a question to decline. None when there are no labels."""
    cases = []
    for label in labels:
        try:
            case = _case(label)
        except ValidationError as exc:
            # A label stored some other way than the API (which checks the same limits).
            print(f"label {label.id} left out: {exc.errors()[0]['msg']}", file=sys.stderr)
            continue
        if case is not None:
            cases.append(case)
    if not cases:
        return None
    return Suite(
        name="organisation-labels",
        description="Cases from the organisation's evaluators' labels (POST /api/labels).",
        cases=cases,
    )


def _case(label: Any) -> Case | None:
    if label.verdict == "not_covered":
        return Case(
            id=f"label-{label.id}",
            question=label.question,
            language=label.language,
            must_abstain=True,
            tags=["label", "not-covered"],
        )
    fact = label.fact or plain_text(label.quote or "")
    if not fact.strip():
        return None
    return Case(
        id=f"label-{label.id}",
        question=label.question,
        language=label.language,
        expected_facts=[[fact]],
        expected_sources=[label.doc_id],
        tags=["label"],
    )


def _available(paths: list[Path]) -> tuple[list[Suite], list[str]]:
    """The suites whose corpora are here, and a line for each one left out."""
    suites, skipped = [], []
    for path in paths:
        suite = load_suite(path)
        if suite.corpus_dir is not None and not suite.corpus_dir.is_dir():
            skipped.append(f"{suite.name}: its corpus {suite.corpus_dir} is not here")
            continue
        suites.append(suite)
    return suites, skipped


def refit(
    settings: Settings,
    labels: list[Any],
    *,
    tune: list[Path],
    held_out: list[Path],
    force: bool = False,
    dry_run: bool = False,
    out: Path | None = None,
) -> RefitOutcome:
    """Fit on ``tune`` plus ``labels``, compare with the model in use on ``held_out``, and
    install the new model under ``settings.data_dir`` unless it is worse beyond noise."""
    from assistant.answer_model import AnswerModel, model_path
    from evals.fitting import TuningSet, fit_model, run_suite
    from evals.stores import suite_settings

    held, skipped = _available(held_out)
    for line in skipped:
        print(f"held-out suite left out: {line}", file=sys.stderr)
    from_labels = labels_suite(labels)
    n_labels = len(from_labels.cases) if from_labels else 0
    if not held and not force:
        # Nothing could show the new model is not worse: do not spend the fit.
        return RefitOutcome(
            False, None, n_labels, refused=["no held-out suite can run here to compare on"]
        )
    current = model_path(settings)
    # Read before the tuning stores are brought up to date: a broken model in use is an error
    # at once, not after minutes of ingestion.
    incumbent = AnswerModel.load(current)
    tuning_suites, skipped = _available(tune)
    for line in skipped:
        print(f"tuning suite left out: {line}", file=sys.stderr)
    tuning = [TuningSet(s, suite_settings(s)) for s in tuning_suites]
    if from_labels is not None:
        tuning.append(TuningSet(from_labels, settings))
    if not tuning:
        raise ValueError("nothing to fit on: no tuning suite is here and there are no labels")

    model = fit_model(
        tuning,
        fitted_by="python -m evals refit",
        provenance={"labels": n_labels, "refit_from": str(current)},
        incumbent=incumbent,
    )
    work = Path(tempfile.mkdtemp(prefix="kva-refit-"))
    candidate = work / "answer_model.json"
    model.save(candidate)
    outcome = RefitOutcome(False, None, n_labels)
    try:
        for suite in held:
            store = suite_settings(suite)
            before = run_suite(
                suite,
                store.model_copy(update={"answer_model": current}),
                out / f"before-{suite.name}" if out else None,
            )
            after = run_suite(
                suite,
                store.model_copy(update={"answer_model": candidate}),
                out / f"after-{suite.name}" if out else None,
            )
            overall = compare_runs(before, after)["overall"]
            outcome.comparisons[suite.name] = {m: overall[m] for m in GUARDED}
            outcome.refused += worse_beyond_noise(suite.name, overall)
        if dry_run or (outcome.refused and not force):
            return outcome
        target = settings.installed_model_path
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed, so a reader never loads half a file.
        partial = target.with_suffix(".json.partial")
        shutil.copyfile(candidate, partial)
        partial.replace(target)
        outcome.installed, outcome.model_path = True, target
        return outcome
    finally:
        shutil.rmtree(work, ignore_errors=True)


def worse_beyond_noise(suite: str, overall: dict[str, Any]) -> list[str]:
    """Why a suite refuses the new model: each ``GUARDED`` figure of ``evals.compare``'s
    overall comparison whose paired 95 % interval lies wholly below zero.

    >>> worse_beyond_noise("s", {"fact_recall": {"a": 0.8, "b": 0.6, "ci95": [-0.3, -0.1]},
    ...                          "abstention_recall": {"a": 0.5, "b": 0.5, "ci95": None}})
    ['s: fact recall 0.800 -> 0.600, worse beyond noise (95 % -0.300 to -0.100)']
    >>> worse_beyond_noise("s", {"abstention_recall": {"a": 0.9, "b": 0.2, "ci95": [-1, -0.4]}})
    ['s: questions to decline declined 0.900 -> 0.200, worse beyond noise (95 % -1.000 to -0.400)']
    """
    reasons = []
    for metric, name in GUARDED.items():
        diff = overall.get(metric) or {}
        bounds = diff.get("ci95")
        if bounds is not None and bounds[1] < 0:
            reasons.append(
                f"{suite}: {name} {_figures(diff)}, "
                f"worse beyond noise (95 % {bounds[0]:+.3f} to {bounds[1]:+.3f})"
            )
    return reasons


def _figures(diff: dict[str, Any]) -> str:
    a, b = diff.get("a"), diff.get("b")
    return "n/a" if a is None or b is None else f"{a:.3f} -> {b:.3f}"


def format_outcome(outcome: RefitOutcome) -> str:
    lines = [f"labels used: {outcome.labels}"]
    for suite, diffs in outcome.comparisons.items():
        for metric, diff in diffs.items():
            if diff.get("a") is None and diff.get("b") is None:
                continue  # nothing of the kind in this suite
            bounds = diff.get("ci95")
            noise = " (within noise)" if diff.get("within_noise") else ""
            interval = f", 95 % {bounds[0]:+.3f} to {bounds[1]:+.3f}" if bounds else ""
            lines.append(f"{suite}: {GUARDED[metric]} {_figures(diff)}{interval}{noise}")
    lines += [f"refused: {why}" for why in outcome.refused]
    if outcome.installed:
        lines.append(f"installed: {outcome.model_path}")
    else:
        lines.append("not installed")
    return "\n".join(lines)
