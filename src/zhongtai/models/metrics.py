"""Binary classification metrics on the validation set, for the model and for its baselines.

The constant baseline predicts the training positive rate for every row; the logistic baseline is a
standardised logistic regression (models/baselines.py). A model is only worth serving if it beats both, so
every version records them side by side, and its card adds bootstrap intervals and a reliability table.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Keeps log loss finite when a model is certain and wrong.
_EPSILON = 1e-15


# What a candidate can be judged by, and which way is better.
HIGHER_IS_BETTER = {"auc": True, "average_precision": True, "log_loss": False, "brier": False}
_INTERVAL_METRICS = ("auc", "log_loss", "brier", "average_precision")


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
