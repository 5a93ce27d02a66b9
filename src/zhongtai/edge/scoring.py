"""The model math of a bundle: scores and additive contributions, exactly as the platform's predictors.

Each scorer's `explain(rows)` returns the scores and each feature's contribution in the model's raw space
with the bias last (see the platform's models/predictor.py, whose formats these are): LightGBM binary,
multiclass and regression model text through LightGBM's own tree SHAP, and the standardised linear
(`linear-json`) and multinomial (`softmax-json`) JSON models in numpy. Artifacts are data only (model text,
JSON); nothing is unpickled. LightGBM is imported only when a bundle holds a LightGBM model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import EdgeError

LIGHTGBM_BINARY = "lightgbm-text"
LIGHTGBM_MULTICLASS = "lightgbm-multiclass"
LIGHTGBM_REGRESSION = "lightgbm-regression"
LINEAR = "linear-json"
SOFTMAX = "softmax-json"
FORMATS = (LIGHTGBM_BINARY, LIGHTGBM_MULTICLASS, LIGHTGBM_REGRESSION, LINEAR, SOFTMAX)
# LightGBM regression objectives whose prediction is the raw score (identity link).
REGRESSION_OBJECTIVES = ("regression", "regression_l1", "huber", "fair")


class Scorer(Protocol):
    """A loaded model: scores and contributions (rows, features + 1) of 2-D float64 rows, NaN = missing."""

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores, and contributions in raw-score space with the bias last."""
        ...


def sigmoid(raw: np.ndarray) -> np.ndarray:
    """The logistic link: raw scores to probabilities."""
    return np.asarray(1.0 / (1.0 + np.exp(-raw)), dtype=np.float64)


def softmax(raw: np.ndarray) -> np.ndarray:
    """Class raw scores (rows, classes) to probabilities."""
    shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True), dtype=np.float64)


def predicted_class_terms(per_class: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """From contributions of shape (rows, classes, features + 1), those of each row's most probable class."""
    chosen = np.argmax(probabilities, axis=1)
    return np.asarray(per_class[np.arange(len(chosen)), chosen, :], dtype=np.float64)


def standardised(rows: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Rows as deviations from the training mean in units of scale; a missing value is the mean (0)."""
    return np.asarray((np.where(np.isnan(rows), center, rows) - center) / scale, dtype=np.float64)


@dataclass(frozen=True)
class TreeScorer:
    """A LightGBM booster, one thread per predict (thread start-up would cost more than one row's work)."""

    booster: Any
    task: str
    classes: tuple[Any, ...] = ()

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tree SHAP contributions (one predict call) and the scores they give through the task's link."""
        flat = np.asarray(self.booster.predict(rows, pred_contrib=True, num_threads=1))
        if self.task == "multiclass":
            per_class = flat.reshape(len(rows), len(self.classes), -1)
            probabilities = softmax(per_class.sum(axis=2))
            return probabilities, predicted_class_terms(per_class, probabilities)
        raw = flat.sum(axis=1)
        return (raw if self.task == "regression" else sigmoid(raw)), flat


@dataclass(frozen=True)
class LinearScorer:
    """A standardised linear model: logistic (`binary`) or ridge (`regression`)."""

    center: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    task: str
    classes: tuple[Any, ...] = ()

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each coefficient times its standardised deviation from the training mean; the intercept as bias."""
        terms = standardised(rows, self.center, self.scale) * self.coef
        contributions = np.column_stack([terms, np.full(len(rows), self.intercept)])
        raw = contributions.sum(axis=1)
        return (raw if self.task == "regression" else sigmoid(raw)), contributions


@dataclass(frozen=True)
class SoftmaxScorer:
    """A multinomial logistic model over standardised features: one coefficient row per class."""

    center: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (classes, features)
    intercept: np.ndarray  # (classes,)
    classes: tuple[Any, ...]
    task: str = "multiclass"

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities, and the predicted class's terms: coefficient × standardised deviation."""
        terms = standardised(rows, self.center, self.scale)[:, None, :] * self.coef[None, :, :]
        bias = np.broadcast_to(self.intercept[None, :, None], (len(rows), len(self.classes), 1))
        per_class = np.concatenate([terms, bias], axis=2)
        probabilities = softmax(per_class.sum(axis=2))
        return probabilities, predicted_class_terms(per_class, probabilities)


def load_scorer(path: Path, artifact_format: str, features: int, classes: tuple[Any, ...]) -> Scorer:
    """The scorer of the model file at `path`, checked against the bundle's feature count and classes."""
    raw = path.read_bytes()
    if artifact_format in (LINEAR, SOFTMAX):
        return _json_scorer(raw, path, artifact_format, features, classes)
    if artifact_format not in FORMATS:
        raise EdgeError(
            "invalid_argument",
            f"model format {artifact_format!r} cannot be served at the edge",
            f"edge formats: {', '.join(FORMATS)}",
        )
    import lightgbm

    # Model text opens with its "tree" header; anything else (a pickle, say) is refused before parsing.
    if not raw.startswith(b"tree\n"):
        raise EdgeError("invalid_argument", f"{path} is not LightGBM model text")
    text = raw.decode("utf-8")
    objective = next(
        (ln[10:].split(" ", 1)[0] for ln in text.split("\n", 40) if ln.startswith("objective=")), ""
    )
    wanted = {
        LIGHTGBM_BINARY: ("binary", ("binary",)),
        LIGHTGBM_MULTICLASS: ("multiclass", ("multiclass",)),
        LIGHTGBM_REGRESSION: ("regression", REGRESSION_OBJECTIVES),
    }[artifact_format]
    if artifact_format != LIGHTGBM_BINARY and objective not in wanted[1]:
        raise EdgeError(
            "invalid_argument", f"{path} was trained with objective {objective!r}, not {wanted[0]}"
        )
    booster = lightgbm.Booster(model_str=text)
    if booster.num_feature() != features:
        raise EdgeError(
            "invalid_argument", f"{path} reads {booster.num_feature()} features, the bundle {features}"
        )
    return TreeScorer(booster, wanted[0], classes)


def _json_scorer(
    raw: bytes, path: Path, artifact_format: str, features: int, classes: tuple[Any, ...]
) -> Scorer:
    try:
        body = json.loads(raw)
        center = np.asarray(body["center"], dtype=np.float64)
        scale = np.asarray(body["scale"], dtype=np.float64)
        coef = np.asarray(body["coef"], dtype=np.float64)
        intercept = np.asarray(body["intercept"], dtype=np.float64)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise EdgeError("invalid_argument", f"{path} is not a {artifact_format} model") from None
    numbers = [*center, *scale, *coef.ravel(), *intercept.ravel()]
    rows = len(classes) if artifact_format == SOFTMAX else 1
    shape_ok = center.shape == scale.shape == (features,) and coef.size == rows * features
    if not shape_ok or not all(math.isfinite(v) for v in numbers) or (scale <= 0).any():
        raise EdgeError(
            "invalid_argument",
            f"{path}: {features} finite centers, positive scales and coefficients expected",
        )
    if artifact_format == SOFTMAX:
        return SoftmaxScorer(center, scale, coef.reshape(rows, features), intercept.reshape(rows), classes)
    task = str(body.get("task", "binary"))
    return LinearScorer(center, scale, coef, float(intercept), task)
