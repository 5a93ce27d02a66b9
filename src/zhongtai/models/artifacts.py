"""Model artifacts in the lake: LightGBM's own text format, never pickle.

A pickle runs code when it is loaded, so an artifact someone could write would be a way into every process
that serves it. LightGBM's model text is data only (trees, thresholds, parameters), readable by people and
loadable by any LightGBM, and it lives in the lake storage so object storage works as well as local disk.
"""

from __future__ import annotations

import posixpath
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.storage import LakeStorage

if TYPE_CHECKING:
    import lightgbm
    import numpy as np

ARTIFACT_FORMAT = "lightgbm-text"
ARTIFACT_FILE = "model.txt"
MODELS_DIR = "_models"


def save_booster(storage: LakeStorage, model: str, booster: lightgbm.Booster, num_iteration: int = -1) -> str:
    """Write the booster's model text to `<lake>/_models/<model>/<uuid>/model.txt`; returns its path.

    The file is written under staging and published as a whole, so no reader ever sees half a model.
    """
    text = booster.model_to_string(num_iteration=num_iteration)
    run = uuid.uuid4().hex
    staging = storage.staging(run)
    storage.makedirs(staging)
    try:
        with storage.fs.open(posixpath.join(staging, ARTIFACT_FILE), "w", encoding="utf-8") as out:
            out.write(text)
        final = storage.path(MODELS_DIR, model, run)
        storage.publish(staging, final)
    except BaseException:
        storage.remove(staging)
        raise
    return storage.display(posixpath.join(final, ARTIFACT_FILE))


def read_model_text(storage: LakeStorage, path: str) -> str:
    """The artifact's text; a missing or foreign file is a clear error rather than a LightGBM parse failure."""
    try:
        with storage.fs.open(path, "rb") as source:
            raw = source.read()
    except FileNotFoundError:
        raise ZhongtaiError(
            "not_found", f"model artifact {path} is missing", "train the model again"
        ) from None
    # Model text opens with its "tree" header; anything else (a pickle, say) is refused before parsing.
    if not raw.startswith(b"tree\n"):
        raise ZhongtaiError(
            "invalid_argument",
            f"{path} is not LightGBM model text",
            "artifacts are written by `zhongtai train`; other formats are refused",
        )
    return raw.decode("utf-8")


def load_booster(storage: LakeStorage, path: str) -> lightgbm.Booster:
    """The booster saved at `path` (model text only; a file that is not model text fails to load)."""
    import lightgbm

    return lightgbm.Booster(model_str=read_model_text(storage, path))


@dataclass(frozen=True)
class ServingModel:
    """A booster ready for the hot path: every predict runs on one thread.

    LightGBM spreads a predict over all cores by default; for one row that costs thread start-up on every
    call (milliseconds on a busy machine instead of tens of microseconds). LightGBM 4 ignores parameters
    passed with a model string and takes `num_threads` per predict call only, hence this wrapper.
    """

    booster: lightgbm.Booster
    features: tuple[str, ...]

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities of the positive class, one per row (rows: 2-D float array, NaN = missing)."""
        return self.booster.predict(rows, num_threads=1)

    def contributions(self, rows: np.ndarray) -> np.ndarray:
        """Tree SHAP contributions per feature plus the bias in the last column (raw score space)."""
        return self.booster.predict(rows, pred_contrib=True, num_threads=1)


def load_serving_model(storage: LakeStorage, path: str) -> ServingModel:
    """Load for serving: the booster plus its feature order, predicting on a single thread."""
    booster = load_booster(storage, path)
    return ServingModel(booster, tuple(booster.feature_name()))
