"""What every command needs: the resolved settings, the metadata store and the lake, opened once, lazily."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from zhongtai.config import Settings

if (
    TYPE_CHECKING
):  # the stores pull in SQLAlchemy, pyarrow and fsspec: only load them when a command needs them
    from zhongtai.lake.offline import ResolutionEngine
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def store() -> MetadataStore:
    from zhongtai.meta.store import MetadataStore

    return MetadataStore.from_settings(settings())


@cache
def lake() -> LakeStorage:
    from zhongtai.lake.storage import LakeStorage

    return LakeStorage(settings().lake_url)


@cache
def offline_engine() -> ResolutionEngine:
    """The engine ZT_OFFLINE_ENGINE names (DuckDB in process, or Spark), for feature builds, training sets, OneID."""
    from zhongtai.lake.offline import open_offline_engine

    return open_offline_engine(settings().offline_engine, lake())


def reset() -> None:
    """Forget opened stores and the governed commands' backend (tests run several commands with different
    ZT_HOMEs, or ZT_URLs, in one process)."""
    from zhongtai.cli import governed

    governed.reset()
    if store.cache_info().currsize:
        store().close()
    if offline_engine.cache_info().currsize:
        offline_engine().close()
    for cached in (settings, store, lake, offline_engine):
        cached.cache_clear()
