"""Purging a retired dataset: its history in the metadata store, then its folders in the lake, for good.

The metadata goes first, in one transaction (meta/retirement.py), and only then the files: a failure in
between leaves files no version lists (reported, safe to remove by hand), never a version whose files are
gone. A dataset pulled from a source keeps every file under `<lake>/<name>/` and its quarantined rows under
`_quarantine/<name>/`; a dataset OneID produced lists files in its identity's run folders, which belong to
the identity's runs and stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore


@dataclass(frozen=True)
class PurgeResult:
    """What a purge removed, and any folder it could not remove."""

    dataset: str
    versions: int
    ingest_runs: int
    quality_runs: int
    folders_removed: list[str] = field(default_factory=list)
    folders_left: list[str] = field(default_factory=list)  # could not be removed: safe to delete by hand

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def purge_dataset(store: MetadataStore, storage: LakeStorage, name: str, actor: str = "cli") -> PurgeResult:
    """Delete a retired dataset's versions, fields, runs and lake files; a live dataset is refused."""
    purged = store.retired.purge(name, actor)
    removed, left = [], []
    for folder in (storage.path(name), storage.path("_quarantine", name)):
        try:
            if storage.fs.exists(folder):
                storage.remove(folder)
                removed.append(storage.display(folder))
        except OSError:
            left.append(storage.display(folder))
    return PurgeResult(
        dataset=name,
        versions=purged.versions,
        ingest_runs=purged.ingest_runs,
        quality_runs=purged.quality_runs,
        folders_removed=removed,
        folders_left=left,
    )
