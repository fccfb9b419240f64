"""``python -m evals`` — validate, run, compare, from-feedback, refit.

Exit codes: 0 fine; 1 a gate failed (or, with --fail-on-regression, a case regressed; or
refit refused to install a model worse beyond noise);
2 a usage problem: bad suite, unknown metric, missing run.

Example:
    >>> main(["validate", "evals/suites"])  # doctest: +ELLIPSIS
    evals/suites/core.yaml: 'core', ... cases...
    0
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.gates import Gate, GateError, check_gates, parse_gate
from evals.suite import Suite, SuiteError, load_suites

DEFAULT_SUITES = Path(__file__).resolve().parent / "suites"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evals", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="check suite files and print what they contain")
    v.add_argument("suites", nargs="*", help="suite files or folders (default: evals/suites)")

    r = sub.add_parser("run", help="run suites against the assistant and write reports")
    r.add_argument("suites", nargs="*", help="suite files or folders (default: evals/suites)")
    r.add_argument("--api", metavar="URL", help="evaluate a running API instead of in-process")
    r.add_argument("--out", metavar="DIR", help="output folder (default: artifacts/evals/TIME)")
    r.add_argument("--tag", action="append", default=[], help="only cases with this tag")
    r.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 if the metric is below VALUE (METRIC@tag:T or @lang:L scopes)",
    )
    r.add_argument(
        "--fail-over",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 1 if the metric is above VALUE (for latency_p95_ms etc.)",
    )
    r.add_argument("--data-dir", help="in-process: use this data folder (KVA_DATA_DIR)")
    r.add_argument(
        "--corpus",
        metavar="DIR",
        help="in-process: ingest this folder into a scratch store (kept under "
        "artifacts/evals/stores/, or --data-dir) and run every suite against it; without it, "
        "a suite that names its own corpus runs against a store of that corpus",
    )
    r.add_argument(
        "--ingest", action="store_true", help="in-process: ingest the corpus folder before running"
    )
    r.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    r.add_argument(
        "--composer",
        choices=["extractive", "generative"],
        help="in-process: the composer to evaluate (default: KVA_COMPOSER); generative also "
        "runs the extractive one and writes composers.md side by side",
    )

    c = sub.add_parser("compare", help="compare two runs case by case")
    c.add_argument("run_a", help="earlier run: folder or results.json")
    c.add_argument("run_b", help="later run: folder or results.json")
    c.add_argument("--out", metavar="DIR", help="where compare.md/.json go (default: RUN_B)")
    c.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when any case regressed"
    )

    f = sub.add_parser("from-feedback", help="draft cases from thumbs-down feedback")
    f.add_argument(
        "--db",
        help="a database URL or SQLite file holding the feedback (default: the API's database, "
        "KVA_DATABASE_URL or app.sqlite under the data dir; an old feedback.sqlite works too)",
    )
    f.add_argument("--out", metavar="FILE", help="write the draft YAML here (default: stdout)")

    rf = sub.add_parser(
        "refit",
        help="refit the answer model with the evaluators' labels; install it unless the "
        "held-out suites get worse beyond noise",
    )
    rf.add_argument("--data-dir", help="the organisation's data folder (KVA_DATA_DIR)")
    rf.add_argument("--tune", nargs="*", help="tuning suites (default: the bundled ones here)")
    rf.add_argument("--held-out", nargs="*", help="held-out suites (default: the bundled ones)")
    rf.add_argument("--force", action="store_true", help="install even if worse beyond noise")
    rf.add_argument("--dry-run", action="store_true", help="fit and compare; install nothing")
    rf.add_argument("--out", metavar="DIR", help="write the before/after runs here")
    return p


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    suites = load_suites(args.suites or [DEFAULT_SUITES])
    for suite in suites:
        tags = Counter(t for c in suite.cases for t in c.tags)
        langs = Counter(c.language or "any" for c in suite.cases)
        print(
            f"{suite.path}: {suite.name!r}, {len(suite.cases)} cases; "
            f"languages {dict(langs)}; abstain {sum(c.must_abstain for c in suite.cases)}; "
            f"follow-ups {sum(bool(c.history) for c in suite.cases)}"
        )
        print("  tags: " + ", ".join(f"{t} {n}" for t, n in tags.most_common()))
        # Legal (drafts look like this) but worth a reminder: such a case can hardly fail.
        loose = [
            c.id
            for c in suite.cases
            if not (c.expected_facts or c.expected_sources or c.must_abstain)
        ]
        if loose:
            print(
                f"  note: {len(loose)} case(s) expect no facts, sources or abstention: "
                + ", ".join(loose[:10])
                + (" ..." if len(loose) > 10 else "")
            )
    return 0


def _backend(args: argparse.Namespace, corpus: Path | None = None) -> Any:
    """The backend for one group of suites: the API, the configured store, or a scratch store
    of ``corpus`` brought up to date with it (incremental, so a second run embeds nothing)."""
    if args.api:
        from evals.backends import HttpBackend

        return HttpBackend(args.api)
    from evals.stores import bring_up_to_date, corpus_settings
    from ingest.settings import Settings, get_settings

    if corpus is not None:
        try:
            settings = corpus_settings(corpus, Path(args.data_dir) if args.data_dir else None)
        except FileNotFoundError as exc:
            raise SuiteError(str(exc)) from None
    else:
        settings = Settings(data_dir=args.data_dir) if args.data_dir else get_settings()
    if getattr(args, "composer", None):
        # Validated again: generative needs KVA_LLM_BASE_URL and KVA_LLM_MODEL.
        settings = Settings.model_validate({**settings.model_dump(), "composer": args.composer})
    if args.ingest or corpus is not None:
        bring_up_to_date(settings)
    from evals.backends import InProcessBackend

    return InProcessBackend(settings)


def _backends(args: argparse.Namespace, suites: list[Suite]) -> tuple[Any, dict[str, Any]]:
    """(default backend, suite name -> backend for suites that run against their own corpus)."""
    override = Path(args.corpus).resolve() if args.corpus else None
    corpora = {s.name: override or s.corpus_dir for s in suites}
    if args.api:
        return _backend(args), {}
    distinct = {c for c in corpora.values() if c is not None}
    if args.data_dir and len(distinct) > 1:
        raise SuiteError(
            "--data-dir holds one store, but these suites name different corpora: "
            + ", ".join(sorted(map(str, distinct)))
        )
    built = {c: _backend(args, c) for c in sorted(distinct)}
    per_suite = {name: built[c] for name, c in corpora.items() if c is not None}
    default = None if all(c is not None for c in corpora.values()) else _backend(args)
    return default or next(iter(built.values())), per_suite


def _print_summary(results: dict[str, Any]) -> None:
    o = results["summary"]["overall"]

    def f(key: str) -> str:
        v = o.get(key)
        return "–" if v is None else (f"{v:.0f}" if key.endswith("_ms") else f"{v:.3f}")

    lo, hi = o.get("fact_recall_ci95_low"), o.get("fact_recall_ci95_high")
    spread = f" (95 % {lo:.3f}–{hi:.3f})" if lo is not None and hi is not None else ""
    print(
        f"{o['n_passed']}/{o['n_cases']} passed ({o['n_errors']} errors) · "
        f"fact_recall {f('fact_recall')}{spread} · source_hit_rate {f('source_hit_rate')} · "
        f"citation_validity {f('citation_validity')} · abstention_accuracy "
        f"{f('abstention_accuracy')} (P {f('abstention_precision')} / R "
        f"{f('abstention_recall')}) · language_match {f('language_match')} · "
        f"latency p50/p95 {f('latency_p50_ms')}/{f('latency_p95_ms')} ms"
    )


def cmd_run(args: argparse.Namespace) -> int:
    from evals.runner import run_suites, write_results

    # Gates are parsed before the run so a typo costs seconds, not a whole evaluation.
    gates: list[Gate] = [parse_gate(s, "under") for s in args.fail_under]
    gates += [parse_gate(s, "over") for s in args.fail_over]
    suites = load_suites(args.suites or [DEFAULT_SUITES])
    if args.api and (args.ingest or args.data_dir or args.composer):
        _err("error: --ingest, --data-dir and --composer apply to in-process runs, not to --api")
        return 2
    if args.api and args.corpus:
        _err("error: --corpus applies to in-process runs, not to --api")
        return 2
    backend, per_suite = _backends(args, suites)
    if not backend.describe().get("documents"):
        _err(
            "warning: the assistant's store lists no documents; every case may abstain "
            "(in-process: add --ingest)"
        )
    results = run_suites(
        suites,
        backend,
        tags=args.tag or None,
        progress=False if args.no_progress else None,
        backends=per_suite,
    )
    out = Path(args.out or Path("artifacts/evals") / datetime.now(UTC).strftime("%Y%m%d-%H%M%S"))
    paths = write_results(results, out)
    _print_summary(results)
    print(f"wrote {paths['json']}, {paths['csv']}, {paths['html']}")
    if args.composer == "generative":
        _side_by_side(args, suites, results, out)
    failed = check_gates(results["summary"], gates)
    if failed:
        _err("FAILED gates:\n" + "\n".join(f"  - {line}" for line in failed))
        return 1
    if gates:
        print(f"all {len(gates)} gate(s) passed")
    return 0


def _side_by_side(args: argparse.Namespace, suites: list, results: dict, out: Path) -> None:
    """The same suites through the extractive composer, and both composers in one table."""
    from evals.composers import side_by_side, write_side_by_side
    from evals.runner import run_suites, write_results

    args.composer, args.ingest = "extractive", False
    backend, per_suite = _backends(args, suites)
    baseline = run_suites(
        suites,
        backend,
        tags=args.tag or None,
        progress=False if args.no_progress else None,
        backends=per_suite,
    )
    write_results(baseline, out / "extractive")
    runs = {"extractive": baseline, "generative": results}
    print(side_by_side(runs), end="")
    print(f"wrote {write_side_by_side(runs, out)} (extractive run in {out / 'extractive'})")


def cmd_compare(args: argparse.Namespace) -> int:
    from evals.compare import compare_runs, format_comparison, write_comparison
    from evals.runner import load_results

    try:
        run_a, run_b = load_results(args.run_a), load_results(args.run_b)
    except (FileNotFoundError, ValueError) as exc:
        _err(str(exc))
        return 2
    diff = compare_runs(run_a, run_b)
    print(format_comparison(diff), end="")
    b_path = Path(args.run_b)
    out = Path(args.out) if args.out else (b_path if b_path.is_dir() else b_path.parent)
    paths = write_comparison(diff, out)
    print(f"wrote {paths['md']} and {paths['json']}")
    return 1 if args.fail_on_regression and diff["regressed"] else 0


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def cmd_from_feedback(args: argparse.Namespace) -> int:
    from evals.feedback import draft_suite, dump_yaml, read_thumbs_down

    db: str | Path
    if args.db:
        db = args.db if "://" in args.db else Path(args.db)
    else:
        from assistant.db import database_url
        from ingest.settings import get_settings

        db = database_url(get_settings())
    rows = read_thumbs_down(db)
    if isinstance(db, str):
        from assistant.db.engine import redacted

        db = redacted(db)
    draft = draft_suite(rows)
    if not draft["cases"]:
        _err(f"no thumbs-down feedback in {db}; nothing to draft")
        return 0
    text = dump_yaml(draft)
    if args.out and _inside(Path(args.out), DEFAULT_SUITES):
        _err(
            f"{args.out} is inside {DEFAULT_SUITES}, which every plain run reads: write drafts to "
            "evals/drafts/ and move a case into a suite once a person has reviewed it"
        )
        return 2
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {len(draft['cases'])} draft case(s) to {args.out}; review before use")
    else:
        print(text, end="")
    return 0


def cmd_refit(args: argparse.Namespace) -> int:
    from assistant.db import Database
    from assistant.db.labels import LabelStore
    from evals.fitting import HELD_OUT, TUNE
    from evals.refit import format_outcome, refit
    from ingest.settings import Settings

    tune = [Path(p) for p in args.tune] if args.tune is not None else TUNE
    held_out = [Path(p) for p in args.held_out] if args.held_out is not None else HELD_OUT
    missing = [str(p) for p in tune + held_out if not p.is_file()]
    if missing:
        _err(f"error: no such suite file(s): {', '.join(missing)}")
        return 2
    settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings()
    if not settings.data_dir.is_dir():
        # A mistyped folder would otherwise get a new database and a model nobody uses.
        _err(f"error: no data folder at {settings.data_dir} (--data-dir or KVA_DATA_DIR)")
        return 2
    labels = LabelStore(Database.from_settings(settings)).list(limit=1_000_000)
    try:
        outcome = refit(
            settings,
            labels,
            tune=tune,
            held_out=held_out,
            force=args.force,
            dry_run=args.dry_run,
            out=Path(args.out) if args.out else None,
        )
    except ValueError as exc:
        _err(f"error: {exc}")
        return 2
    print(format_outcome(outcome))
    return 0 if outcome.installed or args.dry_run else 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {
        "validate": cmd_validate,
        "run": cmd_run,
        "compare": cmd_compare,
        "from-feedback": cmd_from_feedback,
        "refit": cmd_refit,
    }[args.command]
    try:
        return handler(args)
    except (SuiteError, GateError) as exc:
        _err(f"error: {exc}")
        return 2
