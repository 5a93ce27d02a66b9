"""Figures of a text classifier and of the two baselines it is judged against (majority class; TF-IDF
character n-grams + logistic regression), computed on the same held-out rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_metrics(
    truth: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None = None, classes: Sequence[str] = ()
) -> dict[str, Any]:
    """Accuracy, macro-F1 over the classes present in truth or prediction, and top-3 accuracy when the
    probabilities are given."""
    from sklearn.metrics import f1_score

    truth, predicted = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    out: dict[str, Any] = {
        "accuracy": round(float((truth == predicted).mean()), 4),
        "macro_f1": round(float(f1_score(truth.astype(str), predicted.astype(str), average="macro")), 4),
        "rows": int(truth.size),
    }
    if proba is not None and len(classes):
        top = np.argsort(-proba, axis=1)[:, :3]
        names = np.asarray(classes, dtype=object)[top]
        out["top3_accuracy"] = round(float((names == truth[:, None]).any(axis=1).mean()), 4)
    return out


def majority_metrics(train_labels: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """The majority class of the training rows answered for every held-out row."""
    values, counts = np.unique(np.asarray(train_labels, dtype=str), return_counts=True)
    majority = values[counts.argmax()]
    metrics = classification_metrics(truth, np.full(len(truth), majority, dtype=object))
    return {**metrics, "class": str(majority)}


def ngram_baseline(
    texts: list[str], labels: np.ndarray, train: np.ndarray, valid: np.ndarray
) -> dict[str, Any]:
    """TF-IDF character n-grams + logistic regression, fitted on the training rows."""
    from sklearn.linear_model import LogisticRegression

    from zhongtai.models.text_head import MAX_ITER, C, ngram_matrix

    vectorizer, matrix = ngram_matrix([texts[i] for i in train])
    model = LogisticRegression(C=C, max_iter=MAX_ITER).fit(matrix, labels[train].astype(str))
    predicted = model.predict(vectorizer.transform([texts[i] for i in valid]))
    return {**classification_metrics(labels[valid], predicted.astype(object)), "model": "tfidf_logistic"}
