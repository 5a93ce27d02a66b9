"""The `candidates:` block of a model spec: algorithms with parameter sets or small grids, judged on one holdout.

Unknown algorithms and parameters are refused here, while the spec is read, so the error names the file and
line of the typo instead of failing (or silently doing nothing) minutes into a training run.
"""

from __future__ import annotations

import inspect
import itertools
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from zhongtai.spec.base import duration_seconds

ALGORITHMS = ("lightgbm", "logistic", "ridge")
# The holdout figures a task's candidates can be judged by; the first is the default `metric`.
TASK_METRICS = {
    "binary_classification": ("auc", "log_loss", "brier", "average_precision"),
    "multiclass_classification": ("log_loss", "accuracy", "macro_f1"),
    "regression": ("rmse", "mae", "r2"),
}
# The linear algorithm of each tabular task (the other linear one does not fit it).
TASK_LINEAR = {
    "binary_classification": "logistic",
    "multiclass_classification": "logistic",
    "regression": "ridge",
}
CANDIDATE_METRICS = (
    "auc",
    "log_loss",
    "brier",
    "average_precision",
    "accuracy",
    "macro_f1",
    "rmse",
    "mae",
    "r2",
)
MAX_TRIALS = 50

# The scikit-learn spellings people bring along for LightGBM; mapped so a value never loses to a default.
LIGHTGBM_ALIASES = {
    "n_estimators": "num_boost_round",
    "num_iterations": "num_boost_round",
    "num_rounds": "num_boost_round",
    "num_trees": "num_boost_round",
    "early_stopping_round": "early_stopping_rounds",
    "min_child_samples": "min_data_in_leaf",
    "colsample_bytree": "feature_fraction",
    "subsample": "bagging_fraction",
    "subsample_freq": "bagging_freq",
    "reg_lambda": "lambda_l2",
    "reg_alpha": "lambda_l1",
    "random_state": "seed",
    "n_jobs": "num_threads",
    "eta": "learning_rate",
}
# The LightGBM parameters that make sense for a binary model trained by `zhongtai train` (docs/models.md).
LIGHTGBM_PARAMS = frozenset(
    {
        "num_boost_round",
        "early_stopping_rounds",
        "learning_rate",
        "num_leaves",
        "max_depth",
        "min_data_in_leaf",
        "min_sum_hessian_in_leaf",
        "feature_fraction",
        "feature_fraction_bynode",
        "bagging_fraction",
        "bagging_freq",
        "lambda_l1",
        "lambda_l2",
        "min_gain_to_split",
        "max_bin",
        "extra_trees",
        "path_smooth",
        "scale_pos_weight",
        "is_unbalance",
        "boosting",
        "max_delta_step",
        "seed",
        "deterministic",
        "num_threads",
    }
)
Scalar = float | int | str | bool


def _lightgbm_params() -> list[str]:
    return sorted(LIGHTGBM_PARAMS | set(LIGHTGBM_ALIASES))


@cache
def _sklearn_params(algorithm: str) -> list[str]:
    """The keyword arguments of the installed scikit-learn's LogisticRegression or Ridge."""
    from sklearn.linear_model import LogisticRegression, Ridge

    return sorted(inspect.signature(Ridge if algorithm == "ridge" else LogisticRegression).parameters)


def allowed_params(algorithm: str) -> list[str]:
    """The parameter names an algorithm accepts, sorted."""
    return _lightgbm_params() if algorithm == "lightgbm" else _sklearn_params(algorithm)


class CandidateSpec(BaseModel):
    """One algorithm: fixed `params`, and a `grid` of values to try (every combination is one trial)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: str = Field(description="`lightgbm`, `logistic` (classification) or `ridge` (regression).")
    params: dict[str, Scalar] = Field(
        default={}, description="Parameters every trial of this algorithm uses."
    )
    grid: dict[str, list[Scalar]] = Field(
        default={}, description="Values to try per parameter; every combination is one trial (50 at most)."
    )

    @field_validator("algorithm")
    @classmethod
    def _known_algorithm(cls, value: str) -> str:
        if value not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {value!r} (allowed: {', '.join(ALGORITHMS)})")
        return value

    @field_validator("params", "grid")
    @classmethod
    def _known_params(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        algorithm = info.data.get("algorithm")
        if algorithm is None:
            return value  # the algorithm itself was refused; that error says enough
        allowed = allowed_params(algorithm)
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise ValueError(
                f"unknown {algorithm} parameter {', '.join(map(repr, unknown))} (allowed: {', '.join(allowed)})"
            )
        if info.field_name == "grid" and any(not values for values in value.values()):
            raise ValueError("every grid parameter needs at least one value")
        return value

    def trials(self) -> list[dict[str, Scalar]]:
        """Every parameter set to train: `params` with each combination of the grid, in a fixed order."""
        keys = sorted(self.grid)
        return [
            {**self.params, **dict(zip(keys, combination, strict=True))}
            for combination in itertools.product(*(self.grid[k] for k in keys))
        ]


class CandidatesSpec(BaseModel):
    """Algorithms to compare on the same time-split holdout; the best by `metric` becomes the version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithms: list[CandidateSpec] = Field(min_length=1, description="The algorithms to train and compare.")
    metric: Literal[
        "auc", "log_loss", "brier", "average_precision", "accuracy", "macro_f1", "rmse", "mae", "r2"
    ] = Field(
        default="auc",
        description="What judges the candidates on the holdout: auc, log_loss, brier or average_precision "
        "(binary; default auc), log_loss, accuracy or macro_f1 (multiclass; default log_loss), rmse, mae "
        "or r2 (regression; default rmse).",
    )
    budget: str | None = Field(
        default=None,
        description="A duration (`10m`): candidates not started within it are recorded as skipped.",
    )

    @field_validator("budget")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration_seconds(value)
        return value

    @model_validator(mode="after")
    def _small_grid(self) -> CandidatesSpec:
        count = sum(len(c.trials()) for c in self.algorithms)
        if count > MAX_TRIALS:
            raise ValueError(f"{count} trials in all; at most {MAX_TRIALS}: narrow the grids")
        return self

    def budget_seconds(self) -> float | None:
        """The budget in seconds, None without one."""
        return None if self.budget is None else float(duration_seconds(self.budget))
