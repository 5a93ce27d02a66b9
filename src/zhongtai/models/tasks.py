"""Trainers of the tasks beyond the tabular pipeline: the contract between `train_model` and each of them.

`train_model` (models/train.py) runs the experiment run's bookkeeping for every task: the run is recorded
before any work, a failure ends it `failed` with its error, and the artifact is saved and the version
registered in the run's completion transaction. Binary, multiclass and regression models go through
train.py's own pipeline (point-in-time training set, time split, baselines, candidates, card). Every other
task is one function here, `TRAINERS[task](job) -> Trained`: it reads its rows (label SQL, a training set),
fits, scores a held-out part against its baseline and returns the artifact's files and its figures; it
saves nothing and registers nothing itself, so a failed fit leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zhongtai.lake.offline import OfflineEngine
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.records import TrainingSet
    from zhongtai.meta.store import MetadataStore
    from zhongtai.spec.models import ModelSpec

Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class TrainJob:
    """What a task trainer is given: the stores, the validated model spec, where to report progress
    (`report(stage, detail)`, stages as in train.STAGES) and the offline engine (None: DuckDB in process)."""

    store: MetadataStore
    storage: LakeStorage
    spec: ModelSpec
    report: Progress
    engine: OfflineEngine | None = None


@dataclass
class Trained:
    """A fitted model ready to register.

    `files` are the artifact's files by plain name (data only: JSON, npz, LightGBM text, safetensors; never
    pickle), saved in one folder; `main` is the one the version records and `load_predictor` is given.
    `metrics` holds at least `validation` (the model on the held-out rows) and `baseline` (its baseline on
    the same rows), plus `train_rows` and `validation_rows`. `features` is the input order of the predictor.
    """

    artifact_format: str
    files: dict[str, bytes]
    main: str
    features: list[str]
    params: dict[str, Any]
    metrics: dict[str, Any]
    training_set: TrainingSet | None = None
    datasets: dict[str, int] = field(default_factory=dict)
    card: dict[str, Any] | None = None


Trainer = Callable[[TrainJob], Trained]


def _train_forecast(job: TrainJob) -> Trained:
    from zhongtai.models.forecast import train_forecast  # statsforecast and pandas load only when used

    return train_forecast(job)


# One entry per task trained outside train.py's tabular pipeline.
TRAINERS: dict[str, Trainer] = {"forecast": _train_forecast}


def _recommendation(job: TrainJob) -> Trained:
    from zhongtai.models.recommend import train_recommendation

    return train_recommendation(job)


TRAINERS["recommendation"] = _recommendation


def _text_classification(job: TrainJob) -> Trained:
    from zhongtai.models.text import train_text_classification

    return train_text_classification(job)


TRAINERS["text_classification"] = _text_classification


def trainer_for(task: str) -> Trainer | None:
    """The trainer of a task outside the tabular pipeline; None for binary, multiclass and regression."""
    return TRAINERS.get(task)
