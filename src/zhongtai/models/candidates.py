"""Candidate models trained on one time split and judged on one holdout; the best becomes the version.

Every trial sees the same training rows and is scored on the same validation rows by the spec's metric
(without `candidates:`, the task's own: AUC, multiclass log loss, RMSE).
Ties go to the trial listed first, so the same seed and the same data always give the same winner. Without
`candidates:` in the spec there is one trial: LightGBM with the spec's params (training as before).
A budget stops new trials from starting once it is spent; the ones not started are recorded as skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.models.artifacts import ARTIFACT_FILE, ARTIFACT_FORMAT
from zhongtai.models.baselines import (
    fit_logistic,
    fit_ridge,
    fit_softmax,
    logistic_params,
    ridge_params,
)
from zhongtai.models.boosting import fit_booster
from zhongtai.models.metrics import HIGHER_IS_BETTER, task_metrics
from zhongtai.models.predictor import (
    CLASSES_FILE,
    LINEAR_FILE,
    LINEAR_FORMAT,
    MULTICLASS_FORMAT,
    REGRESSION_FORMAT,
    SOFTMAX_FORMAT,
    ClassLabel,
    LightGBMBinary,
    LightGBMMulticlass,
    LightGBMRegression,
    LinearPredictor,
    Predictor,
    SoftmaxPredictor,
    classes_json,
)
from zhongtai.spec.candidates import TASK_METRICS
from zhongtai.spec.models import ModelSpec

Report = Callable[[str, str], None]


@dataclass(frozen=True)
class Trial:
    """One algorithm with one parameter set (as written in the spec, before defaults)."""

    algorithm: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Fitted:
    """A trained trial: what it would serve, its artifact's files (`main` the one the version records),
    its format, the effective parameters."""

    algorithm: str
    predictor: Predictor
    files: dict[str, bytes]
    main: str
    artifact_format: str
    params: dict[str, Any]
    best_iteration: int | None = None


@dataclass
class Comparison:
    """Every trial's record (in the spec's order) and the winner, trained."""

    metric: str
    records: list[dict[str, Any]] = field(default_factory=list)
    winner: Fitted | None = None
    winner_index: int | None = None


def plan_trials(spec: ModelSpec) -> list[Trial]:
    """The trials of a spec: its candidates' parameter sets in order, or LightGBM with `params`."""
    if spec.candidates is None:
        return [Trial("lightgbm", dict(spec.params))]
    trials = []
    for candidate in spec.candidates.algorithms:
        for params in candidate.trials():
            # A LightGBM candidate starts from the spec's params, so shared settings are written once.
            base = dict(spec.params) if candidate.algorithm == "lightgbm" else {}
            trials.append(Trial(candidate.algorithm, {**base, **params}))
    return trials


@dataclass(frozen=True)
class Target:
    """What the trials learn: the model's task and, for a multiclass model, its class labels by index."""

    task: str = "binary_classification"
    classes: tuple[ClassLabel, ...] = ()


def fit_trial(
    trial: Trial,
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    features: list[str],
    on_round: Callable[[int, int], None] | None = None,
    target: Target = Target(),
) -> Fitted:
    """Train one trial; LightGBM stops early on the validation side, the linear models have no rounds."""
    if trial.algorithm == "ridge":
        params = ridge_params(trial.params)
        ridge = fit_ridge(train[0], train[1], features, params)
        text = ridge.to_json().encode("utf-8")
        return Fitted(
            "ridge", LinearPredictor.of(ridge), {LINEAR_FILE: text}, LINEAR_FILE, LINEAR_FORMAT, params
        )
    if trial.algorithm == "logistic" and target.task == "multiclass_classification":
        params = logistic_params(trial.params)
        softmax = fit_softmax(train[0], train[1], features, target.classes, params)
        text = softmax.to_json().encode("utf-8")
        predictor: Predictor = SoftmaxPredictor.of(softmax)
        return Fitted("logistic", predictor, {LINEAR_FILE: text}, LINEAR_FILE, SOFTMAX_FORMAT, params)
    if trial.algorithm == "logistic":
        params = logistic_params(trial.params)
        model = fit_logistic(train[0], train[1], features, params)
        files = {LINEAR_FILE: model.to_json().encode("utf-8")}
        return Fitted("logistic", LinearPredictor.of(model), files, LINEAR_FILE, LINEAR_FORMAT, params)
    return _fit_lightgbm(trial, train, valid, features, on_round, target)


