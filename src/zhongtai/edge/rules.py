"""How a bundle turns scores into answers: the capability's rules, as the platform's runtime applies them.

A binary model's `score` is the probability and `decision` the first score band (highest first) it
reaches; a multiclass model's `decision` is the most probable class with the three most probable under
`classes`; a regression model's `score` and `value` are the prediction and `decision` the first value band
it reaches, or the value as text when the capability has none. Below every band: the fallback's decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

TOP_CLASSES = 3


@dataclass(frozen=True)
class Rules:
    """The capability's answers over its model's scores."""

    task: str
    bands: tuple[tuple[float, str], ...]  # (lowest score or value, decision), highest first
    otherwise: str
    classes: tuple[Any, ...] = ()

    def decision_for(self, score: float) -> str:
        """The decision of the first band the score or value reaches."""
        if self.task == "regression" and not self.bands:
            return format(score, ".6g")
        for lowest, decision in self.bands:
            if score >= lowest:
                return decision
        return self.otherwise

    def one(self, scores: np.ndarray) -> tuple[str, float, dict[str, Any] | None]:
        """Decision, score and task output of one row's scores (a class probability row for multiclass)."""
        if self.task == "multiclass":
            order = np.argsort(-scores, kind="stable")
            top = [{"class": self.classes[i], "probability": float(scores[i])} for i in order[:TOP_CLASSES]]
            return str(self.classes[order[0]]), float(scores[order[0]]), {"classes": top}
        score = float(scores)
        output = {"value": score} if self.task == "regression" else None
        return self.decision_for(score), score, output


def top_factors(
    contributions: np.ndarray, features: Sequence[str], used: Mapping[str, Any], top: int
) -> list[dict[str, Any]]:
    """The `top` features by absolute contribution (ties in feature order), with their values."""
    if top == 0:
        return []
    order = np.argsort(-np.abs(contributions), kind="stable")[:top]
    return [
        {"feature": features[i], "value": used[features[i]], "contribution": float(contributions[i])}
        for i in order
    ]
