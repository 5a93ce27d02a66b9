"""The predictor protocol: all the capability runtime and batch scoring ask of a model.

The runtime never talks to LightGBM (or any other library) directly: it holds a `Predictor`, built once by
`load_predictor` from a version's artifact and format, and per request calls `explain()`, which returns the
scores and each feature's contribution in one pass. Contributions are additive in the model's raw space:
the per-feature columns plus the bias column (last) sum to the raw score, so the explanation a caller sees
is exact, not an approximation of another model. What the scores and the raw space are depends on the task:

- `binary`: one probability of the positive class per row; the raw score is its logit.
- `multiclass`: class probabilities, shape (rows, classes), in the order of the predictor's `classes`;
  `explain` returns them with the contributions to the *predicted* (most probable) class's raw score, its
  softmax logit, so "why this class" is answered exactly. Class labels (strings or integers) travel with
  the artifact: LightGBM and the linear model know class indexes only.
- `regression`: the predicted value; the raw score is the value itself, so contributions sum to it.

Formats are data only. `lightgbm-text` is a binary LightGBM model text (tree SHAP contributions);
`lightgbm-multiclass` is a multiclass model text plus `classes.json`; `lightgbm-regression` a regression
model text with an identity link (so contributions sum to the value). `linear-json` is a standardised
linear model as JSON, logistic (binary) or ridge (regression): contributions are coefficient × standardised
deviation from the training mean, exact for a linear model. `softmax-json` is the multinomial logistic
model, one coefficient row per class. A new model family is one class here and one entry in `_LOADERS`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

# The link functions and the linear models' terms are the edge runtime's (an exported bundle scores with
# the same code the gateway does; zhongtai/edge imports nothing of the platform).
from zhongtai.edge.scoring import predicted_class_terms as _predicted_class_terms
from zhongtai.edge.scoring import sigmoid as _sigmoid
from zhongtai.edge.scoring import softmax as _softmax
from zhongtai.edge.scoring import standardised as _standardised
from zhongtai.errors import ZhongtaiError
from zhongtai.models.artifacts import (
    ARTIFACT_FORMAT,
    load_booster,
    read_artifact,
    read_model_text,
    save_text,
    sibling,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import lightgbm

    from zhongtai.lake.storage import LakeStorage

LINEAR_FORMAT = "linear-json"
LINEAR_FILE = "model.json"
_LINEAR_SCHEMA = "zhongtai-linear/1"
SOFTMAX_FORMAT = "softmax-json"
_SOFTMAX_SCHEMA = "zhongtai-softmax/1"
MULTICLASS_FORMAT = "lightgbm-multiclass"
REGRESSION_FORMAT = "lightgbm-regression"
CLASSES_FILE = "classes.json"
_CLASSES_SCHEMA = "zhongtai-classes/1"
# LightGBM regression objectives whose prediction is the raw score (identity link): contributions sum to it.
REGRESSION_OBJECTIVES = ("regression", "regression_l1", "huber", "fair")

ClassLabel = str | int


@runtime_checkable
class Predictor(Protocol):
    """A loaded model ready for the hot path: thread-safe, no I/O, no per-call setup."""

    @property
    def task(self) -> str:
        """What the scores mean: `binary`, `multiclass` or `regression` (see the module docstring)."""
        ...

    @property
    def features(self) -> tuple[str, ...]:
        """The column order `rows` must follow."""
        ...

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Scores (rows: 2-D float64, NaN = missing): one per row, or (rows, classes) for multiclass."""
        ...

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores, and contributions of shape (rows, features + 1) with the bias last, in raw-score space."""
        ...


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
class LightGBMRegression:
    """A LightGBM regression booster (identity link) on one thread per predict."""

    booster: lightgbm.Booster
    features: tuple[str, ...]
    task: str = "regression"

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """The predicted value, one per row."""
        return np.asarray(self.booster.predict(rows, num_threads=1), dtype=np.float64)

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tree SHAP contributions and the values they sum to."""
        contributions = np.asarray(self.booster.predict(rows, pred_contrib=True, num_threads=1))
        return contributions.sum(axis=1), contributions


@dataclass(frozen=True)
class LightGBMMulticlass:
    """A LightGBM multiclass (softmax) booster and the class label of each of its indexes."""

    booster: lightgbm.Booster
    features: tuple[str, ...]
    classes: tuple[ClassLabel, ...]
    task: str = "multiclass"

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (rows, classes)."""
        return np.asarray(self.booster.predict(rows, num_threads=1), dtype=np.float64).reshape(
            len(rows), len(self.classes)
        )

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities, and the tree SHAP contributions to the predicted class's raw score."""
        flat = np.asarray(self.booster.predict(rows, pred_contrib=True, num_threads=1))
        per_class = flat.reshape(len(rows), len(self.classes), len(self.features) + 1)
        probabilities = _softmax(per_class.sum(axis=2))
        return probabilities, _predicted_class_terms(per_class, probabilities)


