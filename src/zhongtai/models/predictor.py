"""The predictor protocol: all the capability runtime and batch scoring ask of a model.

The runtime never talks to LightGBM (or any other library) directly: it holds a `Predictor`, built once by
`load_predictor` from a version's artifact and format, and per request calls `explain()`, which returns the
scores and each feature's contribution in one pass. Contributions are additive in the model's raw space
(the logit for a binary model): the per-feature columns plus the bias column (last) sum to the raw score, so
the explanation a caller sees is exact, not an approximation of another model.

Formats are data only. `lightgbm-text` is LightGBM's model text (tree SHAP contributions); `linear-json` is a
standardised linear model as JSON (contributions are coefficient × standardised deviation from the training
mean, exact for a linear model). A new model family is one class here and one entry in `_LOADERS`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.models.artifacts import ARTIFACT_FORMAT, load_booster, read_artifact, save_text

if TYPE_CHECKING:
    from collections.abc import Callable

    import lightgbm

    from zhongtai.lake.storage import LakeStorage

LINEAR_FORMAT = "linear-json"
LINEAR_FILE = "model.json"
_LINEAR_SCHEMA = "zhongtai-linear/1"


@runtime_checkable
class Predictor(Protocol):
    """A loaded model ready for the hot path: thread-safe, no I/O, no per-call setup."""

    @property
    def task(self) -> str:
        """What the scores mean: "binary" = the probability of the positive class."""
        ...

    @property
    def features(self) -> tuple[str, ...]:
        """The column order `rows` must follow."""
        ...

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """One score per row (rows: 2-D float64, NaN = missing)."""
        ...

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores, and contributions of shape (rows, features + 1) with the bias last, in raw-score space."""
        ...


def _sigmoid(raw: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-raw)), dtype=np.float64)


@dataclass(frozen=True)
class LightGBMBinary:
    """A LightGBM binary booster on one thread per predict.

    LightGBM spreads a predict over all cores by default; for one row that costs thread start-up on every
    call (milliseconds on a busy machine instead of tens of microseconds). LightGBM 4 ignores parameters
    passed with a model string and takes `num_threads` per predict call only, hence the explicit argument.
    """

    booster: lightgbm.Booster
    features: tuple[str, ...]
    task: str = "binary"

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities of the positive class, one per row."""
        return np.asarray(self.booster.predict(rows, num_threads=1), dtype=np.float64)

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tree SHAP contributions (one predict call) and the probabilities they sum to through the sigmoid."""
        contributions = np.asarray(self.booster.predict(rows, pred_contrib=True, num_threads=1))
        return _sigmoid(contributions.sum(axis=1)), contributions


@dataclass(frozen=True)
class LinearModel:
    """A logistic (binary) model over standardised features, as stored in `linear-json`.

    A missing value is replaced by the training mean (`center`), so it contributes nothing.
    """

    features: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    task: str = "binary"

    def to_json(self) -> str:
        """The artifact text: a versioned JSON document, numbers only."""
        body = {"schema": _LINEAR_SCHEMA, **asdict(self)}
        return json.dumps(body, indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, raw: bytes, path: str) -> LinearModel:
        """Parse and check an artifact; anything malformed is an error naming the file, never a crash later."""
        try:
            body = json.loads(raw)
            if body.get("schema") != _LINEAR_SCHEMA:
                raise ValueError("schema")
            model = cls(
                features=tuple(str(f) for f in body["features"]),
                center=tuple(float(v) for v in body["center"]),
                scale=tuple(float(v) for v in body["scale"]),
                coef=tuple(float(v) for v in body["coef"]),
                intercept=float(body["intercept"]),
                task=str(body.get("task", "binary")),
            )
        except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
            raise ZhongtaiError(
                "invalid_argument",
                f"{path} is not a {LINEAR_FORMAT} model",
                "artifacts are written by `zhongtai train`; other formats are refused",
            ) from None
        sizes = {len(model.features), len(model.center), len(model.scale), len(model.coef)}
        numbers = (*model.center, *model.scale, *model.coef, model.intercept)
        if len(sizes) != 1 or not all(math.isfinite(v) for v in numbers) or min(model.scale, default=1) <= 0:
            raise ZhongtaiError(
                "invalid_argument",
                f"{path}: features, center, scale and coef must be equally long, finite, with positive scales",
            )
        if model.task != "binary":
            raise ZhongtaiError(
                "invalid_argument", f"{path}: task {model.task!r} is not served by linear models"
            )
        return model


@dataclass(frozen=True)
class LinearBinary:
    """A `LinearModel` ready to serve: the arrays built once."""

    features: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    task: str = "binary"

    @classmethod
    def of(cls, model: LinearModel) -> LinearBinary:
        """Arrays from the stored model."""
        return cls(
            model.features,
            np.asarray(model.center, dtype=np.float64),
            np.asarray(model.scale, dtype=np.float64),
            np.asarray(model.coef, dtype=np.float64),
            model.intercept,
        )

    def _contributions(self, rows: np.ndarray) -> np.ndarray:
        standard = (np.where(np.isnan(rows), self.center, rows) - self.center) / self.scale
        terms = standard * self.coef
        return np.column_stack([terms, np.full(len(rows), self.intercept)])

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities of the positive class, one per row."""
        return _sigmoid(self._contributions(rows).sum(axis=1))

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each coefficient times its standardised deviation from the training mean; the intercept as bias."""
        contributions = self._contributions(rows)
        return _sigmoid(contributions.sum(axis=1)), contributions


def save_linear(storage: LakeStorage, model_name: str, model: LinearModel) -> str:
    """Write a linear model as `<lake>/_models/<model>/<uuid>/model.json`; returns its path."""
    return save_text(storage, model_name, LINEAR_FILE, model.to_json())


def _load_lightgbm(storage: LakeStorage, path: str) -> Predictor:
    booster = load_booster(storage, path)
    return LightGBMBinary(booster, tuple(booster.feature_name()))


def _load_linear(storage: LakeStorage, path: str) -> Predictor:
    return LinearBinary.of(LinearModel.from_json(read_artifact(storage, path), path))


_LOADERS: dict[str, Callable[[LakeStorage, str], Predictor]] = {
    ARTIFACT_FORMAT: _load_lightgbm,
    LINEAR_FORMAT: _load_linear,
}


def servable_formats() -> tuple[str, ...]:
    """The artifact formats `load_predictor` can serve."""
    return tuple(_LOADERS)


def load_predictor(storage: LakeStorage, path: str, artifact_format: str) -> Predictor:
    """The predictor for an artifact of a known format; an unknown format is a clear error."""
    loader = _LOADERS.get(artifact_format)
    if loader is None:
        raise ZhongtaiError(
            "invalid_argument",
            f"model artifact format {artifact_format!r} cannot be served",
            f"servable formats: {', '.join(_LOADERS)}",
        )
    return loader(storage, path)
