"""Metrics on the validation set, for the model and for its baselines, by task.

Binary: AUC, log loss, Brier, average precision, precision and recall at the threshold. Multiclass:
accuracy, macro-F1 (over the classes the validation rows hold), log loss and each class's recall.
Regression: RMSE, MAE, MAPE (over the rows whose target is not zero; None when every one is) and R².
The constant baseline predicts the training positive rate, class shares or mean for every row; the linear
baseline is a standardised logistic or ridge regression (models/baselines.py). A model is only worth
serving if it beats both, so every version records them side by side, and its card adds bootstrap intervals.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zhongtai.spec.candidates import TASK_METRICS

# Keeps log loss finite when a model is certain and wrong.
_EPSILON = 1e-15


# What a candidate can be judged by, and which way is better.
HIGHER_IS_BETTER = {
    "auc": True,
    "average_precision": True,
    "log_loss": False,
    "brier": False,
    "accuracy": True,
    "macro_f1": True,
    "rmse": False,
    "mae": False,
    "r2": True,
}
_INTERVAL_METRICS = TASK_METRICS["binary_classification"]


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """AUC, log loss, Brier score, average precision, precision and recall at `threshold`, rates, rows."""
    from sklearn.metrics import (
        average_precision_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    labels = np.asarray(labels, dtype=np.int64)
    scores = np.clip(np.asarray(scores, dtype=np.float64), _EPSILON, 1 - _EPSILON)
    predicted = (scores >= threshold).astype(np.int64)
    return {
        "auc": float(roc_auc_score(labels, scores)),
        "log_loss": float(log_loss(labels, scores, labels=[0, 1])),
        "brier": brier(labels, scores),
        "average_precision": float(average_precision_score(labels, scores)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "threshold": threshold,
        "positive_rate": float(labels.mean()),
        "predicted_positive_rate": float(predicted.mean()),
        "rows": int(labels.size),
    }


def baseline_metrics(labels: np.ndarray, train_positive_rate: float, threshold: float) -> dict[str, Any]:
    """The same metrics for a constant prediction of the training positive rate (its AUC is 0.5)."""
    constant = np.full(np.asarray(labels).shape, train_positive_rate, dtype=np.float64)
    return binary_metrics(labels, constant, threshold)


def lift(model: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float]:
    """How much the model improves on the baseline: AUC gained, log loss and Brier score saved."""
    gained = {
        "auc": model["auc"] - baseline["auc"],
        "log_loss": baseline["log_loss"] - model["log_loss"],
    }
    if "brier" in model and "brier" in baseline:
        gained["brier"] = baseline["brier"] - model["brier"]
    return gained


def brier(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean squared difference between the predicted probability and the 0/1 outcome (lower is better)."""
    return float(np.mean((np.asarray(scores, dtype=np.float64) - np.asarray(labels, dtype=np.float64)) ** 2))


def bootstrap_intervals(
    labels: np.ndarray, scores: np.ndarray, resamples: int = 200, seed: int = 42, level: float = 0.95
) -> dict[str, dict[str, float | None]]:
    """Point value and percentile bootstrap interval of AUC, log loss, Brier and average precision.

    Rows are resampled with replacement `resamples` times from a fixed seed, so the same holdout and scores
    give the same interval. A resample with a single class has no AUC and is left out of that interval.
    A resample is the holdout with each row counted as often as it was drawn, so the rows are sorted once
    and every resample costs linear time (the same definitions as scikit-learn's, ties included).
    """
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.clip(np.asarray(scores, dtype=np.float64), _EPSILON, 1 - _EPSILON)
    ranked = _Ranked(labels, scores)
    point = ranked.measure(np.ones(labels.size))
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in _INTERVAL_METRICS}
    for _ in range(resamples):
        counts = np.bincount(rng.integers(0, labels.size, labels.size), minlength=labels.size)
        for name, value in ranked.measure(counts.astype(np.float64)).items():
            if value is not None:
                draws[name].append(value)
    tail = (1 - level) / 2 * 100
    found: dict[str, dict[str, float | None]] = {}
    for name in _INTERVAL_METRICS:
        values = np.asarray(draws[name])
        low, high = (
            (float(v) for v in np.percentile(values, [tail, 100 - tail])) if values.size else (None, None)
        )
        found[name] = {"value": point[name], "low": low, "high": high}
    return found


class _Ranked:
    """Rows sorted by score (highest first) with their tie groups, measured under any row weights."""

    def __init__(self, labels: np.ndarray, scores: np.ndarray) -> None:
        self.order = np.argsort(-scores, kind="stable")
        ordered = scores[self.order]
        self.labels = labels[self.order].astype(np.float64)
        self.starts = np.r_[0, np.flatnonzero(np.diff(ordered)) + 1]  # first row of each tie group
        self.loss = -(self.labels * np.log(ordered) + (1 - self.labels) * np.log(1 - ordered))
        self.squared = (ordered - self.labels) ** 2

    def measure(self, weights: np.ndarray) -> dict[str, float | None]:
        """AUC, log loss, Brier and average precision with row i counted `weights[i]` times."""
        w = weights[self.order]
        total = w.sum()
        figures: dict[str, float | None] = {
            "auc": None,
            "log_loss": float((w * self.loss).sum() / total),
            "brier": float((w * self.squared).sum() / total),
            "average_precision": None,
        }
        pos = np.add.reduceat(w * self.labels, self.starts)  # positives per tie group, best scores first
        neg = np.add.reduceat(w * (1 - self.labels), self.starts)
        positives, negatives = pos.sum(), neg.sum()
        if positives == 0 or negatives == 0:
            return figures
        below = negatives - np.cumsum(neg)  # negatives scored lower than each group
        figures["auc"] = float((pos * below + 0.5 * pos * neg).sum() / (positives * negatives))
        true_pos, flagged = np.cumsum(pos), np.cumsum(pos + neg)
        precision = np.divide(true_pos, flagged, out=np.zeros_like(true_pos), where=flagged > 0)
        figures["average_precision"] = float((pos / positives * precision).sum())
        return figures


