"""A recommender's artifact: the ranker as LightGBM text, the candidate tables, items and each person's history
as npz (loaded with allow_pickle=False: arrays of numbers and fixed-width strings only), settings as JSON.

Files: `ranker.txt` (the main file the version records), `candidates.npz`, `items.npz`, `history.npz`,
`recommend.json`. Nothing here executes code on load.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.models.artifacts import read_artifact, read_model_text, sibling
from zhongtai.models.recommend_core import CandidateModel, CandidateSettings, History
from zhongtai.models.recommend_rank import ItemTable

if TYPE_CHECKING:
    import lightgbm

    from zhongtai.lake.storage import LakeStorage

ARTIFACT_FORMAT = "recommender"
MAIN = "ranker.txt"


@dataclass
class Recommender:
    """Everything serving needs, in memory."""

    booster: lightgbm.Booster
    candidates: CandidateModel
    item_keys: np.ndarray  # (items,) str
    items: ItemTable
    titles: list[str] | None
    user_keys: np.ndarray  # (users,) str, sorted
    history_indptr: np.ndarray
    history_items: np.ndarray
    history_counts: np.ndarray
    history_last: np.ndarray
    settings: CandidateSettings
    features: list[str]
    person_features: list[str]  # `view.feature`, in the ranker's order
    trained_until: float  # the newest interaction's time (seconds)
    recent_items: str | None = None  # `view.feature` of the person's recent item keys, read online

    def history(self, user: str) -> History:
        """A person's history as of training (empty for a person the model never saw)."""
        at = int(np.searchsorted(self.user_keys, user))
        if at >= len(self.user_keys) or self.user_keys[at] != user:
            return History.empty()
        start, end = self.history_indptr[at], self.history_indptr[at + 1]
        return History(
            self.history_items[start:end], self.history_counts[start:end], self.history_last[start:end]
        )

    def files(self) -> dict[str, bytes]:
        """The artifact's files by name."""
        meta = {
            "settings": asdict(self.settings),
            "features": self.features,
            "person_features": self.person_features,
            "attribute_names": list(self.items.attribute_names),
            "titles": self.titles,
            "trained_until": self.trained_until,
            "recent_items": self.recent_items,
        }
        items = {"item_keys": self.item_keys, "attributes": self.items.attributes}
        if self.items.categories is not None:
            items["categories"] = self.items.categories
        return {
            MAIN: self.booster.model_to_string().encode("utf-8"),
            "candidates.npz": _npz(self.candidates.arrays()),
            "items.npz": _npz(items),
            "history.npz": _npz(
                {
                    "user_keys": self.user_keys,
                    "indptr": self.history_indptr,
                    "items": self.history_items,
                    "counts": self.history_counts,
                    "last_seen": self.history_last,
                }
            ),
            "recommend.json": json.dumps(meta, ensure_ascii=False).encode("utf-8"),
        }

    @classmethod
    def load(cls, storage: LakeStorage, path: str) -> Recommender:
        """Read the artifact whose main file is `path`."""
        import lightgbm

        booster = lightgbm.Booster(model_str=read_model_text(storage, path))
        meta = json.loads(read_artifact(storage, sibling(path, "recommend.json")))
        candidates = _load_npz(storage, sibling(path, "candidates.npz"))
        items = _load_npz(storage, sibling(path, "items.npz"))
        history = _load_npz(storage, sibling(path, "history.npz"))
        return cls(
            booster=booster,
            candidates=CandidateModel.from_arrays(candidates),
            item_keys=items["item_keys"],
            items=ItemTable(items.get("categories"), items["attributes"], tuple(meta["attribute_names"])),
            titles=meta["titles"],
            user_keys=history["user_keys"],
            history_indptr=history["indptr"],
            history_items=history["items"],
            history_counts=history["counts"],
            history_last=history["last_seen"],
            settings=CandidateSettings(**meta["settings"]),
            features=meta["features"],
            person_features=meta["person_features"],
            trained_until=float(meta["trained_until"]),
            recent_items=meta.get("recent_items"),
        )


def history_arrays(
    user_keys: np.ndarray, histories: dict[int, History]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every person's history in one CSR layout, persons sorted by key: (keys, indptr, items, counts, last)."""
    order = np.argsort(user_keys, kind="stable")
    keys = user_keys[order]
    parts = [histories.get(int(user), History.empty()) for user in order]
    lengths = np.array([len(h.items) for h in parts], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    def joined(name: str, dtype: Any) -> np.ndarray:
        chunks = [getattr(h, name) for h in parts]
        return np.concatenate(chunks).astype(dtype) if chunks else np.zeros(0, dtype)

    return (
        keys,
        indptr,
        joined("items", np.int64),
        joined("counts", np.float64),
        joined("last_seen", np.float64),
    )


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    out = io.BytesIO()
    np.savez_compressed(out, allow_pickle=False, **arrays)
    return out.getvalue()


def _load_npz(storage: LakeStorage, path: str) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(read_artifact(storage, path)), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}
