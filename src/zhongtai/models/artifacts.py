"""Model artifacts in the lake: data-only text formats (LightGBM model text, JSON), never pickle.

A pickle runs code when it is loaded, so an artifact someone could write would be a way into every process
that serves it. LightGBM's model text is data only (trees, thresholds, parameters), readable by people and
loadable by any LightGBM; linear models are JSON. Both live in the lake storage so object storage works as
well as local disk. Loading them for serving is `models/predictor.py`'s job.
"""

from __future__ import annotations

import posixpath
import uuid
from typing import TYPE_CHECKING

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.storage import LakeStorage

if TYPE_CHECKING:
    import lightgbm

ARTIFACT_FORMAT = "lightgbm-text"
ARTIFACT_FILE = "model.txt"
MODELS_DIR = "_models"


def save_booster(storage: LakeStorage, model: str, booster: lightgbm.Booster, num_iteration: int = -1) -> str:
    """Write the booster's model text to `<lake>/_models/<model>/<uuid>/model.txt`; returns its path."""
    return save_text(storage, model, ARTIFACT_FILE, booster.model_to_string(num_iteration=num_iteration))


def save_text(storage: LakeStorage, model: str, filename: str, text: str) -> str:
    """Write one text artifact to `<lake>/_models/<model>/<uuid>/<filename>`; returns its path.

    The file is written under staging and published as a whole, so no reader ever sees half a model.
    """
    return save_files(storage, model, {filename: text.encode("utf-8")}, filename)


def save_files(storage: LakeStorage, model: str, files: dict[str, bytes], main: str) -> str:
    """Write an artifact of several files (a ranker and its candidate table, say) to one new folder
    `<lake>/_models/<model>/<uuid>/`, published as a whole; returns the path of the `main` file, which the
    version records (the loader finds the others beside it)."""
    if main not in files or any("/" in name or name.startswith(".") for name in files):
        raise ValueError(f"artifact files {sorted(files)} must be plain names and include {main!r}")
    run = uuid.uuid4().hex
    staging = storage.staging(run)
    storage.makedirs(staging)
    try:
        for name, body in files.items():
            with storage.fs.open(posixpath.join(staging, name), "wb") as out:
                out.write(body)
        final = storage.path(MODELS_DIR, model, run)
        storage.publish(staging, final)
    except BaseException:
        storage.remove(staging)
        raise
    return storage.display(posixpath.join(final, main))


def sibling(path: str, filename: str) -> str:
    """The path of another file of the artifact whose main file is `path`."""
    return posixpath.join(posixpath.dirname(path), filename)


def read_artifact(storage: LakeStorage, path: str) -> bytes:
    """An artifact's bytes; a missing file is a clear error naming it."""
    try:
        with storage.fs.open(path, "rb") as source:
            return bytes(source.read())
    except FileNotFoundError:
        raise ZhongtaiError(
            "not_found", f"model artifact {path} is missing", "train the model again"
        ) from None


def read_model_text(storage: LakeStorage, path: str) -> str:
    """The artifact's text; a missing or foreign file is a clear error rather than a LightGBM parse failure."""
    raw = read_artifact(storage, path)
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
