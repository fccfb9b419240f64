"""Answer units: the sentences (or runs of short lines) an answer can quote.

Ingestion embeds each unit once, so the assistant can rank candidate sentences by meaning at
question time without running the model on them; a chunk's own vector is the token-weighted
mean of its units' vectors, so each token is embedded once.

Example:
    >>> from ingest.units import answer_units
    >>> text = "Kontakt\\n\\nAnna Lund\\nFuldmægtig\\n\\nVi skriver om viden hver måned."
    >>> [text[s:e] for s, e in answer_units(text, 0, len(text))]
    ['Kontakt\\n\\nAnna Lund\\nFuldmægtig', 'Vi skriver om viden hver måned.']
"""

from __future__ import annotations

import numpy as np

from ingest.sentences import sentence_spans

_SHORT = 6
_MAX_MERGED = 12


def answer_units(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]``; runs of short lines (a label and a name, a
    contact block) are joined, while a short line before a full sentence (a heading) stays
    apart."""
    merged: list[tuple[int, int]] = []
    for s, e in sentence_spans(text, start, end):
        if merged:
            prev_start, prev_end = merged[-1]
            words = len(text[s:e].split())
            prev_words = len(text[prev_start:prev_end].split())
            # A one- or two-word line after a name line is the next entry's label
            # ("Kontakt"), so it opens a new unit instead of trailing the previous one.
            if (
                prev_words < _SHORT
                and words < _SHORT
                and not (words <= 2 and prev_words >= 3)
                and len(text[prev_start:e].split()) <= _MAX_MERGED
            ):
                merged[-1] = (prev_start, e)
                continue
        merged.append((s, e))
    return merged


def pooled(vectors: list[list[float]], weights: list[int]) -> list[float]:
    """Token-weighted, re-normalised mean of unit vectors: the chunk's vector."""
    matrix = np.asarray(vectors, dtype=np.float32)
    w = np.asarray(weights, dtype=np.float32).clip(min=1)[:, None]
    mean = (matrix * w).sum(axis=0) / w.sum()
    norm = float(np.linalg.norm(mean)) or 1.0
    return (mean / norm).tolist()
