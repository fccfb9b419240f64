"""A question's cosines made comparable across languages.

The e5 model scores a Danish question higher against any Danish text than against any
English one, so a raw ranking buries the English sentence (or chunk) that answers it under
loosely related Danish ones. Each language gets a background (the mean and spread of the
question's cosine to what stands for "unrelated" in that language), and a cosine is ranked by
how many spreads it stands above its own language's background.

The sentence index, its inverted file and the dense ranking all rank this way; this module is
the one place the arithmetic lives.

Example:
    >>> import numpy as np
    >>> sims = np.array([0.80, 0.82, 0.70, 0.74], dtype=np.float32)
    >>> masks = {"da": np.array([1, 1, 0, 0], bool), "en": np.array([0, 0, 1, 1], bool)}
    >>> stats = background(sims, masks)
    >>> [round(v, 2) for v in stats["en"]]
    [0.72, 0.02]
    >>> standardised(sims, masks, stats).round(1).tolist()
    [-1.0, 1.0, -1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

# language -> (mean, spread) of a question's cosines to that language's background.
LanguageStats = dict[str, tuple[float, float]]

# A background whose cosines are all equal has no spread; dividing by this instead keeps
# the order of the rows without producing infinities.
_MIN_SPREAD = 1e-3


def spread_of(sims: np.ndarray) -> tuple[float, float] | None:
    """(mean, spread) of ``sims``; None for fewer than 2 values, which make no background."""
    if len(sims) < 2:
        return None
    return float(sims.mean()), float(sims.std()) or _MIN_SPREAD


def background(sims: np.ndarray, masks: Mapping[str, np.ndarray]) -> LanguageStats:
    """Per language, ``spread_of`` the cosines its mask selects."""
    stats: LanguageStats = {}
    for lang, rows in masks.items():
        found = spread_of(sims[rows])
        if found is not None:
            stats[lang] = found
    return stats


def standardised(
    sims: np.ndarray, masks: Mapping[str, np.ndarray], stats: LanguageStats | None
) -> np.ndarray:
    """``sims`` as spreads above each row's language background (``masks``: language -> the
    rows in it). ``sims`` unchanged when a language with rows here has no background: ranks
    mixing balanced and raw scores would mean nothing."""
    present = [lang for lang, rows in masks.items() if rows.any()]
    if not stats or any(lang not in stats for lang in present):
        return sims
    z = np.array(sims, dtype=np.float32, copy=True)
    for lang in present:
        mean, spread = stats[lang]
        rows = masks[lang]
        z[rows] = (z[rows] - mean) / spread
    return z
