"""Candidate models trained on one time split and judged on one holdout; the best becomes the version.

Every trial sees the same training rows and is scored on the same validation rows by the spec's metric.
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
from zhongtai.models.baselines import fit_logistic, logistic_params
from zhongtai.models.boosting import fit_booster
from zhongtai.models.metrics import HIGHER_IS_BETTER, binary_metrics
from zhongtai.models.predictor import LINEAR_FILE, LINEAR_FORMAT, LightGBMBinary, LinearBinary, Predictor
from zhongtai.spec.models import ModelSpec

Report = Callable[[str, str], None]
# The holdout figures each candidate is compared by (all of them recorded, one of them decides).
COMPARED = ("auc", "log_loss", "brier", "average_precision")


@dataclass(frozen=True)
class Trial:
    """One algorithm with one parameter set (as written in the spec, before defaults)."""

    algorithm: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Fitted:
    """A trained trial: what it would serve, its artifact text, the effective parameters."""

    algorithm: str
    predictor: Predictor
    artifact_text: str
    artifact_file: str
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


def fit_trial(
    trial: Trial,
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    features: list[str],
    on_round: Callable[[int, int], None] | None = None,
) -> Fitted:
    """Train one trial; LightGBM stops early on the validation side, the logistic model has no rounds."""
    if trial.algorithm == "logistic":
        params = logistic_params(trial.params)
        model = fit_logistic(train[0], train[1], features, params)
        return Fitted("logistic", LinearBinary.of(model), model.to_json(), LINEAR_FILE, LINEAR_FORMAT, params)
    import lightgbm

    text, best, params = fit_booster(train, valid, features, trial.params, on_round)
    # Judged through the very model text that would be served, trimmed to its best round.
    predictor = LightGBMBinary(lightgbm.Booster(model_str=text), tuple(features))
    return Fitted("lightgbm", predictor, text, ARTIFACT_FILE, ARTIFACT_FORMAT, params, best)


def compare(
    spec: ModelSpec,
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    features: list[str],
    report: Report,
    clock: Callable[[], float] = time.monotonic,
) -> Comparison:
    """Train every trial of the spec (within its budget) and keep the best by the spec's metric."""
    trials = plan_trials(spec)
    metric = spec.candidates.metric if spec.candidates else "auc"
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
        fitted = _judge(trial, record, (train, valid, features), spec.threshold, metric, clock, report, label)
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


def _judge(
    trial: Trial,
    record: dict[str, Any],
    data: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], list[str]],
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
        fitted = fit_trial(trial, train, valid, features, _rounds(report, label))
    except (ValueError, LightGBMError) as exc:
        # A library refusing a parameter combination (say, C: -1): recorded, the others go on.
        record.update(status="failed", error=f"{type(exc).__name__}: {str(exc)[:300]}")
        report("train", f"{label} failed")
        return None
    measured = binary_metrics(valid[1], fitted.predictor.predict(valid[0]), threshold)
    record.update(
        status="trained",
        metrics={name: measured[name] for name in COMPARED},
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
