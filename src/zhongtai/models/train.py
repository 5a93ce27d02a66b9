"""Train a registered model spec as one experiment run: training set → time split → baselines → candidates →
card → artifact → version.

Binary, multiclass and regression models share this pipeline; the task decides what a label may be (0/1;
string or integer classes; finite numbers), the baselines (constant rate, class shares or mean; logistic,
multinomial logistic or ridge), the metrics and the objective.

The run is recorded `running` before any work (models/runs.py), and ends either `failed` with its error, or
`finished` in the same transaction that registers the version (meta/runs.py), so there is no version without
its finished run. A failed run registers nothing and leaves no artifact behind. Everything a version needs to
be reproduced is recorded with it and its run: the training set id (with its lineage), the effective
parameters, the feature order, the code version, and the comparison that chose it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai import __version__
from zhongtai.errors import NotFound, ZhongtaiError
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.owner import here
from zhongtai.meta.records import ModelVersion, RunOutcome, TrainingSet
from zhongtai.meta.store import MetadataStore
from zhongtai.models import runs
from zhongtai.models.artifacts import save_files
from zhongtai.models.baselines import (
    class_prior,
    constant_rate,
    fit_logistic,
    fit_ridge,
    fit_softmax,
    logistic_params,
    ridge_params,
    training_mean,
)
from zhongtai.models.candidates import Comparison, Fitted, compare
from zhongtai.models.cards import Holdout, build_card
from zhongtai.models.labels import binary_labels, check_side, class_indexes, regression_targets, too_few
from zhongtai.models.metrics import task_metrics
from zhongtai.models.predictor import ClassLabel, LinearPredictor, SoftmaxPredictor
from zhongtai.models.tasks import Trainer, TrainJob, trainer_for
from zhongtai.monitor.profile import PROFILE_FILE
from zhongtai.monitor.reference import training_profile, with_profile
from zhongtai.spec.models import ModelSpec

if TYPE_CHECKING:
    import pyarrow as pa

    from zhongtai.lake.offline import OfflineEngine

Progress = Callable[[str, str], None]
STAGES = ("run", "training set", "split", "baselines", "train", "evaluate", "card", "save", "register")
MIN_TRAINING_ROWS = 50
MIN_VALIDATION_ROWS = 20


@dataclass(frozen=True)
class Split:
    """Training rows strictly before `split_timestamp`, validation rows at or after it."""

    train_x: np.ndarray
    train_y: np.ndarray
    valid_x: np.ndarray
    valid_y: np.ndarray
    split_timestamp: str
    holdout: pa.Table  # the validation rows with every training-set column (slices read it)
    first_timestamp: str
    last_timestamp: str
    # Multiclass: the label of each class index (those of the training side), and the classes only the
    # validation side holds, with their rows (left out of validation: the model cannot answer them).
    classes: tuple[ClassLabel, ...] = ()
    unseen: dict[str, int] = field(default_factory=dict)


@dataclass
class _Attempt:
    """What a run has learnt so far; a failed run records as much of it as there is."""

    started: float
    training_set_id: str | None = None
    datasets: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)

    def outcome(self, card: dict[str, Any] | None = None) -> RunOutcome:
        return RunOutcome(
            duration_s=round(time.monotonic() - self.started, 3),
            peak_memory_kb=runs.peak_memory_kb(),
            params=self.params,
            metrics=self.metrics,
            candidates=self.candidates,
            training_set_id=self.training_set_id,
            datasets=self.datasets,
            artifacts=list(self.artifacts),
            card=card,
        )


def train_model(
    store: MetadataStore,
    storage: LakeStorage,
    model_name: str,
    on_progress: Progress | None = None,
    training: tuple[TrainingSet, pa.Table] | None = None,
    engine: OfflineEngine | None = None,
) -> ModelVersion:
    """Train the registered model spec `model_name` as a run and register the winner as its next version.

    `training` hands over an already built training set; by default the feature store builds one (on `engine`,
    the offline engine, DuckDB in process without one).
    `on_progress(stage, detail)` is called as the stages in STAGES start ("run" carries the run id) and as
    each candidate starts.
    """
    report = on_progress or (lambda stage, detail: None)
    spec = ModelSpec.model_validate(store.spec("models", model_name))
    host, pid = here()
    run = store.training_runs.start(runs.new_run_id(), spec.name, runs.principal(), host, pid, code_version())
    attempt = _Attempt(time.monotonic())
    try:
        report("run", run.id)
        return _train(store, storage, spec, run.id, attempt, report, training, engine)
    except BaseException as exc:
        code, message = runs.error_of(exc)
        store.training_runs.fail(run.id, attempt.outcome(), code, message)
        raise


def _train(
    store: MetadataStore,
    storage: LakeStorage,
    spec: ModelSpec,
    run_id: str,
    attempt: _Attempt,
    report: Progress,
    training: tuple[TrainingSet, pa.Table] | None,
    engine: OfflineEngine | None,
) -> ModelVersion:
    trainer = trainer_for(spec.task)
    if trainer is not None:
        return _register_task(store, storage, spec, run_id, attempt, report, trainer, engine)
    report("training set", "point-in-time join of labels and features")
    training_set, table = (
        training if training is not None else _build_training_set(store, storage, spec.name, engine)
    )
    lineage = training_set.lineage
    attempt.training_set_id, attempt.datasets = training_set.id, dict(lineage.get("datasets", {}))
    store.training_runs.note_training_set(run_id, training_set.id, attempt.datasets)
    features = list(lineage["features"])
    timestamp = lineage.get("timestamp", spec.label.timestamp)
    label = lineage.get("label", spec.label.label)
    _check_slices(spec, table)
    report("split", f"{table.num_rows:,} rows by {timestamp}")
    split = time_split(table, timestamp, label, features, spec.validation.fraction, spec.task)
    if split.unseen:
        left_out = sum(split.unseen.values())
        report(
            "split", f"{left_out:,} validation rows of {len(split.unseen)} class(es) training lacks: left out"
        )
    train, valid = (split.train_x, split.train_y), (split.valid_x, split.valid_y)
    report("baselines", BASELINES[spec.task])
    baselines = baseline_scores(spec.task, split, features)
    report("train", f"{split.train_y.size:,} rows, {len(features)} features")
    found = compare(spec, train, valid, features, report, classes=split.classes)
    attempt.candidates = found.records
    winner = _winner(found)
    report("evaluate", f"{split.valid_y.size:,} validation rows")
    scored = {"model": winner.predictor.predict(split.valid_x), **baselines}
    attempt.metrics = evaluate(split, spec.threshold, scored, winner, found.metric, spec.task)
    attempt.params = winner.params
    report("card", "bootstrap intervals, calibration, top features, slices")
    card = build_card(
        spec,
        training_set,
        {**_data_summary(table, split, spec.task), "dataset_rows": _dataset_rows(store, attempt.datasets)},
        Holdout(split.valid_x, split.valid_y, split.holdout, split.classes),
        scored,
        winner.predictor,
        {"algorithm": winner.algorithm, "selection_metric": found.metric, "candidates": found.records},
    )
    report("save", f"{winner.algorithm} model as {winner.artifact_format}")
    # The drift reference (monitor/): saved beside the model, recorded with the version.
    reference = training_profile(features, [split.train_x, split.valid_x], scored["model"])
    files = {**winner.files, PROFILE_FILE: reference.to_json()}
    artifact = save_files(storage, spec.name, files, winner.main)
    attempt.artifacts = [artifact]
    report("register", spec.name)
    try:
        return store.models.register(
            spec.name,
            artifact,
            winner.artifact_format,
            features,
            winner.params,
            attempt.metrics,
            training_set.id,
            code_version(),
            within=with_profile(
                reference, spec.name, artifact, store.training_runs.completion(run_id, attempt.outcome(card))
            ),
        )
    except BaseException:
        storage.remove(artifact.rsplit("/", 1)[0])  # no version points at it: do not leave it behind
        attempt.artifacts = []
        raise


def _register_task(
    store: MetadataStore,
    storage: LakeStorage,
    spec: ModelSpec,
    run_id: str,
    attempt: _Attempt,
    report: Progress,
    trainer: Trainer,
    engine: OfflineEngine | None,
) -> ModelVersion:
    """A task trained outside the tabular pipeline (models/tasks.py): fit, then save and register here."""
    trained = trainer(TrainJob(store, storage, spec, report, engine))
    if trained.training_set is not None:
        attempt.training_set_id = trained.training_set.id
        attempt.datasets = dict(trained.datasets)
        store.training_runs.note_training_set(run_id, trained.training_set.id, attempt.datasets)
    attempt.metrics, attempt.params = trained.metrics, trained.params
    report("save", f"{spec.task} model as {trained.artifact_format}")
    artifact = save_files(storage, spec.name, trained.files, trained.main)
    attempt.artifacts = [artifact]
    report("register", spec.name)
    try:
        return store.models.register(
            spec.name,
            artifact,
            trained.artifact_format,
            trained.features,
            trained.params,
            trained.metrics,
            trained.training_set.id if trained.training_set is not None else None,
            code_version(),
            within=store.training_runs.completion(run_id, attempt.outcome(trained.card)),
        )
    except BaseException:
        storage.remove(artifact.rsplit("/", 1)[0])
        attempt.artifacts = []
        raise


def _winner(found: Comparison) -> Fitted:
    if found.winner is None:  # compare() raises before this can happen; kept for the type checker
        raise ZhongtaiError("invalid_spec", "no candidate trained")
    return found.winner


def _check_slices(spec: ModelSpec, table: pa.Table) -> None:
    missing = [c for c in spec.slices if c not in table.column_names]
    if missing:
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' slices: {', '.join(missing)} not among the training set's columns",
            f"slice by a column of the label SQL or a feature: {', '.join(table.column_names)}",
        )


def _dataset_rows(store: MetadataStore, datasets: dict[str, int]) -> dict[str, int | None]:
    """Rows of each dataset version under the training set (None for one the store no longer has)."""
    found: dict[str, int | None] = {}
    for name, version in datasets.items():
        try:
            found[name] = store.version(name, int(version)).rows
        except NotFound:
            found[name] = None
    return found


def _data_summary(table: pa.Table, split: Split, task: str) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "rows": int(table.num_rows),
        "train_rows": int(split.train_y.size),
        "holdout_rows": int(split.valid_y.size),
        "first_timestamp": split.first_timestamp,
        "last_timestamp": split.last_timestamp,
        "split_timestamp": split.split_timestamp,
    }
    if task == "multiclass_classification":
        width = len(split.classes)
        shares = {"train": class_prior(split.train_y, width), "holdout": class_prior(split.valid_y, width)}
        for side, share in shares.items():
            summary[f"{side}_class_shares"] = {
                str(c): float(v) for c, v in zip(split.classes, share, strict=True)
            }
        summary["unseen_classes"] = dict(split.unseen)
    elif task == "regression":
        summary["train_mean"], summary["holdout_mean"] = (
            float(split.train_y.mean()),
            float(split.valid_y.mean()),
        )
    else:
        summary["train_positive_rate"] = float(split.train_y.mean())
        summary["holdout_positive_rate"] = float(split.valid_y.mean())
    return summary


def _build_training_set(
    store: MetadataStore, storage: LakeStorage, model_name: str, engine: OfflineEngine | None = None
) -> tuple[TrainingSet, pa.Table]:
    from zhongtai.features.training import build_training_set

    return build_training_set(store, storage, model_name, engine=engine)


def time_split(
    table: pa.Table,
    timestamp: str,
    label: str,
    features: list[str],
    fraction: float,
    task: str = "binary_classification",
) -> Split:
    """The last `fraction` of rows by label time is validation; rows sharing a timestamp stay together.

    Ties at the cut go to validation (or to training if that would leave training empty), so every
    validation row is at or after every training row and no moment is split across both sides. A multiclass
    model's classes are those of the training side; validation rows of any other class are left out and
    counted in `unseen`.
    """
    import pyarrow.compute as pc

    missing = [c for c in (timestamp, label, *features) if c not in table.column_names]
    if missing:
        raise ZhongtaiError("invalid_argument", f"training set lacks columns: {', '.join(missing)}")
    if table.num_rows == 0:
        raise ZhongtaiError(
            "invalid_argument", "label.sql returned no label rows", "check the label SQL and its datasets"
        )
    if table[timestamp].null_count:
        raise ZhongtaiError("invalid_argument", f"training set has rows without a {timestamp} timestamp")
    ordered = table.take(pc.sort_indices(table, [(timestamp, "ascending")]))
    times = ordered[timestamp].to_numpy(zero_copy_only=False)
    rows = len(times)
    if rows < MIN_TRAINING_ROWS + MIN_VALIDATION_ROWS:
        raise too_few(f"the training set has {rows} rows")
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
    kept = np.ones(rows - first, dtype=bool)
    classes: tuple[ClassLabel, ...] = ()
    unseen: dict[str, int] = {}
    if task == "multiclass_classification":
        y, classes, unseen = class_indexes(ordered[label], label, first)
        kept = y[first:] >= 0
    elif task == "regression":
        y = regression_targets(ordered[label], label)
    else:
        y = binary_labels(ordered[label], label)
    holdout = ordered.slice(first)
    split = Split(
        train_x=x[:first],
        train_y=y[:first],
        valid_x=x[first:][kept],
        valid_y=y[first:][kept],
        split_timestamp=_iso(ordered[timestamp][first].as_py()),
        holdout=holdout if kept.all() else holdout.filter(kept),
        first_timestamp=_iso(ordered[timestamp][0].as_py()),
        last_timestamp=_iso(ordered[timestamp][rows - 1].as_py()),
        classes=classes,
        unseen=unseen,
    )
    check_side("training", split.train_y, MIN_TRAINING_ROWS, label, task)
    check_side("validation", split.valid_y, MIN_VALIDATION_ROWS, label, task)
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


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# What the baselines stage trains, by task (progress text).
BASELINES = {
    "binary_classification": "constant and logistic regression",
    "multiclass_classification": "class shares and multinomial logistic regression",
    "regression": "training mean and ridge regression",
}


def linear_baseline(task: str) -> str:
    """The metrics key of a task's linear baseline."""
    return "ridge_baseline" if task == "regression" else "logistic_baseline"


