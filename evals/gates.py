"""``--fail-under`` / ``--fail-over`` gates: parse ``metric[@scope]=value`` and check a summary.

A scope picks a slice: ``@tag:cross-lingual`` or ``@lang:da``; without one the overall figure
is used. Unknown metrics and malformed specs raise ``GateError`` (the CLI exits 2 on it).

Example:
    >>> gate = parse_gate("fact_recall@tag:service-act=0.8", "under")
    >>> check_gates({"overall": {}, "by_tag": {"service-act": {"fact_recall": 0.5}},
    ...              "by_language": {}}, [gate])
    ['fact_recall@tag:service-act = 0.500, below the floor 0.8']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from evals.metrics import METRICS


class GateError(ValueError):
    """A gate that cannot be understood."""


@dataclass(frozen=True)
class Gate:
    metric: str
    threshold: float
    direction: Literal["under", "over"]
    scope: str | None = None  # "tag:NAME" or "lang:CODE"

    @property
    def label(self) -> str:
        return self.metric + (f"@{self.scope}" if self.scope else "")


def parse_gate(spec: str, direction: Literal["under", "over"]) -> Gate:
    """Parse ``metric[@tag:NAME|@lang:CODE]=number``."""
    name, sep, value = spec.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise GateError(f"gate {spec!r}: write it as metric=value, e.g. fact_recall=0.8")
    metric, _, scope = name.strip().partition("@")
    if metric not in METRICS:
        raise GateError(
            f"gate {spec!r}: unknown metric {metric!r}; known: {', '.join(sorted(METRICS))}"
        )
    if scope and not scope.startswith(("tag:", "lang:")):
        raise GateError(f"gate {spec!r}: scope must be @tag:NAME or @lang:CODE")
    try:
        threshold = float(value)
    except ValueError:
        raise GateError(f"gate {spec!r}: {value.strip()!r} is not a number") from None
    return Gate(metric, threshold, direction, scope or None)


def _slice(summary: dict[str, Any], scope: str | None) -> dict[str, Any] | None:
    if scope is None:
        return summary["overall"]
    kind, _, key = scope.partition(":")
    return summary["by_tag" if kind == "tag" else "by_language"].get(key)


def check_gates(summary: dict[str, Any], gates: list[Gate]) -> list[str]:
    """One line per failed gate; empty when all hold. Unmeasurable counts as failed."""
    failed = []
    for gate in gates:
        part = _slice(summary, gate.scope)
        if part is None:
            failed.append(f"{gate.label}: no cases in that scope")
            continue
        value = part.get(gate.metric)
        if value is None:
            failed.append(f"{gate.label}: not measured (no case it applies to)")
        elif gate.direction == "under" and value < gate.threshold:
            failed.append(f"{gate.label} = {value:.3f}, below the floor {gate.threshold:g}")
        elif gate.direction == "over" and value > gate.threshold:
            failed.append(f"{gate.label} = {value:.3f}, above the ceiling {gate.threshold:g}")
    return failed
