"""Binary classification metrics on the validation set, for the model and for the trivial baseline.

The baseline predicts the training positive rate for every row. A model is only worth serving if it beats
that constant, so every version records both side by side.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Keeps log loss finite when a model is certain and wrong.
_EPSILON = 1e-15


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """AUC, log loss, precision and recall at `threshold`, label and predicted positive rates, rows."""
    from sklearn.metrics import log_loss, precision_score, recall_score, roc_auc_score

    labels = np.asarray(labels, dtype=np.int64)
    scores = np.clip(np.asarray(scores, dtype=np.float64), _EPSILON, 1 - _EPSILON)
    predicted = (scores >= threshold).astype(np.int64)
    return {
        "auc": float(roc_auc_score(labels, scores)),
        "log_loss": float(log_loss(labels, scores, labels=[0, 1])),
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
    """How much the model improves on the baseline: AUC gained and log loss saved."""
    return {
        "auc": model["auc"] - baseline["auc"],
        "log_loss": baseline["log_loss"] - model["log_loss"],
    }
