"""The two baselines every model is judged against: a constant and a linear model.

The constant says whether the model learnt anything: the training positive rate for a binary model (AUC
0.5), the training class frequencies for a multiclass one (it always answers the majority class), the
training mean for a regression. The linear model says how much the model adds over a simple, explainable
one: features standardised by their training mean and standard deviation, a missing value replaced by the
mean (so it contributes nothing), and scikit-learn's LogisticRegression (binary; multinomial for
multiclass) or Ridge (regression) on top. They are stored as `linear-json` / `softmax-json`, so a linear
model that wins the candidate comparison is registered and served like any other version.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from zhongtai.models.predictor import ClassLabel, LinearModel, SoftmaxModel

# Enough iterations for standardised business features; lbfgs is deterministic for a given input.
LOGISTIC_DEFAULTS: dict[str, Any] = {"C": 1.0, "max_iter": 1000, "random_state": 42}
# Ridge's closed-form solver: deterministic, no iterations to cap.
RIDGE_DEFAULTS: dict[str, Any] = {"alpha": 1.0}


def constant_rate(train_y: np.ndarray) -> float:
    """The constant baseline's prediction: the training positive rate."""
    return float(np.asarray(train_y, dtype=np.float64).mean())


def class_prior(train_y: np.ndarray, classes: int) -> np.ndarray:
    """The constant multiclass baseline: each class's share of the training rows (class indexes in y)."""
    counts = np.bincount(np.asarray(train_y, dtype=np.int64), minlength=classes).astype(np.float64)
    return np.asarray(counts / counts.sum(), dtype=np.float64)


def training_mean(train_y: np.ndarray) -> float:
    """The constant regression baseline: the training mean of the target."""
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


def ridge_params(given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The effective Ridge parameters: our defaults overridden by the spec's."""
    return {**RIDGE_DEFAULTS, **(given or {})}


def _standardised(train_x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    center, scale = standardisation(train_x)
    return center, scale, (np.where(np.isnan(train_x), center, train_x) - center) / scale


def fit_softmax(
    train_x: np.ndarray,
    train_y: np.ndarray,
    features: list[str],
    classes: tuple[ClassLabel, ...],
    params: dict[str, Any],
) -> SoftmaxModel:
    """A multinomial logistic regression over standardised, mean-imputed features (y holds class indexes).

    Every class of `classes` gets a row, in their order; scikit-learn's errors propagate as ValueError.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    center, scale, standard = _standardised(train_x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = LogisticRegression(**params).fit(standard, train_y)
    coef = np.zeros((len(classes), len(features)))
    # A class absent from the training rows cannot be predicted: its logit is pinned far below the others.
    intercept = np.full(len(classes), -30.0)
    if (
        len(fitted.classes_) == 2
    ):  # scikit-learn keeps one row for two classes: the second's logit over the first
        first, second = (int(c) for c in fitted.classes_)
        coef[first], intercept[first] = 0.0, 0.0
        coef[second], intercept[second] = fitted.coef_[0], fitted.intercept_[0]
    else:
        for row, index in enumerate(fitted.classes_):
            coef[int(index)], intercept[int(index)] = fitted.coef_[row], fitted.intercept_[row]
    return SoftmaxModel(
        features=tuple(features),
        center=tuple(float(v) for v in center),
        scale=tuple(float(v) for v in scale),
        classes=classes,
        coef=tuple(tuple(float(v) for v in row) for row in coef),
        intercept=tuple(float(v) for v in intercept),
    )


def fit_ridge(
    train_x: np.ndarray, train_y: np.ndarray, features: list[str], params: dict[str, Any]
) -> LinearModel:
    """A ridge regression over standardised, mean-imputed features, as a `linear-json` regression model."""
    from sklearn.linear_model import Ridge

    center, scale, standard = _standardised(train_x)
    fitted = Ridge(**params).fit(standard, train_y)
    return LinearModel(
        features=tuple(features),
        center=tuple(float(v) for v in center),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in fitted.coef_),
        intercept=float(fitted.intercept_),
        task="regression",
    )
