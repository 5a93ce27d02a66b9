"""What every command needs: the resolved settings, the metadata store and the lake, opened once, lazily."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from zhongtai.config import Settings

if (
    TYPE_CHECKING
):  # the stores pull in SQLAlchemy, pyarrow and fsspec: only load them when a command needs them
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def store() -> MetadataStore:
    from zhongtai.meta.store import MetadataStore

    return MetadataStore(settings().metadata_url)


@cache
def lake() -> LakeStorage:
    from zhongtai.lake.storage import LakeStorage

    return LakeStorage(settings().lake_url)


def reset() -> None:
    """Forget opened stores (tests run several commands with different ZT_HOMEs in one process)."""
    if store.cache_info().currsize:
        store().close()
    for cached in (settings, store, lake):
        cached.cache_clear()
