"""Comparing two runs: metric deltas and, case by case, what improved and what regressed.

Cases are matched by (suite, id). A case improves when it goes from failing to passing or its
fact recall rises; it regresses the other way round. The overall changes of fact recall and pass
rate carry a paired 95 % bootstrap interval over the cases both runs share
(``evals.uncertainty``); one that includes zero is marked "within noise", and so is a tag's
change of fact recall.

Example:
    >>> def run(passed, recall):
    ...     return {"summary": {"overall": {"pass_rate": float(passed)}, "by_tag": {}},
    ...             "cases": [{"suite": "s", "id": "c", "question": "?", "score": {
    ...                 "passed": passed, "fact_recall": recall, "failures": []}}]}
    >>> diff = compare_runs(run(False, 0.5), run(True, 1.0))
    >>> [c["id"] for c in diff["improved"]], diff["regressed"]
    (['c'], [])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.metrics import METRICS, case_declined, case_recall
from evals.uncertainty import paired_interval, within_noise

# The per-case score behind each overall metric that gets a paired interval.
_PAIRED = {
    "fact_recall": lambda c: case_recall(
        c.get("expected_facts"), bool(c.get("must_abstain")), c["score"].get("fact_recall")
    ),
    "pass_rate": lambda c: float(bool(c["score"]["passed"])),
    # A question to decline counts 1 when declined, so that a change which stops declining case
    # advice or near-miss questions is judged beyond noise or not, as a loss of facts is.
    "abstention_recall": lambda c: case_declined(
        bool(c.get("must_abstain")), c["score"].get("abstained"), c["score"].get("error")
    ),
}


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return row["suite"], row["id"]


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def _case_change(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """ "improved", "regressed" or None for one matched case."""
    sa, sb = a["score"], b["score"]
    if sa["passed"] != sb["passed"]:
        return "improved" if sb["passed"] else "regressed"
    ra, rb = sa.get("fact_recall"), sb.get("fact_recall")
    if ra is not None and rb is not None and abs(rb - ra) > 1e-9:
        return "improved" if rb > ra else "regressed"
    return None


def compare_runs(run_a: dict[str, Any], run_b: dict[str, Any]) -> dict[str, Any]:
    """The comparison document (what compare.json holds)."""
    cases_a = {_key(r): r for r in run_a["cases"]}
    cases_b = {_key(r): r for r in run_b["cases"]}
    improved, regressed = [], []
    for key in sorted(cases_a.keys() & cases_b.keys()):
        a, b = cases_a[key], cases_b[key]
        change = _case_change(a, b)
        if change is None:
            continue
        entry = {
            "suite": key[0],
            "id": key[1],
            "question": b["question"],
            "passed": [a["score"]["passed"], b["score"]["passed"]],
            "fact_recall": [a["score"].get("fact_recall"), b["score"].get("fact_recall")],
            "failures_b": b["score"]["failures"],
        }
        (improved if change == "improved" else regressed).append(entry)

    def metric_deltas(sa: dict[str, Any], sb: dict[str, Any]) -> dict[str, Any]:
        return {
            m: {
                "a": sa.get(m),
                "b": sb.get(m),
                "delta": _delta(sa.get(m), sb.get(m)),
                "higher_is_better": METRICS[m],
            }
            for m in METRICS
        }

    sum_a, sum_b = run_a["summary"], run_b["summary"]
    overall = metric_deltas(sum_a["overall"], sum_b["overall"])
    shared = sorted(cases_a.keys() & cases_b.keys())

    def paired(metric: str, keys: list[tuple[str, str]]) -> dict[str, Any]:
        value = _PAIRED[metric]
        pairs = [(value(cases_a[k]), value(cases_b[k])) for k in keys]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        bounds = paired_interval([a for a, _ in pairs], [b for _, b in pairs])
        return {
            "ci95": list(bounds) if bounds is not None else None,
            "within_noise": within_noise(bounds),
            "n_paired": len(pairs),
        }

    for metric in _PAIRED:
        overall[metric].update(paired(metric, shared))
    tags = sorted(set(sum_a.get("by_tag", {})) | set(sum_b.get("by_tag", {})))
    tagged = {t: [k for k in shared if t in (cases_b[k].get("tags") or ())] for t in tags}
    warnings = []
    if run_a.get("corpus_fingerprint") != run_b.get("corpus_fingerprint"):
        warnings.append("corpus fingerprints differ: the runs used different documents")
    suites_a = sorted(s["name"] for s in run_a.get("suites", []))
    suites_b = sorted(s["name"] for s in run_b.get("suites", []))
    if suites_a != suites_b:
        warnings.append(f"suites differ: {suites_a} vs {suites_b}")
    rev_a = (run_a.get("environment") or {}).get("git_revision")
    rev_b = (run_b.get("environment") or {}).get("git_revision")
    if rev_a != rev_b or (rev_a and rev_a.endswith("-dirty")):
        warnings.append(f"code may differ: git revision {rev_a} vs {rev_b}")
    lex_a = (run_a.get("environment") or {}).get("lexicon")
    lex_b = (run_b.get("environment") or {}).get("lexicon")
    if lex_a != lex_b and lex_a is not None and lex_b is not None:
        warnings.append(f"the language bridge differs: dictionaries {lex_a} vs {lex_b}")
    set_a, set_b = run_a.get("settings") or {}, run_b.get("settings") or {}
    changed = sorted(k for k in set(set_a) | set(set_b) if set_a.get(k) != set_b.get(k))
    return {
        "a": {"timestamp": run_a.get("timestamp"), "fingerprint": run_a.get("corpus_fingerprint")},
        "b": {"timestamp": run_b.get("timestamp"), "fingerprint": run_b.get("corpus_fingerprint")},
        "warnings": warnings,
        "settings_changed": {k: [set_a.get(k), set_b.get(k)] for k in changed},
        "overall": overall,
        "by_tag": {
            t: {
                **{
                    m: _delta(
                        sum_a.get("by_tag", {}).get(t, {}).get(m),
                        sum_b.get("by_tag", {}).get(t, {}).get(m),
                    )
                    for m in ("pass_rate", "fact_recall")
                },
                "fact_recall_within_noise": paired("fact_recall", tagged[t])["within_noise"],
            }
            for t in tags
        },
        "improved": improved,
        "regressed": regressed,
        "only_in_a": [f"{s}/{i}" for s, i in sorted(cases_a.keys() - cases_b.keys())],
        "only_in_b": [f"{s}/{i}" for s, i in sorted(cases_b.keys() - cases_a.keys())],
    }


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def format_comparison(diff: dict[str, Any]) -> str:
    """A plain-text (Markdown-friendly) rendering for the terminal and compare.md."""
    lines = [f"# Comparison: {diff['a']['timestamp']} -> {diff['b']['timestamp']}", ""]
    lines += [f"WARNING: {w}" for w in diff["warnings"]]
    for key, (old, new) in diff["settings_changed"].items():
        lines.append(f"setting changed: {key}: {old!r} -> {new!r}")
    lines += ["", "| metric | A | B | delta |", "| --- | --- | --- | --- |"]
    for metric, d in diff["overall"].items():
        mark = ""
        if d["delta"] and d["higher_is_better"] is not None:
            better = (d["delta"] > 0) == d["higher_is_better"]
            mark = " (better)" if better else " (worse)"
        delta = "–" if d["delta"] is None else f"{d['delta']:+.3f}"
        if d.get("ci95"):
            lo, hi = d["ci95"]
            noise = ", within noise" if d["within_noise"] else ""
            mark += f" (95 % {lo:+.3f} to {hi:+.3f} over {d['n_paired']} shared cases{noise})"
        lines.append(f"| {metric} | {_num(d['a'])} | {_num(d['b'])} | {delta}{mark} |")
    moved_tags = {t: d for t, d in diff["by_tag"].items() if d["pass_rate"] or d["fact_recall"]}
    if moved_tags:
        lines += ["", "Per tag (pass_rate / fact_recall delta):"]
        lines += [
            f"- {t}: {_num(d['pass_rate'])} / {_num(d['fact_recall'])}"
            + (" (fact recall within noise)" if d.get("fact_recall_within_noise") else "")
            for t, d in moved_tags.items()
        ]
    for title, items in (("Regressed", diff["regressed"]), ("Improved", diff["improved"])):
        lines += ["", f"## {title} ({len(items)})"]
        for c in items:
            state = "pass" if c["passed"][1] else "FAIL"
            lines.append(
                f"- {c['suite']}/{c['id']}: now {state}, fact recall "
                f"{_num(c['fact_recall'][0])} -> {_num(c['fact_recall'][1])} — {c['question']}"
            )
            lines += [f"    - {f}" for f in c["failures_b"]] if title == "Regressed" else []
    if diff["only_in_a"] or diff["only_in_b"]:
        lines += [
            "",
            f"Only in A: {', '.join(diff['only_in_a']) or '–'}",
            f"Only in B: {', '.join(diff['only_in_b']) or '–'}",
        ]
    return "\n".join(lines) + "\n"


def write_comparison(diff: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write compare.json and compare.md into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "compare.json", "md": out / "compare.md"}
    paths["json"].write_text(json.dumps(diff, ensure_ascii=False, indent=2), encoding="utf-8")
    paths["md"].write_text(format_comparison(diff), encoding="utf-8")
    return paths