def reliability(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width score bins: rows, mean predicted probability and observed positive rate in each.

    A calibrated model has mean score close to positive rate in every bin that holds rows.
    """
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    which = np.minimum((scores * bins).astype(np.int64), bins - 1)
    table = []
    for index in range(bins):
        inside = which == index
        count = int(inside.sum())
        table.append(
            {
                "from": index / bins,
                "to": (index + 1) / bins,
                "rows": count,
                "mean_score": float(scores[inside].mean()) if count else None,
                "positive_rate": float(labels[inside].mean()) if count else None,
            }
        )
    return table


def multiclass_metrics(
    labels: np.ndarray, probabilities: np.ndarray, classes: tuple[Any, ...]
) -> dict[str, Any]:
    """Accuracy, macro-F1, log loss and per-class recall of class probabilities (labels: class indexes).

    Macro-F1 averages the classes the labels hold (a class never seen here has no F1 to average).
    """
    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    figures = _multiclass_figures(labels, probabilities, len(classes))
    predicted = np.argmax(probabilities, axis=1)
    recall: dict[str, float | None] = {}
    for index, name in enumerate(classes):
        held = labels == index
        recall[str(name)] = float((predicted[held] == index).mean()) if held.any() else None
    return {**figures, "per_class_recall": recall, "rows": int(labels.size)}


def _multiclass_figures(
    labels: np.ndarray, probabilities: np.ndarray, classes: int
) -> dict[str, float | None]:
    predicted = np.argmax(probabilities, axis=1)
    chosen = np.clip(probabilities[np.arange(labels.size), labels], _EPSILON, 1.0)
    held = np.bincount(labels, minlength=classes)
    said = np.bincount(predicted, minlength=classes)
    right = np.bincount(labels[predicted == labels], minlength=classes)
    present = held > 0
    f1 = 2 * right[present] / (held[present] + said[present])
    return {
        "accuracy": float((predicted == labels).mean()),
        "macro_f1": float(f1.mean()),
        "log_loss": float(-np.log(chosen).mean()),
    }


def regression_metrics(values: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE, MAPE (rows with a non-zero target only), R² (None for a constant target), rows, mean."""
    values = np.asarray(values, dtype=np.float64)
    figures = _regression_figures(values, np.asarray(predicted, dtype=np.float64))
    nonzero = int((values != 0).sum())
    return {**figures, "mape_rows": nonzero, "rows": int(values.size), "mean": float(values.mean())}


def _regression_figures(values: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    error = predicted - values
    nonzero = values != 0
    spread = float(((values - values.mean()) ** 2).sum())
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "mape": float(np.mean(np.abs(error[nonzero] / values[nonzero]))) if nonzero.any() else None,
        "r2": 1.0 - float((error**2).sum()) / spread if spread > 0 else None,
    }


def task_metrics(
    task: str, labels: np.ndarray, scores: np.ndarray, threshold: float, classes: tuple[Any, ...] = ()
) -> dict[str, Any]:
    """The validation figures of a task's scores (probabilities, class probabilities or values)."""
    if task == "multiclass_classification":
        return multiclass_metrics(labels, scores, classes)
    if task == "regression":
        return regression_metrics(labels, scores)
    return binary_metrics(labels, scores, threshold)


def task_intervals(
    task: str,
    labels: np.ndarray,
    scores: np.ndarray,
    resamples: int = 200,
    seed: int = 42,
    level: float = 0.95,
) -> dict[str, dict[str, float | None]]:
    """Point value and percentile bootstrap interval of the task's metrics (TASK_METRICS), fixed seed."""
    if task == "binary_classification":
        return bootstrap_intervals(labels, scores, resamples, seed, level)

    def measure(rows: np.ndarray) -> dict[str, float | None]:
        if task == "multiclass_classification":
            return _multiclass_figures(labels[rows], scores[rows], int(scores.shape[1]))
        return _regression_figures(labels[rows], scores[rows])

    point = measure(np.arange(labels.size))
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in TASK_METRICS[task]}
    for _ in range(resamples):
        figures = measure(rng.integers(0, labels.size, labels.size))
        for name in draws:
            value = figures[name]
            if value is not None:
                draws[name].append(value)
    tail = (1 - level) / 2 * 100
    found: dict[str, dict[str, float | None]] = {}
    for name, values in draws.items():
        low, high = (float(v) for v in np.percentile(values, [tail, 100 - tail])) if values else (None, None)
        found[name] = {"value": point[name], "low": low, "high": high}
    return found
