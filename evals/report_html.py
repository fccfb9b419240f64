"""A self-contained HTML report: inline CSS and SVG only, so it opens offline and can be mailed.

Example:
    >>> html = render_report({"timestamp": "t", "suites": [], "summary": {
    ...     "overall": {"n_cases": 0}, "by_tag": {}, "by_language": {}}, "cases": []})
    >>> html.startswith("<!doctype html>") and "<script" not in html
    True
"""

from __future__ import annotations

from html import escape
from typing import Any

from evals.metrics import METRICS

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222;padding:0 1rem}
h1{font-size:1.5rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0} td,th{border:1px solid #ddd;padding:.25rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem} th{background:#f4f4f4}
.num{text-align:right;font-variant-numeric:tabular-nums} .bad{color:#b00020} .ok{color:#1b5e20}
.case{border:1px solid #e0c0c0;border-left:4px solid #b00020;padding:.5rem 1rem;margin:1rem 0}
.answer{white-space:pre-wrap;background:#fafafa;padding:.5rem;border:1px solid #eee}
.quote{font-style:italic} .muted{color:#666;font-size:.85rem} svg text{font-size:11px}
"""


def _fmt(value: Any, metric: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if metric.endswith(("_ms", "_mean")) else f"{value:.3f}"
    return escape(str(value))


def _bars(title: str, rows: list[tuple[str, float | None, int]]) -> str:
    """Horizontal bars for 0..1 values: label, value, number of cases."""
    if not rows:
        return ""
    label_w, bar_w, row_h = 170, 360, 20
    height = row_h * len(rows) + 30
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{label_w + bar_w + 90}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value, n) in enumerate(rows):
        y = 24 + i * row_h
        width = 0 if value is None else max(1, round(bar_w * value))
        v = value or 0.0
        colour = "#1b5e20" if v >= 0.8 else "#e68a00" if v >= 0.5 else "#b00020"
        parts += [
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(label)} ({n})</text>',
            f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="{row_h - 6}" fill="#eee"/>',
            f'<rect x="{label_w}" y="{y + 2}" width="{width}" height="{row_h - 6}" '
            f'fill="{colour}"/>',
            f'<text x="{label_w + bar_w + 6}" y="{y + 13}">{_fmt(value)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _histogram(latencies: list[float], bins: int = 12) -> str:
    if not latencies:
        return "<p class=muted>No latencies recorded.</p>"
    lo, hi = min(latencies), max(latencies)
    step = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in latencies:
        counts[min(int((v - lo) / step), bins - 1)] += 1
    width, height, pad = 600, 180, 30
    bar = (width - pad) / bins
    top = max(counts)
    parts = [
        f'<svg role="img" aria-label="latency histogram" width="{width}" height="{height + 40}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, count in enumerate(counts):
        h = height * count / top
        x = pad + i * bar
        parts.append(
            f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
            f'fill="#3f51b5"><title>{lo + i * step:.0f}–{lo + (i + 1) * step:.0f} ms: '
            f"{count}</title></rect>"
        )
        if count:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - h - 3:.1f}" '
                f'text-anchor="middle">{count}</text>'
            )
    parts += [
        f'<line x1="{pad}" y1="{height}" x2="{width}" y2="{height}" stroke="#999"/>',
        f'<text x="{pad}" y="{height + 16}">{lo:.0f} ms</text>',
        f'<text x="{width}" y="{height + 16}" text-anchor="end">{hi:.0f} ms</text>',
        f'<text x="{(width + pad) / 2}" y="{height + 34}" text-anchor="middle">'
        "latency per case</text></svg>",
    ]
    return "".join(parts)


def _metric_table(summary: dict[str, Any]) -> str:
    groups = [("overall", summary["overall"])]
    groups += [(f"lang {k}", v) for k, v in summary.get("by_language", {}).items()]
    head = "".join(f"<th>{escape(g)}</th>" for g, _ in groups)
    body = []
    for metric in ("n_cases", "n_passed", "n_errors", *METRICS):
        cells = "".join(f'<td class="num">{_fmt(g.get(metric), metric)}</td>' for _, g in groups)
        body.append(f"<tr><th>{escape(metric)}</th>{cells}</tr>")
    return f"<table><tr><th>metric</th>{head}</tr>{''.join(body)}</table>"


def _tag_table(summary: dict[str, Any]) -> str:
    cols = (
        "n_cases",
        "pass_rate",
        "fact_recall",
        "source_hit_rate",
        "citation_validity",
        "abstention_accuracy",
        "language_match",
        "latency_p50_ms",
    )
    head = "".join(f"<th>{c}</th>" for c in cols)
    rows = [
        f"<tr><th>{escape(tag)}</th>"
        + "".join(f'<td class="num">{_fmt(agg.get(c), c)}</td>' for c in cols)
        + "</tr>"
        for tag, agg in summary.get("by_tag", {}).items()
    ]
    return f"<table><tr><th>tag</th>{head}</tr>{''.join(rows)}</table>" if rows else ""


def _related(answer: dict[str, Any], limit: int = 3) -> str:
    """The closest passages offered with an abstention: shows whether retrieval came near."""
    items = "".join(
        f"<li><b>{escape(p['doc_id'])}</b> <span class=muted>score {p['score']:.3f}</span>"
        f"<div class=quote>{escape(p['text'][:300])}</div></li>"
        for p in answer.get("related", [])[:limit]
    )
    return f"<p>Closest passages offered:</p><ul>{items}</ul>" if items else ""


def _failing_case(row: dict[str, Any]) -> str:
    score, answer = row["score"], row.get("answer") or {}
    facts = "".join(
        f'<li class="{"ok" if hit else "bad"}">{"✓" if hit else "✗"} '
        f"{escape(' | '.join(group))}</li>"
        for group, hit in zip(
            row["expected_facts"],
            score["facts_hit"] or [False] * len(row["expected_facts"]),
            strict=False,
        )
    )
    checks = {c["n"]: c for c in score.get("citation_checks", [])}
    cites = "".join(
        f"<li>[{c['n']}] <b>{escape(c['doc_id'])}</b>"
        f"{' · ' + escape(c['section']) if c.get('section') else ''} "
        f"<span class=muted>{c['start']}–{c['end']}</span> "
        + (
            ""
            if checks.get(c["n"], {}).get("valid", True)
            else f"<span class=bad>invalid: {escape(checks[c['n']]['problem'] or '')}</span>"
        )
        + f"<div class=quote>“{escape(c['quote'])}”</div></li>"
        for c in answer.get("citations", [])
    )
    history = "".join(
        f"<div class=muted>{escape(t['role'])}: {escape(t['content'])}</div>"
        for t in row.get("history", [])
    )
    return (
        f'<div class="case" id="case-{escape(row["suite"])}-{escape(row["id"])}">'
        f"<h3>{escape(row['suite'])} / {escape(row['id'])} "
        f"<span class=muted>[{escape(', '.join(row['tags']))}]</span></h3>"
        f"{history}<p><b>Q ({escape(str(row['language'] or 'any'))}):</b> "
        f"{escape(row['question'])}</p>"
        f"<ul class=bad>{''.join(f'<li>{escape(f)}</li>' for f in score['failures'])}</ul>"
        + (f"<p>Expected facts:</p><ul>{facts}</ul>" if facts else "")
        + (
            f"<p>Expected sources: {escape(', '.join(row['expected_sources']))}</p>"
            if row["expected_sources"]
            else ""
        )
        + (
            f"<p>must_abstain: true · abstained: {answer.get('abstained')}</p>"
            if row["must_abstain"]
            else ""
        )
        + f"<p>Answer ({escape(str(answer.get('language', '?')))}, "
        f"{_fmt(score.get('latency_ms'), '_ms')} ms):</p>"
        f"<div class=answer>{escape(answer.get('answer', '(no answer)'))}</div>"
        + (f"<p>Citations:</p><ol>{cites}</ol>" if cites else "<p class=muted>No citations.</p>")
        + _related(answer)
        + "</div>"
    )


def render_report(results: dict[str, Any]) -> str:
    """The whole report as one HTML string."""
    summary = results["summary"]
    overall = summary["overall"]
    tag_rows = [(t, a.get("pass_rate"), a["n_cases"]) for t, a in summary["by_tag"].items()]
    recall_rows = [
        (t, a.get("fact_recall"), a["n_cases"])
        for t, a in summary["by_tag"].items()
        if a.get("fact_recall") is not None
    ]
    lang_rows = [(k, a.get("pass_rate"), a["n_cases"]) for k, a in summary["by_language"].items()]
    failing = [r for r in results["cases"] if not r["score"]["passed"]]
    latencies = [
        r["score"]["latency_ms"]
        for r in results["cases"]
        if r["score"].get("latency_ms") is not None
    ]
    suites = ", ".join(s["name"] for s in results.get("suites", []))
    lo, hi = overall.get("fact_recall_ci95_low"), overall.get("fact_recall_ci95_high")
    spread = (
        f"<p>Fact recall {overall['fact_recall']:.3f}, 95 % interval {lo:.3f}–{hi:.3f}: "
        "a run that differs by less than the interval's half-width may differ by chance.</p>"
        if lo is not None and hi is not None and overall.get("fact_recall") is not None
        else ""
    )
    settings = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
        for k, v in (results.get("settings") or {}).items()
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Evaluation report – {escape(suites)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Evaluation report: {escape(suites)}</h1>"
        f"<p class=muted>{escape(str(results.get('timestamp')))} · backend "
        f"{escape(str(results.get('backend')))} · corpus fingerprint "
        f"<code>{escape(str(results.get('corpus_fingerprint') or 'unknown')[:16])}</code></p>"
        f"<p><b>{overall.get('n_passed', 0)} of {overall.get('n_cases', 0)} cases passed</b>"
        f" ({len(failing)} failing).</p>{spread}"
        f"<h2>Metrics</h2>{_metric_table(summary)}"
        f"<h2>Per tag</h2>{_bars('pass rate per tag', tag_rows)}"
        f"{_bars('fact recall per tag', recall_rows)}{_tag_table(summary)}"
        f"<h2>Per language</h2>{_bars('pass rate per language', lang_rows)}"
        f"<h2>Latency</h2>{_histogram(latencies)}"
        f"<h2>Failing cases ({len(failing)})</h2>"
        + ("".join(_failing_case(r) for r in failing) or "<p class=ok>None.</p>")
        + (f"<h2>Settings</h2><table>{settings}</table>" if settings else "")
        + "</body></html>"
    )
