"""The fitted weights of the answer engine, read from ``answer_model.json``.

Two logistic regressions over named features (``assistant.candidates``): one scores each
candidate sentence (does it hold the answer?), one scores the question (does the material
answer it at all?). Plus the fusion weights of retrieval and the selection thresholds. All of
it is written by ``benchmarks/fit_answer_model.py``, fitted on the tuning half of the
development suite and the seed suite only; nothing here is set by hand.

Applying a fitted model is a dot product, so answering needs numpy only; scikit-learn is used
to fit.

Example:
    >>> model = AnswerModel.load()
    >>> set(model.sentence.features) <= set(SENTENCE_FEATURES)
    True
    >>> 0.0 < model.answerable.threshold < 1.0
    True
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant.candidates import QUESTION_FEATURES, SENTENCE_FEATURES
from assistant.retriever import FusionWeights

MODEL_PATH = Path(__file__).with_name("answer_model.json")


class AnswerModelError(ValueError):
    """The model file is missing, unreadable or names features the code does not compute."""


@dataclass(frozen=True)
class LinearModel:
    """A standardised logistic regression: logit = ((x - mean) / scale) · coef + intercept."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float = 0.5

    def __post_init__(self) -> None:
        n = len(self.features)
        if not (len(self.mean) == len(self.scale) == len(self.coef) == n):
            raise AnswerModelError("features, mean, scale and coef must have the same length")
        if any(s <= 0 for s in self.scale):
            raise AnswerModelError("every scale must be positive")
        if not 0.0 < self.threshold < 1.0:
            raise AnswerModelError("threshold must be a probability strictly between 0 and 1")

    def logits(self, rows: list[dict[str, float]]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        x = np.array([[r[f] for f in self.features] for r in rows], dtype=np.float64)
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.coef) + self.intercept

    def probability(self, row: dict[str, float]) -> float:
        return sigmoid(float(self.logits([row])[0]))

    def contributions(self, row: dict[str, float]) -> dict[str, float]:
        """Each feature's share of the logit: why a sentence won or a question was declined."""
        return {
            f: round((row[f] - m) / s * c, 4)
            for f, m, s, c in zip(self.features, self.mean, self.scale, self.coef, strict=True)
        }


@dataclass(frozen=True)
class Selection:
    """Which further sentences join the best one: probability at least ``relative`` × the
    best's and at least ``min_probability``; at most ``max_sentences``. When none of them is in
    the other language, the best sentence in that language joins too if its probability
    reaches ``other_language``: the answer to a cross-lingual question is often the
    other-language sentence that scored just below one that repeats the question's words."""

    relative: float = 0.6
    min_probability: float = 0.3
    max_sentences: int = 3
    other_language: float = 1.0

    def __post_init__(self) -> None:
        shares = (self.relative, self.min_probability, self.other_language)
        if not all(0 <= v <= 1 for v in shares):
            raise AnswerModelError(
                "relative, min_probability and other_language are shares between 0 and 1"
            )
        if not 1 <= self.max_sentences <= 10:
            raise AnswerModelError("max_sentences must be between 1 and 10")


@dataclass(frozen=True)
class AnswerModel:
    sentence: LinearModel
    answerable: LinearModel
    selection: Selection = Selection()
    fusion: FusionWeights = FusionWeights()
    passages: int = 8
    """how many fused passages the composer reads"""
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    @lru_cache(maxsize=4)
    def load(cls, path: Path = MODEL_PATH) -> AnswerModel:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AnswerModelError(f"{path}: cannot read the answer model ({exc})") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<answer model>") -> AnswerModel:
        try:
            sentence = _linear(data["sentence"])
            answerable = _linear(data["answerable"])
            model = cls(
                sentence=sentence,
                answerable=answerable,
                selection=Selection(**data.get("selection", {})),
                fusion=FusionWeights(**data.get("fusion", {})),
                passages=int(data.get("passages", 8)),
                provenance=dict(data.get("provenance", {})),
            )
        except (KeyError, TypeError) as exc:
            raise AnswerModelError(f"{source}: malformed answer model ({exc!r})") from exc
        unknown = (set(sentence.features) - set(SENTENCE_FEATURES)) | (
            set(answerable.features) - set(QUESTION_FEATURES)
        )
        if unknown:
            raise AnswerModelError(f"{source}: unknown features {sorted(unknown)}")
        return model

    def to_dict(self) -> dict[str, Any]:
        return {
            "provenance": self.provenance,
            "fusion": asdict(self.fusion),
            "passages": self.passages,
            "selection": asdict(self.selection),
            "sentence": asdict(self.sentence),
            "answerable": asdict(self.answerable),
        }

    def save(self, path: Path = MODEL_PATH) -> None:
        Path(path).write_text(
            json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def _linear(data: dict[str, Any]) -> LinearModel:
    return LinearModel(
        features=tuple(data["features"]),
        mean=tuple(float(v) for v in data["mean"]),
        scale=tuple(float(v) for v in data["scale"]),
        coef=tuple(float(v) for v in data["coef"]),
        intercept=float(data["intercept"]),
        threshold=float(data.get("threshold", 0.5)),
    )


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))
