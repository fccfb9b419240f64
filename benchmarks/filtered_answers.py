"""How the answer engine does when the reader narrows the documents to one language.

A reader who picks "English documents only" and asks in Danish still asks a question the
material may answer; the suites ask without filters, so this path is measured here. For every
answerable case of a suite, the languages of its expected sources (as the store has them)
decide what a language filter should do:

    holds, own language     the filter keeps a source in the question's language
    holds, other language   the filter keeps only sources in the other language: the engine
                            must answer across languages
    holds none, own / other language
                            the filter, in the question's language or the other one,
                            removes every expected source: unless another kept document
                            says it too, declining is right

Printed per suite and row: cases, how many were declined, fact recall (share of the expected
facts in the answer; for "holds none", a fact found means a kept document said it after all),
and answers that hold none of the expected facts.

    .venv/bin/python benchmarks/filtered_answers.py evals/suites/core.yaml
    .venv/bin/python benchmarks/filtered_answers.py evals/suites/social-dev-heldout.yaml \
        evals/suites/social-dev-fresh.yaml

A suite that names a corpus needs it (``../shared/corpora/social-dev`` for the dev suites).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.composer import plain_text  # noqa: E402
from assistant.models import Filters  # noqa: E402
from assistant.pipeline import Assistant  # noqa: E402
from evals.runner import case_history  # noqa: E402
from evals.stores import suite_settings  # noqa: E402
from evals.suite import SuiteError, load_runnable_suite  # noqa: E402
from evals.textutil import fact_share  # noqa: E402

ROWS = (
    "holds, own language",
    "holds, other language",
    "holds none, own language",
    "holds none, other language",
)
LANGUAGES = ("da", "en")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("suites", type=Path, nargs="+", help="suite files")
    p.add_argument("-v", "--verbose", action="store_true", help="list the declined cases")
    args = p.parse_args(argv)
    print("| suite | filter | cases | declined | fact recall | answered without a fact |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in args.suites:
        try:
            suite = load_runnable_suite(path)
        except SuiteError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        assistant = Assistant(suite_settings(suite))
        documents = assistant.reader.snapshot().documents
        declined: dict[str, int] = defaultdict(int)
        recall: dict[str, list[float]] = defaultdict(list)
        factless: dict[str, int] = defaultdict(int)
        for case in suite.cases:
            if case.must_abstain or not case.expected_sources or case.language is None:
                continue
            held = {documents[d].language for d in case.expected_sources if d in documents}
            for language in LANGUAGES:
                own = language == case.language
                if language in held:
                    row = ROWS[0] if own else ROWS[1]
                else:
                    row = ROWS[2] if own else ROWS[3]
                answer = assistant.ask(
                    case.question,
                    language=case.language,
                    history=case_history(case),
                    filters=Filters(language=language),
                )
                declined[row] += answer.abstained
                got = 0.0 if answer.abstained else fact_share(
                    case.expected_facts, plain_text(answer.answer)
                )
                recall[row].append(got)
                factless[row] += not answer.abstained and got == 0
                if args.verbose and answer.abstained and language in held:
                    print(f"  declined ({row}, filter {language}): {case.id} | {case.question}")
        for row in ROWS:
            n = len(recall[row])
            if not n:
                continue
            print(
                f"| {suite.name} | {row} | {n} | {declined[row]} ({declined[row] / n:.0%}) "
                f"| {sum(recall[row]) / n:.3f} | {factless[row]} ({factless[row] / n:.0%}) |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
