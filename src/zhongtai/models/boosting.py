"""LightGBM for a tabular model: effective parameters (defaults under the spec's) and early-stopped training.

The task picks the objective: `binary`, `multiclass` (softmax over `num_class` classes) or an identity-link
regression objective (`regression`, the default, or `regression_l1`, `huber`, `fair`), so a regression's
tree SHAP contributions sum to the predicted value. Early stopping watches the objective's own loss.

The fixed seed plus `deterministic` and `force_row_wise` make the same training set give the same model,
byte for byte. Training uses every core (it is a batch job); serving predicts on one thread (predictor.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.models.predictor import REGRESSION_OBJECTIVES
from zhongtai.spec.candidates import LIGHTGBM_ALIASES

if TYPE_CHECKING:
    import lightgbm

# Sane defaults for tabular business data; the spec's params override them. Bagging and feature sampling
# regularise; the fixed seed plus `deterministic` make the same training set give the same model.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "metric": "binary_logloss",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": 42,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
DEFAULT_ROUNDS = 300
DEFAULT_PATIENCE = 30


# The loss early stopping watches, by objective.
_METRICS = {
    "binary": "binary_logloss",
    "multiclass": "multi_logloss",
    "regression": "l2",
    "regression_l1": "l1",
    "huber": "huber",
    "fair": "fair",
}


def _objective(task: str, given: str | None) -> str:
    """The objective of a task; the spec may choose among the regression objectives only."""
    if task == "regression":
        allowed: tuple[str, ...] = REGRESSION_OBJECTIVES
    else:
        allowed = ("multiclass",) if task == "multiclass_classification" else ("binary",)
    objective = allowed[0] if given is None else given
    if objective not in allowed:
        raise ZhongtaiError(
            "invalid_spec",
            f"params.objective is {objective!r}; a {task} model takes {' or '.join(map(repr, allowed))}",
        )
    return objective


def effective_params(
    spec_params: dict[str, Any], task: str = "binary_classification", num_class: int = 0
) -> tuple[dict[str, Any], int, int]:
    """LightGBM parameters (defaults overridden by the spec), boosting rounds and early-stopping patience."""
    given = {LIGHTGBM_ALIASES.get(key, key): value for key, value in spec_params.items()}
    objective = _objective(task, given.pop("objective", None))
    rounds = int(given.pop("num_boost_round", DEFAULT_ROUNDS))
    patience = int(given.pop("early_stopping_rounds", DEFAULT_PATIENCE))
    if rounds < 1 or patience < 1:
        raise ZhongtaiError("invalid_spec", "params.num_boost_round and early_stopping_rounds must be >= 1")
    by_task: dict[str, Any] = {"objective": objective, "metric": _METRICS[objective]}
    if objective == "multiclass":
        by_task["num_class"] = num_class
    params = {**DEFAULT_PARAMS, **by_task, "num_threads": os.cpu_count() or 1, **given}
    return params, rounds, patience


def fit_booster(
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    features: list[str],
    spec_params: dict[str, Any],
    on_round: Callable[[int, int], None] | None = None,
    task: str = "binary_classification",
    num_class: int = 0,
) -> tuple[str, int, dict[str, Any]]:
    """Train with early stopping on `valid`; the model text trimmed to the best round, that round, the params.

    Labels are 0/1 (binary), class indexes 0..num_class-1 (multiclass) or values (regression).
    `on_round(done, most)` is called every 50 rounds.
    """
    import lightgbm

    params, rounds, patience = effective_params(spec_params, task, num_class)
    train_set = lightgbm.Dataset(train[0], label=train[1], feature_name=features, params=params)
    valid_set = lightgbm.Dataset(valid[0], label=valid[1], reference=train_set)

    def every_50(env: lightgbm.callback.CallbackEnv) -> None:
        if on_round is not None and (env.iteration + 1) % 50 == 0:
            on_round(env.iteration + 1, rounds)

    booster: lightgbm.Booster = lightgbm.train(
        params,
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid_set],
        valid_names=["validation"],
        callbacks=[lightgbm.early_stopping(patience, verbose=False), every_50],
    )
    best = booster.best_iteration or booster.current_iteration()
    recorded = {**params, "num_boost_round": rounds, "early_stopping_rounds": patience}
    return booster.model_to_string(num_iteration=best), int(best), recorded
