"""A model version's reference profile in the lake and the registry: written beside the artifact when the
version is trained, recorded in the transaction that registers it, read back by the drift check."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.meta.drift import profile_recorder
from zhongtai.models.artifacts import read_artifact, sibling
from zhongtai.monitor.profile import PROFILE_FILE, Profile, build_profile

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore


def training_profile(features: list[str], matrices: list[np.ndarray], scores: np.ndarray) -> Profile:
    """The profile of a tabular training set (its feature matrices, training and validation rows, one column
    per feature) and of the model's validation scores (scores on rows it learnt from would be too sure)."""
    stacked = np.concatenate(matrices, axis=0)
    return build_profile({name: stacked[:, i] for i, name in enumerate(features)}, scores)


def with_profile(
    profile: Profile, model: str, artifact: str, then: Callable[[Session, int], None] | None = None
) -> Callable[[Session, int], None]:
    """A `within` for `store.models.register`: `then` (the run's completion, say), plus the profile's registry
    row, in the transaction that registers the version. The profile must be saved as `profile.json` beside
    `artifact` (one `save_files` with the model's files)."""
    rows = max((c.rows for c in profile.columns.values()), default=0)
    record = profile_recorder(model, sibling(artifact, PROFILE_FILE), rows, list(profile.columns))

    def both(session: Session, version: int) -> None:
        if then is not None:
            then(session, version)
        record(session, version)

    return both


def load_profile(store: MetadataStore, storage: LakeStorage, model: str, version: int) -> Profile:
    """The version's reference profile; a version trained before profiles were saved is a clear error."""
    entry = store.drift.profile(model, version)
    if entry is None:
        raise ZhongtaiError(
            ErrorCode.NOT_FOUND,
            f"model '{model}' v{version} has no reference profile: it was trained before profiles were saved "
            "(or by a task that has none)",
            f"train it again (`zhongtai train {model}`) to compare its decisions with its training data",
        )
    return Profile.from_json(read_artifact(storage, entry.location), entry.location)