def _fit_lightgbm(
    trial: Trial,
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    features: list[str],
    on_round: Callable[[int, int], None] | None,
    target: Target,
) -> Fitted:
    import lightgbm

    text, best, params = fit_booster(
        train, valid, features, trial.params, on_round, target.task, len(target.classes)
    )
    # Judged through the very model text that would be served, trimmed to its best round.
    booster = lightgbm.Booster(model_str=text)
    files = {ARTIFACT_FILE: text.encode("utf-8")}
    if target.task == "multiclass_classification":
        files[CLASSES_FILE] = classes_json(target.classes)
        predictor: Predictor = LightGBMMulticlass(booster, tuple(features), target.classes)
        return Fitted("lightgbm", predictor, files, ARTIFACT_FILE, MULTICLASS_FORMAT, params, best)
    if target.task == "regression":
        predictor = LightGBMRegression(booster, tuple(features))
        return Fitted("lightgbm", predictor, files, ARTIFACT_FILE, REGRESSION_FORMAT, params, best)
    predictor = LightGBMBinary(booster, tuple(features))
    return Fitted("lightgbm", predictor, files, ARTIFACT_FILE, ARTIFACT_FORMAT, params, best)


def compare(
    spec: ModelSpec,
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    features: list[str],
    report: Report,
    clock: Callable[[], float] = time.monotonic,
    classes: tuple[ClassLabel, ...] = (),
) -> Comparison:
    """Train every trial of the spec (within its budget) and keep the best by the spec's metric.

    `classes` are a multiclass model's class labels, indexed by the labels in `train` and `valid`.
    """
    trials = plan_trials(spec)
    target = Target(spec.task, classes)
    metric = selection_metric(spec)
    budget = spec.candidates.budget_seconds() if spec.candidates else None
    higher = HIGHER_IS_BETTER[metric]
    found = Comparison(metric)
    best_score: float | None = None
    started = clock()
    for index, trial in enumerate(trials):
        label = f"candidate {index + 1} of {len(trials)}: {trial.algorithm} {_shown(trial.params)}"
        record: dict[str, Any] = {"algorithm": trial.algorithm, "params": trial.params}
        found.records.append(record)
        if budget is not None and index > 0 and clock() - started >= budget:
            record["status"] = "skipped"
            report("train", f"{label} skipped (the {budget:g} s budget is spent)")
            continue
        report("train", label)
        fitted = _judge(
            trial, record, (train, valid, features), target, spec.threshold, metric, clock, report, label
        )
        score = record.get("score")
        if fitted is None or score is None:
            continue
        if best_score is None or (score > best_score if higher else score < best_score):
            best_score, found.winner, found.winner_index = score, fitted, index
    if found.winner is None:
        first = next((r["error"] for r in found.records if "error" in r), "no candidate trained")
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}': every candidate failed to train (first error: {first})",
            "fix the candidates' parameters in the model spec",
        )
    for index, record in enumerate(found.records):
        record["winner"] = index == found.winner_index
    return found


def selection_metric(spec: ModelSpec) -> str:
    """What judges the spec's candidates: `candidates.metric`, or the task's own first metric."""
    return spec.candidates.metric if spec.candidates else TASK_METRICS[spec.task][0]


def _judge(
    trial: Trial,
    record: dict[str, Any],
    data: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], list[str]],
    target: Target,
    threshold: float,
    metric: str,
    clock: Callable[[], float],
    report: Report,
    label: str,
) -> Fitted | None:
    """Train one trial and fill its record with its holdout figures; None when the library refused it."""
    from lightgbm.basic import LightGBMError

    train, valid, features = data
    began = clock()
    try:
        fitted = fit_trial(trial, train, valid, features, _rounds(report, label), target)
    except (ValueError, LightGBMError) as exc:
        # A library refusing a parameter combination (say, C: -1): recorded, the others go on.
        record.update(status="failed", error=f"{type(exc).__name__}: {str(exc)[:300]}")
        report("train", f"{label} failed")
        return None
    scores = fitted.predictor.predict(valid[0])
    measured = task_metrics(target.task, valid[1], scores, threshold, target.classes)
    if measured[metric] is None:  # R² of a constant validation target: nothing to judge by
        record.update(status="failed", error=f"{metric} is undefined on this holdout")
        return None
    record.update(
        status="trained",
        metrics={name: measured[name] for name in TASK_METRICS[target.task]},
        score=float(measured[metric]),
        seconds=round(clock() - began, 3),
    )
    if fitted.best_iteration is not None:
        record["best_iteration"] = fitted.best_iteration
    return fitted


def _rounds(report: Report, label: str) -> Callable[[int, int], None]:
    def on_round(done: int, most: int) -> None:
        report("train", f"{label}: round {done} of at most {most}")

    return on_round


def _shown(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(params.items())) or "(defaults)"