def baseline_scores(task: str, split: Split, features: list[str]) -> dict[str, np.ndarray]:
    """Both baselines, fitted on the training side, scored on the validation side."""
    train, rows = (split.train_x, split.train_y), split.valid_y.size
    if task == "multiclass_classification":
        softmax = SoftmaxPredictor.of(fit_softmax(*train, features, split.classes, logistic_params()))
        prior = class_prior(split.train_y, len(split.classes))
        return {
            "logistic_baseline": softmax.predict(split.valid_x),
            "constant_baseline": np.tile(prior, (rows, 1)),
        }
    if task == "regression":
        ridge = LinearPredictor.of(fit_ridge(*train, features, ridge_params()))
        return {
            "ridge_baseline": ridge.predict(split.valid_x),
            "constant_baseline": np.full(rows, training_mean(split.train_y)),
        }
    logistic = LinearPredictor.of(fit_logistic(*train, features, logistic_params()))
    return {
        "logistic_baseline": logistic.predict(split.valid_x),
        "constant_baseline": np.full(rows, constant_rate(split.train_y)),
    }


def evaluate(
    split: Split,
    threshold: float,
    scored: dict[str, np.ndarray],
    winner: Fitted,
    metric: str,
    task: str = "binary_classification",
) -> dict[str, Any]:
    """Validation metrics of the model and of both baselines, plus the split's shape and what won."""

    def measured(scores: np.ndarray) -> dict[str, Any]:
        return task_metrics(task, split.valid_y, scores, threshold, split.classes)

    linear = linear_baseline(task)
    metrics: dict[str, Any] = {
        "validation": measured(scored["model"]),
        "baseline": measured(scored["constant_baseline"]),
        linear: measured(scored[linear]),
        "train_rows": int(split.train_y.size),
        "validation_rows": int(split.valid_y.size),
        "split_timestamp": split.split_timestamp,
        "algorithm": winner.algorithm,
        "selection_metric": metric,
    }
    if task == "multiclass_classification":
        metrics["classes"] = list(split.classes)
        metrics["unseen_classes"] = dict(split.unseen)
    if winner.best_iteration is not None:
        metrics["best_iteration"] = winner.best_iteration
    return metrics


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