def _refused(path: str, what: str) -> ZhongtaiError:
    return ZhongtaiError(
        "invalid_argument",
        f"{path} is not a {what} model",
        "artifacts are written by `zhongtai train`; other formats are refused",
    )


def _finite(path: str, *numbers: float) -> None:
    if not all(math.isfinite(v) for v in numbers):
        raise ZhongtaiError("invalid_argument", f"{path}: every number of the model must be finite")


@dataclass(frozen=True)
class LinearModel:
    """A linear model over standardised features, as stored in `linear-json`: logistic for `binary` (the
    score is the sigmoid of the sum), ridge for `regression` (the score is the sum).

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
            raise _refused(path, LINEAR_FORMAT) from None
        sizes = {len(model.features), len(model.center), len(model.scale), len(model.coef)}
        numbers = (*model.center, *model.scale, *model.coef, model.intercept)
        if len(sizes) != 1 or not all(math.isfinite(v) for v in numbers) or min(model.scale, default=1) <= 0:
            raise ZhongtaiError(
                "invalid_argument",
                f"{path}: features, center, scale and coef must be equally long, finite, with positive scales",
            )
        if model.task not in ("binary", "regression"):
            raise ZhongtaiError(
                "invalid_argument", f"{path}: task {model.task!r} is not served by linear models"
            )
        return model


@dataclass(frozen=True)
class LinearPredictor:
    """A `LinearModel` ready to serve: the arrays built once."""

    features: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    task: str = "binary"

    @classmethod
    def of(cls, model: LinearModel) -> LinearPredictor:
        """Arrays from the stored model."""
        return cls(
            model.features,
            np.asarray(model.center, dtype=np.float64),
            np.asarray(model.scale, dtype=np.float64),
            np.asarray(model.coef, dtype=np.float64),
            model.intercept,
            model.task,
        )

    def _contributions(self, rows: np.ndarray) -> np.ndarray:
        terms = _standardised(rows, self.center, self.scale) * self.coef
        return np.column_stack([terms, np.full(len(rows), self.intercept)])

    def _scores(self, raw: np.ndarray) -> np.ndarray:
        return raw if self.task == "regression" else _sigmoid(raw)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities of the positive class (binary) or values (regression), one per row."""
        return self._scores(self._contributions(rows).sum(axis=1))

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each coefficient times its standardised deviation from the training mean; the intercept as bias."""
        contributions = self._contributions(rows)
        return self._scores(contributions.sum(axis=1)), contributions


@dataclass(frozen=True)
class SoftmaxModel:
    """A multinomial logistic model over standardised features, as stored in `softmax-json`: one row of
    coefficients and one intercept per class, and the classes' labels."""

    features: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    classes: tuple[ClassLabel, ...]
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]
    task: str = "multiclass"

    def to_json(self) -> str:
        """The artifact text: a versioned JSON document, numbers and class labels only."""
        body = {"schema": _SOFTMAX_SCHEMA, **asdict(self)}
        return json.dumps(body, indent=2, allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: bytes, path: str) -> SoftmaxModel:
        """Parse and check an artifact; anything malformed is an error naming the file."""
        try:
            body = json.loads(raw)
            if body.get("schema") != _SOFTMAX_SCHEMA:
                raise ValueError("schema")
            model = cls(
                features=tuple(str(f) for f in body["features"]),
                center=tuple(float(v) for v in body["center"]),
                scale=tuple(float(v) for v in body["scale"]),
                classes=checked_classes(body["classes"], path),
                coef=tuple(tuple(float(v) for v in row) for row in body["coef"]),
                intercept=tuple(float(v) for v in body["intercept"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
            raise _refused(path, SOFTMAX_FORMAT) from None
        width = {len(model.features), len(model.center), len(model.scale), *(len(r) for r in model.coef)}
        per_class = {len(model.classes), len(model.coef), len(model.intercept)}
        if len(width) != 1 or len(per_class) != 1 or min(model.scale, default=1) <= 0:
            raise ZhongtaiError(
                "invalid_argument",
                f"{path}: one coefficient per feature and class, one intercept per class and positive "
                "scales are required",
            )
        _finite(path, *model.center, *model.scale, *model.intercept, *(v for r in model.coef for v in r))
        return model


@dataclass(frozen=True)
class SoftmaxPredictor:
    """A `SoftmaxModel` ready to serve: the arrays built once."""

    features: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    classes: tuple[ClassLabel, ...]
    coef: np.ndarray  # (classes, features)
    intercept: np.ndarray  # (classes,)
    task: str = "multiclass"

    @classmethod
    def of(cls, model: SoftmaxModel) -> SoftmaxPredictor:
        """Arrays from the stored model."""
        return cls(
            model.features,
            np.asarray(model.center, dtype=np.float64),
            np.asarray(model.scale, dtype=np.float64),
            model.classes,
            np.asarray(model.coef, dtype=np.float64),
            np.asarray(model.intercept, dtype=np.float64),
        )

    def _per_class(self, rows: np.ndarray) -> np.ndarray:
        standard = _standardised(rows, self.center, self.scale)
        terms = standard[:, None, :] * self.coef[None, :, :]
        bias = np.broadcast_to(self.intercept[None, :, None], (len(rows), len(self.classes), 1))
        return np.concatenate([terms, bias], axis=2)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (rows, classes)."""
        return _softmax(self._per_class(rows).sum(axis=2))

    def explain(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities, and the predicted class's terms: coefficient × standardised deviation."""
        per_class = self._per_class(rows)
        probabilities = _softmax(per_class.sum(axis=2))
        return probabilities, _predicted_class_terms(per_class, probabilities)


def checked_classes(raw: Any, path: str) -> tuple[ClassLabel, ...]:
    """Class labels as stored: at least two, distinct, all strings or all integers (never booleans)."""
    ok = isinstance(raw, list) and len(raw) >= 2 and len(set(raw)) == len(raw)
    kinds = {type(v) for v in raw} if isinstance(raw, list) else set()
    if not ok or kinds not in ({str}, {int}):
        raise ZhongtaiError(
            "invalid_argument",
            f"{path}: classes must be a list of at least two distinct strings or integers",
            "artifacts are written by `zhongtai train`; train the model again",
        )
    return tuple(raw)


def classes_json(classes: tuple[ClassLabel, ...]) -> bytes:
    """The `classes.json` sidecar of a LightGBM multiclass artifact: class labels by index."""
    body = {"schema": _CLASSES_SCHEMA, "classes": list(classes)}
    return json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8")


def save_linear(storage: LakeStorage, model_name: str, model: LinearModel) -> str:
    """Write a linear model as `<lake>/_models/<model>/<uuid>/model.json`; returns its path."""
    return save_text(storage, model_name, LINEAR_FILE, model.to_json())


def model_objective(text: str) -> str:
    """The objective a LightGBM model text was trained with (`multiclass`, `regression`...), '' if none."""
    for line in text.split("\n", 40)[:40]:
        if line.startswith("objective="):
            return line.removeprefix("objective=").split(" ", 1)[0]
    return ""


def _load_lightgbm(storage: LakeStorage, path: str) -> Predictor:
    booster = load_booster(storage, path)
    return LightGBMBinary(booster, tuple(booster.feature_name()))


def _checked_booster(storage: LakeStorage, path: str, objectives: tuple[str, ...]) -> lightgbm.Booster:
    import lightgbm

    text = read_model_text(storage, path)
    objective = model_objective(text)
    if objective not in objectives:
        raise ZhongtaiError(
            "invalid_argument",
            f"{path} was trained with objective {objective or '(none)'!r}, not {' or '.join(objectives)}",
            "artifacts are written by `zhongtai train`; train the model again",
        )
    return lightgbm.Booster(model_str=text)


def _load_regression(storage: LakeStorage, path: str) -> Predictor:
    booster = _checked_booster(storage, path, REGRESSION_OBJECTIVES)
    return LightGBMRegression(booster, tuple(booster.feature_name()))


def _load_multiclass(storage: LakeStorage, path: str) -> Predictor:
    booster = _checked_booster(storage, path, ("multiclass",))
    where = sibling(path, CLASSES_FILE)
    try:
        body = json.loads(read_artifact(storage, where))
        if not isinstance(body, dict) or body.get("schema") != _CLASSES_SCHEMA:
            raise ValueError("schema")
    except (ValueError, UnicodeDecodeError):
        raise _refused(where, "class list of a multiclass") from None
    classes = checked_classes(body.get("classes"), where)
    if booster.num_model_per_iteration() != len(classes):
        raise ZhongtaiError(
            "invalid_argument",
            f"{where} names {len(classes)} classes, the model predicts {booster.num_model_per_iteration()}",
            "train the model again",
        )
    return LightGBMMulticlass(booster, tuple(booster.feature_name()), classes)


def _load_linear(storage: LakeStorage, path: str) -> Predictor:
    return LinearPredictor.of(LinearModel.from_json(read_artifact(storage, path), path))


def _load_softmax(storage: LakeStorage, path: str) -> Predictor:
    return SoftmaxPredictor.of(SoftmaxModel.from_json(read_artifact(storage, path), path))


_LOADERS: dict[str, Callable[[LakeStorage, str], Predictor]] = {
    ARTIFACT_FORMAT: _load_lightgbm,
    MULTICLASS_FORMAT: _load_multiclass,
    REGRESSION_FORMAT: _load_regression,
    LINEAR_FORMAT: _load_linear,
    SOFTMAX_FORMAT: _load_softmax,
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
