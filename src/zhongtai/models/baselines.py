"""The two baselines every model is judged against: a constant and a logistic regression.

The constant predicts the training positive rate (AUC 0.5): beating it says the model learnt something.
The logistic regression says how much the model adds over a simple, explainable one: features standardised by
their training mean and standard deviation, a missing value replaced by the mean (so it contributes nothing),
scikit-learn's LogisticRegression on top. It is stored as `linear-json`, so a logistic that wins the
candidate comparison is registered and served like any other version.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from zhongtai.models.predictor import LinearModel

# Enough iterations for standardised business features; lbfgs is deterministic for a given input.
LOGISTIC_DEFAULTS: dict[str, Any] = {"C": 1.0, "max_iter": 1000, "random_state": 42}


def constant_rate(train_y: np.ndarray) -> float:
    """The constant baseline's prediction: the training positive rate."""
    return float(np.asarray(train_y, dtype=np.float64).mean())


def standardisation(train_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training means and standard deviations per feature; an all-missing or constant one gets 0 and 1."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column is expected: it gets 0 and 1
        center = np.nanmean(train_x, axis=0)
        scale = np.nanstd(train_x, axis=0)
    center = np.where(np.isfinite(center), center, 0.0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    return center, scale


def logistic_params(given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The effective LogisticRegression parameters: our defaults overridden by the spec's."""
    return {**LOGISTIC_DEFAULTS, **(given or {})}


def fit_logistic(
    train_x: np.ndarray, train_y: np.ndarray, features: list[str], params: dict[str, Any]
) -> LinearModel:
    """A logistic regression over standardised, mean-imputed features, as the `linear-json` model.

    scikit-learn's own errors (say, a penalty the solver does not support) propagate as ValueError.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    center, scale = standardisation(train_x)
    standard = (np.where(np.isnan(train_x), center, train_x) - center) / scale
    with warnings.catch_warnings():
        # A cap on iterations is a setting, not a failure: the fitted coefficients still serve.
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = LogisticRegression(**params).fit(standard, train_y)
    return LinearModel(
        features=tuple(features),
        center=tuple(float(v) for v in center),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in fitted.coef_[0]),
        intercept=float(fitted.intercept_[0]),
    )
