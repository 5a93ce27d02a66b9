"""Train a registered model spec: training set → time split → LightGBM → metrics vs baseline → registry.

Everything a version needs to be reproduced is recorded with it: the training set id (with its lineage),
the effective parameters, the feature order and the code version.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai import __version__
from zhongtai.errors import ZhongtaiError
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import ModelVersion, TrainingSet
from zhongtai.meta.store import MetadataStore
from zhongtai.models.artifacts import ARTIFACT_FORMAT, save_booster
from zhongtai.models.metrics import baseline_metrics, binary_metrics
from zhongtai.spec.models import ModelSpec

if TYPE_CHECKING:
    import lightgbm
    import pyarrow as pa

    from zhongtai.lake.offline import OfflineEngine

Progress = Callable[[str, str], None]
STAGES = ("training set", "split", "train", "evaluate", "save", "register")
MIN_TRAINING_ROWS = 50
MIN_VALIDATION_ROWS = 20

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
# The scikit-learn spellings people bring along; mapped so a spec value never loses to our default silently.
_ALIASES = {
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


@dataclass(frozen=True)
class Split:
    """Training rows strictly before `split_timestamp`, validation rows at or after it."""

    train_x: np.ndarray
    train_y: np.ndarray
    valid_x: np.ndarray
    valid_y: np.ndarray
    split_timestamp: str


def train_model(
    store: MetadataStore,
    storage: LakeStorage,
    model_name: str,
    on_progress: Progress | None = None,
    training: tuple[TrainingSet, pa.Table] | None = None,
    engine: OfflineEngine | None = None,
) -> ModelVersion:
    """Train the registered model spec `model_name` and register the result as its next version.

    `training` hands over an already built training set; by default the feature store builds one (on `engine`,
    the offline engine, DuckDB in process without one).
    `on_progress(stage, detail)` is called as the stages in STAGES start.
    """
    report = on_progress or (lambda stage, detail: None)
    spec = ModelSpec.model_validate(store.spec("models", model_name))
    report("training set", "point-in-time join of labels and features")
    training_set, table = (
        training if training is not None else _build_training_set(store, storage, spec.name, engine)
    )
    lineage = training_set.lineage
    features = list(lineage["features"])
    timestamp = lineage.get("timestamp", spec.label.timestamp)
    label = lineage.get("label", spec.label.label)
    report("split", f"{table.num_rows:,} rows by {timestamp}")
    split = time_split(table, timestamp, label, features, spec.validation.fraction)
    params, rounds, patience = effective_params(spec.params)
    report("train", f"{split.train_y.size:,} rows, {len(features)} features")
    booster = _fit(split, features, params, rounds, patience, report)
    best = booster.best_iteration or booster.current_iteration()
    report("evaluate", f"{split.valid_y.size:,} validation rows")
    metrics = evaluate(booster, split, spec.threshold, best)
    report("save", "LightGBM model text")
    artifact = save_booster(storage, spec.name, booster, best)
    report("register", spec.name)
    recorded = {**params, "num_boost_round": rounds, "early_stopping_rounds": patience}
    try:
        return store.models.register(
            spec.name, artifact, ARTIFACT_FORMAT, features, recorded, metrics, training_set.id, code_version()
        )
    except BaseException:
        storage.remove(artifact.rsplit("/", 1)[0])  # no version points at it: do not leave it behind
        raise


def _build_training_set(
    store: MetadataStore, storage: LakeStorage, model_name: str, engine: OfflineEngine | None = None
) -> tuple[TrainingSet, pa.Table]:
    from zhongtai.features.training import build_training_set

    return build_training_set(store, storage, model_name, engine=engine)


def time_split(table: pa.Table, timestamp: str, label: str, features: list[str], fraction: float) -> Split:
    """The last `fraction` of rows by label time is validation; rows sharing a timestamp stay together.

    Ties at the cut go to validation (or to training if that would leave training empty), so every
    validation row is at or after every training row and no moment is split across both sides.
    """
    import pyarrow.compute as pc

    missing = [c for c in (timestamp, label, *features) if c not in table.column_names]
    if missing:
        raise ZhongtaiError("invalid_argument", f"training set lacks columns: {', '.join(missing)}")
    if table[timestamp].null_count:
        raise ZhongtaiError("invalid_argument", f"training set has rows without a {timestamp} timestamp")
    ordered = table.take(pc.sort_indices(table, [(timestamp, "ascending")]))
    times = ordered[timestamp].to_numpy(zero_copy_only=False)
    rows = len(times)
    if rows < MIN_TRAINING_ROWS + MIN_VALIDATION_ROWS:
        raise _too_few(f"the training set has {rows} rows")
    cut = min(int(rows * (1 - fraction)), rows - 1)
    first = int(np.searchsorted(times, times[cut], side="left"))
    if first == 0:
        first = int(np.searchsorted(times, times[cut], side="right"))
    if first == rows:
        raise ZhongtaiError(
            "invalid_argument",
            f"every label row has the same {timestamp}: a time split needs at least two moments",
        )
    x = np.column_stack([_as_float(ordered[name], name) for name in features])
    y = _labels(ordered[label], label)
    split = Split(x[:first], y[:first], x[first:], y[first:], _iso(ordered[timestamp][first].as_py()))
    _check_side("training", split.train_y, MIN_TRAINING_ROWS, label)
    _check_side("validation", split.valid_y, MIN_VALIDATION_ROWS, label)
    return split


def _as_float(column: pa.ChunkedArray, name: str) -> np.ndarray:
    """A feature as float64 with NULL as NaN: LightGBM treats NaN as missing and learns where it goes."""
    import pyarrow as pa

    kind = column.type
    checks = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_decimal)
    if not any(check(kind) for check in checks):
        raise ZhongtaiError(
            "invalid_argument",
            f"feature '{name}' is {kind}: LightGBM training takes numeric and bool features",
            "encode it as a number in the feature view's SQL",
        )
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False)


def _labels(column: pa.ChunkedArray, name: str) -> np.ndarray:
    import pyarrow as pa

    if column.null_count:
        raise ZhongtaiError("invalid_argument", f"label '{name}' is NULL in {column.null_count} rows")
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    if not np.isin(values, (0.0, 1.0)).all():
        raise ZhongtaiError("invalid_argument", f"label '{name}' must be 0 or 1 for binary classification")
    return values.astype(np.int64)


def _check_side(side: str, labels: np.ndarray, minimum: int, name: str) -> None:
    if labels.size < minimum:
        raise _too_few(f"the {side} side of the time split has {labels.size} rows (needs {minimum})")
    classes = np.unique(labels)
    if classes.size < 2:
        raise ZhongtaiError(
            "invalid_argument",
            f"the {side} side of the time split has a single class ({name} is always {classes[0]})",
            "a binary model needs positive and negative labels on both sides; check the label SQL",
        )


def _too_few(what: str) -> ZhongtaiError:
    return ZhongtaiError(
        "invalid_argument", f"too few rows to train: {what}", "widen the label window or add label rows"
    )


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def effective_params(spec_params: dict[str, Any]) -> tuple[dict[str, Any], int, int]:
    """LightGBM parameters (defaults overridden by the spec), boosting rounds and early-stopping patience."""
    given = {_ALIASES.get(key, key): value for key, value in spec_params.items()}
    objective = given.pop("objective", "binary")
    if objective != "binary":
        raise ZhongtaiError(
            "invalid_spec", f"params.objective is {objective!r}; a binary_classification model is 'binary'"
        )
    rounds = int(given.pop("num_boost_round", DEFAULT_ROUNDS))
    patience = int(given.pop("early_stopping_rounds", DEFAULT_PATIENCE))
    if rounds < 1 or patience < 1:
        raise ZhongtaiError("invalid_spec", "params.num_boost_round and early_stopping_rounds must be >= 1")
    params = {**DEFAULT_PARAMS, "num_threads": os.cpu_count() or 1, **given}
    return params, rounds, patience


def _fit(
    split: Split, features: list[str], params: dict[str, Any], rounds: int, patience: int, report: Progress
) -> lightgbm.Booster:
    import lightgbm

    train_set = lightgbm.Dataset(split.train_x, label=split.train_y, feature_name=features, params=params)
    valid_set = lightgbm.Dataset(split.valid_x, label=split.valid_y, reference=train_set)

    def on_round(env: lightgbm.callback.CallbackEnv) -> None:
        if (env.iteration + 1) % 50 == 0:
            report("train", f"round {env.iteration + 1} of at most {rounds}")

    return lightgbm.train(
        params,
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid_set],
        valid_names=["validation"],
        callbacks=[lightgbm.early_stopping(patience, verbose=False), on_round],
    )


def evaluate(booster: lightgbm.Booster, split: Split, threshold: float, best: int) -> dict[str, Any]:
    """Validation metrics of the model and of the constant baseline, plus the split's shape."""
    scores = np.asarray(booster.predict(split.valid_x, num_iteration=best), dtype=np.float64)
    return {
        "validation": binary_metrics(split.valid_y, scores, threshold),
        "baseline": baseline_metrics(split.valid_y, float(split.train_y.mean()), threshold),
        "train_rows": int(split.train_y.size),
        "validation_rows": int(split.valid_y.size),
        "split_timestamp": split.split_timestamp,
        "best_iteration": int(best),
    }


def code_version() -> str:
    """The package version, plus `+g<commit>` when running from a git checkout (src layout)."""
    checkout = Path(__file__).resolve().parents[3]
    if not (checkout / ".git").exists():
        return __version__
    try:
        found = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=2,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return __version__  # no git, not a repository, or too slow: the version alone still says a lot
    return f"{__version__}+g{found.stdout.strip()}"
