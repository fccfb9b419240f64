"""How far a figure from a few hundred cases can be trusted: bootstrap intervals.

A suite of 134 answerable questions gives a fact recall whose 95 % interval is several points
wide, and two runs that differ by 0.015 may differ by chance alone. ``interval`` resamples the
cases of one run; ``paired_interval`` resamples the cases two runs share and measures the
difference case by case, which is narrower than comparing two separate intervals because most
cases score the same in both runs. Percentile bootstrap, a fixed seed (the same runs always give
the same interval).

Example:
    >>> from evals.uncertainty import interval, paired_interval
    >>> interval([1.0] * 10)
    (1.0, 1.0)
    >>> lo, hi = interval([0.0, 1.0] * 50)
    >>> round(lo, 2), round(hi, 2)
    (0.41, 0.6)
    >>> paired_interval([0.0] * 30, [1.0] * 30)
    (1.0, 1.0)
    >>> lo, hi = paired_interval([0.0, 1.0] * 20, [1.0, 0.0] * 20)
    >>> lo < 0 < hi
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LEVEL = 0.95
RESAMPLES = 2000
_SEED = 20261124
_MAX_DRAWS = 1_000_000  # indices drawn at once


def interval(
    values: Sequence[float], level: float = LEVEL, resamples: int = RESAMPLES
) -> tuple[float, float] | None:
    """The ``level`` bootstrap interval of the mean of ``values``; None for fewer than two."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    data = np.asarray(values, dtype=np.float64)
    if len(data) < 2:
        return None
    rng = np.random.default_rng(_SEED)
    # In blocks, so that a suite of thousands of cases does not draw one huge index matrix.
    block = max(1, _MAX_DRAWS // len(data))
    means = np.concatenate(
        [
            data[rng.integers(0, len(data), size=(min(block, resamples - done), len(data)))].mean(
                axis=1
            )
            for done in range(0, resamples, block)
        ]
    )
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def paired_interval(
    before: Sequence[float],
    after: Sequence[float],
    level: float = LEVEL,
    resamples: int = RESAMPLES,
) -> tuple[float, float] | None:
    """The ``level`` bootstrap interval of the mean change ``after - before``, case by case
    (``before[i]`` and ``after[i]`` are the same case in two runs)."""
    if len(before) != len(after):
        raise ValueError(f"paired values differ in length: {len(before)} and {len(after)}")
    diffs = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    return interval(diffs.tolist(), level, resamples)


def within_noise(bounds: tuple[float, float] | None) -> bool | None:
    """Whether an interval of a change includes no change at all (None when there is none)."""
    if bounds is None:
        return None
    return bounds[0] <= 0.0 <= bounds[1]
