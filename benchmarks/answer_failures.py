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

Then how well the answerability model's probability separates the questions to decline from
the answerable ones, at any threshold: the area under the ROC curve (1.0: every question to
decline scores below every answerable one; 0.5: chance), for in-domain absent questions and
for off-domain ones apart. Abstention precision and recall depend on the fitted threshold;
this does not, so it says whether a better threshold could help at all; so does the last
figure, the most of the questions to decline that any threshold, even one chosen on the suite
itself, declines at the issue's precision (0.85) with at most 5 % of the answerable ones.
``--features`` adds the AUC for each of the model's features alone, read in the direction the
model weighs it: below 0.5, the feature points the wrong way on that suite.

    .venv/bin/python benchmarks/answer_failures.py evals/suites/social-dev-heldout.yaml [-v]
    .venv/bin/python benchmarks/answer_failures.py evals/suites/social-dev-fresh.yaml --features

A suite that names a corpus needs it (``../shared/corpora/social-dev`` for the dev suites).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.composer import ExtractiveComposer, plain_text  # noqa: E402
from assistant.pipeline import Assistant, Prepared  # noqa: E402
from evals.runner import case_filters, case_history  # noqa: E402
from evals.stores import suite_settings  # noqa: E402
from evals.suite import Case, SuiteError, load_runnable_suite  # noqa: E402
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


class Outcome(NamedTuple):
    kind: str
    """one of ``CLASSES``"""
    lost: float
    """share of the case's facts the answer missed (0 for a case to decline)"""
    line: str
    """what the engine chose, for ``-v``"""
    answerable: float | None
    """the answerability model's probability; None when no composer ran"""
    features: dict[str, float] | None = None
    """the answerability model's features (``QUESTION_FEATURES``), when a composer ran"""


def classify(assistant: Assistant, case: Case) -> Outcome:
    """What became of one case, and why."""
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
        if case.must_abstain:
            return Outcome("absent declined", 0.0, "", None)
        return Outcome("declined", 1.0, "", None)
    analysis = composer.analyse(prepared.request)
    composition = composer.decide(prepared.request, analysis)
    best = analysis.candidates[0] if analysis.candidates else None
    line = f"p={analysis.answerable:.2f}"
    if best is not None:
        line += f" best: {best.passage.doc_id[:30]} | {plain_text(best.text)[:100]}"
    p = analysis.answerable
    feats = dict(analysis.question_features)
    if case.must_abstain:
        kind = "absent declined" if composition.abstained else "absent answered"
        return Outcome(kind, 0.0, line, p, feats)
    if composition.abstained:
        return Outcome("declined", 1.0, line, p, feats)
    got = facts_in(case, [composition.answer])
    if got > 0:
        return Outcome("answered", 1.0 - got, line, p, feats)
    holder = next((c for c in analysis.candidates if facts_in(case, [c.text]) > 0), None)
    if holder is None:
        return Outcome("not retrieved", 1.0, line, p, feats)
    rank = analysis.candidates.index(holder)
    line += f"\n      held by #{rank}: {holder.passage.doc_id[:30]} | "
    line += plain_text(holder.text)[:100]
    return Outcome("wrong sentences", 1.0, line, p, feats)


def separation(answerable: list[float], decline: list[float]) -> float | None:
    """ROC AUC of "decline" scored by 1 - p: the chance that a question to decline scores
    below an answerable one. None when either group is empty.

        >>> separation([0.9, 0.8], [0.1, 0.85])
        0.75
    """
    if not answerable or not decline:
        return None
    labels = [0] * len(answerable) + [1] * len(decline)
    return float(roc_auc_score(labels, [-p for p in answerable + decline]))


