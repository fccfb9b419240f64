"""Calibrate the extractive composer's abstention thresholds on the bundled evaluation suite.

Runs every case once with abstention switched off, records the evidence signals (top dense
similarity, best sentence coverage, answer-type support) and whether the answer held the
expected facts, then grid-searches the thresholds. To keep the figures honest it calibrates on
half of the cases (alternate cases, sorted by id) and reports precision/recall on both halves.

    python benchmarks/calibrate_abstention.py [--data-dir DIR] [SUITE ...]
"""

from __future__ import annotations

import argparse
import itertools
import re
import tempfile
from pathlib import Path

import yaml

from assistant.composer import AbstainPolicy, Composition, CompositionRequest, ExtractiveComposer
from assistant.models import Turn
from assistant.pipeline import Assistant
from ingest.pipeline import Indexer
from ingest.settings import PROJECT_ROOT, Settings


class _Recording(ExtractiveComposer):
    def __init__(self) -> None:
        super().__init__(policy=AbstainPolicy(min_confidence=-1, min_support=-1))
        self.last: Composition | None = None

    def run(self, request: CompositionRequest) -> Composition:
        self.last = super().run(request)
        return self.last


def _facts_hit(answer: str, groups: list[list[str]]) -> bool:
    text = re.sub(r"\s+", " ", answer).lower()
    return all(any(re.sub(r"\s+", " ", str(a)).lower() in text for a in g) for g in groups)


def _signals(r: dict) -> str:
    return (
        f"sim={r['similarity']:.3f} ev={r['evidence']:.2f} "
        f"cov={r['coverage']:.2f} sup={r['support']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("suites", nargs="*", type=Path)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--signals", action="store_true", help="print every case's signals")
    args = parser.parse_args()
    suites = args.suites or sorted((PROJECT_ROOT / "evals" / "suites").glob("*.yaml"))
    settings = Settings(data_dir=args.data_dir or Path(tempfile.mkdtemp()))
    Indexer(settings).run([settings.corpus_dir])
    composer = _Recording()
    assistant = Assistant(settings, composer=composer)
    rows = []
    for suite in suites:
        for case in (yaml.safe_load(suite.read_text(encoding="utf-8")) or {}).get("cases", []):
            history = [Turn(**t) for t in case.get("history") or []]
            answer = assistant.ask(case["question"], history=history)
            signals = composer.last.signals if composer.last else {}
            rows.append(
                {
                    "id": case["id"],
                    "abstain": bool(case.get("must_abstain")),
                    "hit": _facts_hit(answer.answer, case.get("expected_facts") or []),
                    "unsupported": answer.abstained and not signals,
                    **{
                        k: signals.get(k, 0.0)
                        for k in ("similarity", "evidence", "coverage", "support")
                    },
                }
            )
    rows.sort(key=lambda r: r["id"])
    calib, held_out = rows[0::2], rows[1::2]

    def evaluate(policy: AbstainPolicy, part: list[dict]) -> dict[str, float]:
        tp = fp = fn = tn = hits = answerable = 0
        for r in part:
            abstains = r["unsupported"] or policy.abstains(r)
            if r["abstain"]:
                tp += abstains
                fn += not abstains
            else:
                answerable += 1
                fp += abstains
                tn += not abstains
                hits += (not abstains) and r["hit"]
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        return {
            "fact_recall": hits / answerable if answerable else 0.0,
            "abstain_precision": precision,
            "abstain_recall": recall,
            "abstain_accuracy": (tp + tn) / len(part) if part else 0.0,
            "answer_rate": tn / (tn + fp) if tn + fp else 1.0,
        }

    grid = itertools.product(
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0],
        [0.0] + [0.78 + 0.005 * i for i in range(60)],
        [0.0, 0.5],
    )
    best = max(
        (AbstainPolicy(*g) for g in grid),
        # Fact recall plus balanced abstention accuracy: the abstain cases are few, and a plain
        # accuracy would reward never abstaining.
        key=lambda p: (lambda m: m["fact_recall"] + (m["abstain_recall"] + m["answer_rate"]) / 2)(
            evaluate(p, calib)
        ),
    )
    print(f"cases: {len(rows)} (calibration {len(calib)}, held out {len(held_out)})")
    never = AbstainPolicy(min_confidence=-1, min_support=-1)
    print(f"fact recall if it never abstained: {evaluate(never, rows)['fact_recall']:.3f}")
    print(f"best policy on the calibration half: {best}")
    for name, part in (("calibration", calib), ("held-out", held_out), ("all", rows)):
        print(f"  {name:12s}", {k: round(v, 3) for k, v in evaluate(best, part).items()})
    current = AbstainPolicy()
    print(f"current default {current}:")
    for name, part in (("calibration", calib), ("held-out", held_out), ("all", rows)):
        print(f"  {name:12s}", {k: round(v, 3) for k, v in evaluate(current, part).items()})
    if "--signals" in __import__("sys").argv:
        for r in rows:
            print(f"  {r['id']:40s} abstain={r['abstain']!s:5} hit={r['hit']!s:5} {_signals(r)}")
    print("\nmisses under the current default:")
    for r in rows:
        m = evaluate(current, [r])
        wrong = (r["abstain"] and m["abstain_recall"] < 1) or (
            not r["abstain"] and m["fact_recall"] < 1
        )
        if wrong:
            print(f"  {r['id']:40s} abstain={r['abstain']} hit={r['hit']} {_signals(r)}")


if __name__ == "__main__":
    main()
