"""Extractive vs generative composer, side by side: fact recall, faithfulness, fallbacks, latency.

``faithfulness`` = the share of generated sentences that passed the verifier (summed over the
answers the model wrote); ``fallbacks`` = answers where the generative composer returned the
extractive answer instead (with the reasons). Both come from the answer JSON
(``composer``, ``fell_back``, ``fallback_reason``, ``verification``).

Example:
    >>> results = {"summary": {"overall": {"fact_recall": 0.5}}, "cases": [
    ...     {"answer": {"abstained": False, "composer": "generative", "fell_back": False,
    ...                 "verification": {"sentences": 4, "kept": 3, "dropped": ["no_marker"]}}},
    ...     {"answer": {"abstained": False, "composer": "generative", "fell_back": True,
    ...                 "fallback_reason": "llm_timeout", "verification": None}}]}
    >>> s = composer_stats(results)
    >>> s["faithfulness"], s["fallbacks"], s["fallback_reasons"]
    (0.75, 1, {'llm_timeout': 1})
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

_FROM_SUMMARY = (
    "pass_rate",
    "fact_recall",
    "source_hit_rate",
    "citation_validity",
    "abstention_accuracy",
    "language_match",
    "latency_p50_ms",
    "latency_p95_ms",
)


def composer_stats(results: dict[str, Any]) -> dict[str, Any]:
    answers = [row["answer"] for row in results["cases"] if row.get("answer")]
    answered = [a for a in answers if not a.get("abstained")]
    generative = [a for a in answered if a.get("composer") == "generative"]
    fell = [a for a in generative if a.get("fell_back")]
    checks = [a.get("verification") or {} for a in generative if not a.get("fell_back")]
    checks += [a.get("verification") or {} for a in fell]
    sentences = sum(int(v.get("sentences", 0)) for v in checks)
    kept = sum(int(v.get("kept", 0)) for v in checks)
    overall = results["summary"]["overall"]
    return {
        "composer": "generative" if generative else "extractive",
        "answers": len(answers),
        "answered": len(answered),
        **{k: overall.get(k) for k in _FROM_SUMMARY},
        "generated_sentences": sentences,
        "faithfulness": kept / sentences if sentences else None,
        "fallbacks": len(fell),
        "fallback_rate": len(fell) / len(generative) if generative else None,
        "fallback_reasons": dict(Counter(a.get("fallback_reason") for a in fell)),
        "dropped_reasons": dict(Counter(r for v in checks for r in v.get("dropped") or [])),
    }


def side_by_side(runs: dict[str, dict[str, Any]]) -> str:
    """A Markdown table of ``composer_stats`` for each named run."""
    stats = {name: composer_stats(r) for name, r in runs.items()}
    rows = [
        ("fact recall", "fact_recall", "{:.3f}"),
        ("source hit rate", "source_hit_rate", "{:.3f}"),
        ("pass rate", "pass_rate", "{:.3f}"),
        ("citation validity", "citation_validity", "{:.3f}"),
        ("language match", "language_match", "{:.3f}"),
        ("answered (not abstained)", "answered", "{}"),
        ("generated sentences", "generated_sentences", "{}"),
        ("faithfulness (sentences kept)", "faithfulness", "{:.3f}"),
        ("fallbacks to extractive", "fallbacks", "{}"),
        ("fallback rate", "fallback_rate", "{:.3f}"),
        ("latency p50 (ms)", "latency_p50_ms", "{:.0f}"),
        ("latency p95 (ms)", "latency_p95_ms", "{:.0f}"),
    ]
    names = list(stats)
    lines = ["| metric | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for label, key, fmt in rows:
        cells = []
        for name in names:
            value = stats[name].get(key)
            cells.append("–" if value is None else fmt.format(value))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for name in names:
        for key in ("fallback_reasons", "dropped_reasons"):
            if stats[name][key]:
                detail = ", ".join(f"{k} {v}" for k, v in sorted(stats[name][key].items()))
                lines.append(f"\n{name} {key.replace('_', ' ')}: {detail}")
    return "\n".join(lines) + "\n"


def write_side_by_side(runs: dict[str, dict[str, Any]], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "composers.json").write_text(
        json.dumps({n: composer_stats(r) for n, r in runs.items()}, indent=2), encoding="utf-8"
    )
    path = out / "composers.md"
    path.write_text(side_by_side(runs), encoding="utf-8")
    return path