def reachable_recall(
    answerable: list[float],
    decline: list[float],
    precision: float = 0.85,
    wrongly_declined: float = 0.05,
) -> float | None:
    """The largest share of the questions to decline that any threshold on the probability
    declines while keeping ``precision`` and declining at most ``wrongly_declined`` of the
    answerable questions: the issue's decline target, with the threshold chosen on the suite
    itself (no fit may do that, so no fitted threshold does better). None when either group is
    empty.

        >>> reachable_recall([0.9, 0.8, 0.7], [0.1, 0.75], precision=0.85, wrongly_declined=0.0)
        0.5
        >>> reachable_recall([0.9, 0.2], [0.3, 0.8], precision=0.85, wrongly_declined=0.5)
        0.0
    """
    if not answerable or not decline:
        return None
    best = 0.0
    for threshold in sorted(set(answerable) | set(decline)):
        hits = sum(p <= threshold for p in decline)
        misses = sum(p <= threshold for p in answerable)
        if misses > wrongly_declined * len(answerable) or hits < precision * (hits + misses):
            continue
        best = max(best, hits / len(decline))
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("suites", type=Path, nargs="+", help="suite files")
    p.add_argument("-v", "--verbose", action="store_true", help="list the failing cases")
    p.add_argument(
        "--features",
        action="store_true",
        help="also the separation of in-domain absent from answerable by each feature alone",
    )
    args = p.parse_args(argv)
    for path in args.suites:
        try:
            suite = load_runnable_suite(path)
        except SuiteError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        assistant = Assistant(suite_settings(suite))
        counts: Counter[str] = Counter()
        lost: Counter[str] = Counter()
        cross: Counter[str] = Counter()
        off: Counter[str] = Counter()
        scores: dict[str, list[float]] = {"answerable": [], "absent": [], "off-domain": []}
        features: dict[str, list[dict[str, float]]] = {"answerable": [], "absent": []}
        for case in suite.cases:
            o = classify(assistant, case)
            counts[o.kind] += 1
            lost[o.kind] += o.lost
            cross[o.kind] += "cross-lingual" in case.tags
            off[o.kind] += "off-domain" in case.tags
            if o.answerable is not None:
                group = "answerable"
                if case.must_abstain:
                    group = "off-domain" if "off-domain" in case.tags else "absent"
                scores[group].append(o.answerable)
                if group in features and o.features is not None:
                    features[group].append(o.features)
            if args.verbose and o.kind not in ("answered", "absent declined"):
                print(f"{o.kind:16s} {case.id} | {case.question}\n      {o.line}")
        print(f"\n{suite.name}: {len(suite.cases)} cases")
        print("| class | cases | cross-lingual | off-domain | facts lost |")
        print("| --- | --- | --- | --- | --- |")
        for kind in CLASSES:
            print(f"| {kind} | {counts[kind]} | {cross[kind]} | {off[kind]} | {lost[kind]:.1f} |")
        n_ok = len(scores["answerable"])
        for group in ("absent", "off-domain"):
            auc = separation(scores["answerable"], scores[group])
            shown = "–" if auc is None else f"{auc:.2f}"
            print(
                f"separation (ROC AUC, 0.5 = chance), {group} vs answerable: {shown} "
                f"({len(scores[group])} vs {n_ok})"
            )
        reachable = reachable_recall(
            scores["answerable"], scores["absent"] + scores["off-domain"]
        )
        if reachable is not None:
            print(
                "best any threshold could do (chosen on this suite): "
                f"{reachable:.3f} of the questions to decline declined at precision >= 0.85 "
                "with <= 5 % of the answerable ones"
            )
        if args.features and features["absent"] and features["answerable"]:
            model = assistant.composer.model.answerable
            weight = dict(zip(model.features, model.coef, strict=True))
            # Read in the direction the fitted model weighs each feature, so that above 0.5
            # means the feature helps on this suite and below 0.5 that it points the wrong way.
            print("in-domain absent vs answerable, each feature alone, in the model's direction:")
            for name in model.features:
                sign = 1.0 if weight[name] >= 0 else -1.0
                auc = separation(
                    [sign * f[name] for f in features["answerable"]],
                    [sign * f[name] for f in features["absent"]],
                )
                print(f"  {name:22s} {weight[name]:+.3f}  {auc:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
