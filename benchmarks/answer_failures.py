"""Where the answer engine loses facts: each case of a suite sorted into one failure class.

For every answerable case, the fitted engine's own analysis says whether the expected facts
were among the candidate sentences it read (retrieval) and whether its answer quoted them
(selection); for every case that should be declined, whether it was:

    answered          the answer holds at least one expected fact
    wrong sentences   a candidate held the fact, the answer quoted others
    not retrieved     no candidate held the fact
    declined          an answerable question was declined
    absent answered   a question the material does not answer got an answer
    absent declined   ... and was declined

Printed per suite: cases per class, how many of them were cross-lingual or off-domain, and
the facts lost (a partly answered case loses the share it missed). ``-v`` lists the failing
cases with the best candidate and the first one that held the fact.

    .venv/bin/python benchmarks/answer_failures.py evals/suites/social-dev-heldout.yaml [-v]
    .venv/bin/python benchmarks/answer_failures.py evals/suites/social-dev-fresh.yaml [-v]

A suite that names a corpus needs it (``../shared/corpora/social-dev`` for the dev suites).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.composer import ExtractiveComposer, plain_text  # noqa: E402
from assistant.pipeline import Assistant, Prepared  # noqa: E402
from evals.runner import case_filters, case_history  # noqa: E402
from evals.stores import suite_settings  # noqa: E402
from evals.suite import Case, SuiteError, load_suite  # noqa: E402
from evals.textutil import fact_share  # noqa: E402

CLASSES = (
    "answered",
    "wrong sentences",
    "not retrieved",
    "declined",
    "absent answered",
    "absent declined",
)


def facts_in(case: Case, texts: list[str]) -> float:
    """Share of the case's expected facts (any of each one's alternatives) in ``texts``."""
    return fact_share(case.expected_facts, "\n".join(plain_text(t) for t in texts))


def classify(assistant: Assistant, case: Case) -> tuple[str, float, str]:
    """(class, facts lost, a line on what the engine chose) for one case."""
    composer = assistant.composer
    if not isinstance(composer, ExtractiveComposer):
        raise SystemExit("answer_failures.py reads the extractive composer's analysis")
    prepared = assistant.prepare(
        case.question,
        language=case.language,
        history=case_history(case),
        filters=case_filters(case),
    )
    if not isinstance(prepared, Prepared):  # answered without composing (a third language)
        return ("absent declined" if case.must_abstain else "declined"), 1.0, ""
    analysis = composer.analyse(prepared.request)
    composition = composer.decide(prepared.request, analysis)
    best = analysis.candidates[0] if analysis.candidates else None
    line = f"p={analysis.answerable:.2f}"
    if best is not None:
        line += f" best: {best.passage.doc_id[:30]} | {plain_text(best.text)[:100]}"
    if case.must_abstain:
        return ("absent declined" if composition.abstained else "absent answered"), 0.0, line
    if composition.abstained:
        return "declined", 1.0, line
    got = facts_in(case, [composition.answer])
    if got > 0:
        return "answered", 1.0 - got, line
    holder = next((c for c in analysis.candidates if facts_in(case, [c.text]) > 0), None)
    if holder is None:
        return "not retrieved", 1.0, line
    rank = analysis.candidates.index(holder)
    line += f"\n      held by #{rank}: {holder.passage.doc_id[:30]} | "
    line += plain_text(holder.text)[:100]
    return "wrong sentences", 1.0, line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("suites", type=Path, nargs="+", help="suite files")
    p.add_argument("-v", "--verbose", action="store_true", help="list the failing cases")
    args = p.parse_args(argv)
    for path in args.suites:
        try:
            suite = load_suite(path)
        except SuiteError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if suite.corpus_dir is not None and not suite.corpus_dir.is_dir():
            print(f"suite {suite.name} needs its corpus at {suite.corpus_dir}", file=sys.stderr)
            return 2
        assistant = Assistant(suite_settings(suite))
        counts: Counter[str] = Counter()
        lost: Counter[str] = Counter()
        cross: Counter[str] = Counter()
        off: Counter[str] = Counter()
        for case in suite.cases:
            kind, facts_lost, line = classify(assistant, case)
            counts[kind] += 1
            lost[kind] += facts_lost
            cross[kind] += "cross-lingual" in case.tags
            off[kind] += "off-domain" in case.tags
            if args.verbose and kind not in ("answered", "absent declined"):
                print(f"{kind:16s} {case.id} | {case.question}\n      {line}")
        print(f"\n{suite.name}: {len(suite.cases)} cases")
        print("| class | cases | cross-lingual | off-domain | facts lost |")
        print("| --- | --- | --- | --- | --- |")
        for kind in CLASSES:
            print(f"| {kind} | {counts[kind]} | {cross[kind]} | {off[kind]} | {lost[kind]:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
