"""The fitted weights of the answer engine, read from ``answer_model.json``.

Two logistic regressions over named features (``assistant.candidates``): one scores each
candidate sentence (does it hold the answer?), one scores the question (does the material
answer it at all?). Plus the fusion weights of retrieval and the shape of the answer card
(``assistant.answer_card``). All of it is written by ``benchmarks/fit_answer_model.py``, fitted
on the tuning half of the development suite and the seed suite only; nothing here is set by
hand.

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
class CardShape:
    """The fitted shape of the answer card.

    ``lead_before`` / ``lead_after``: at most this many neighbouring sentences join the lead
    sentence, each only while it scores at least ``extend_min`` (a probability; sentences too
    short to be candidates count as 0 unless it is 0), stays within the lead's paragraph when
    ``paragraph`` is set, and the excerpt stays within ``lead_words``. ``supports``: at most
    this many supporting quotes, each scoring at least ``support_min`` and
    ``support_relative`` × the lead's probability; when none of the quotes is in the other
    language, the best sentence in it joins as a support if it reaches ``other_language``.
    ``language_margin``: a candidate in the question's language leads when its logit is within
    this margin of the best other-language candidate. ``max_words``: the whole card's budget.
    ``same_document``: a support may also come from the lead's document (a passage apart from
    the excerpt), not only from other documents.
    """

    lead_before: int = 0
    lead_after: int = 1
    lead_words: int = 80
    paragraph: bool = True
    extend_min: float = 0.0
    supports: int = 2
    support_relative: float = 0.75
    support_min: float = 0.5
    other_language: float = 0.4
    language_margin: float = 0.0
    max_words: int = 110
    same_document: bool = False

    def __post_init__(self) -> None:
        if not (0 <= self.lead_before <= 5 and 0 <= self.lead_after <= 8):
            raise AnswerModelError("lead_before must be 0-5 and lead_after 0-8")
        if not 0 <= self.supports <= 2:
            raise AnswerModelError("supports must be 0, 1 or 2 (no collage)")
        shares = (self.extend_min, self.support_relative, self.support_min, self.other_language)
        if not all(0 <= v <= 1 for v in shares):
            raise AnswerModelError(
                "extend_min, support_relative, support_min and other_language are shares "
                "between 0 and 1"
            )
        if self.language_margin < 0:
            raise AnswerModelError("language_margin must be >= 0")
        if not 10 <= self.lead_words <= self.max_words <= 400:
            raise AnswerModelError("need 10 <= lead_words <= max_words <= 400")


@dataclass(frozen=True)
class AnswerModel:
    sentence: LinearModel
    answerable: LinearModel
    card: CardShape = CardShape()
    fusion: FusionWeights = FusionWeights()
    passages: int = 8
    """how many fused passages the composer reads"""
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_settings(cls, settings: Any) -> AnswerModel:
        """The model ``settings`` name (``KVA_ANSWER_MODEL``), else the one ``python -m evals
        refit`` installed under the data dir, else the bundled one."""
        return cls.load(model_path(settings))

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
                card=CardShape(**data.get("card", {})),
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
            "card": asdict(self.card),
            "sentence": asdict(self.sentence),
            "answerable": asdict(self.answerable),
        }

    def save(self, path: Path = MODEL_PATH) -> None:
        Path(path).write_text(
            json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def model_path(settings: Any) -> Path:
    """The answer model file ``settings`` use (see ``AnswerModel.for_settings``)."""
    if settings.answer_model is not None:
        return Path(settings.answer_model)
    installed = Path(settings.installed_model_path)
    return installed if installed.is_file() else MODEL_PATH


def model_summary(model: AnswerModel, settings: Any) -> dict[str, Any]:
    """What ``/readyz`` says of the answer model: its file and where it came from."""
    provenance = model.provenance
    return {
        "path": str(model_path(settings)),
        "fitted_by": provenance.get("fitted_by"),
        "fitted_at": provenance.get("fitted_at"),
        "tuning_suites": provenance.get("tuning_suites", []),
        "labels": provenance.get("labels", 0),
    }


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
