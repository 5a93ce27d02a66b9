"""The offline engine: where feature builds, training sets and OneID run (DuckDB in process, or Spark)."""

from zhongtai.lake.offline.base import (
    OfflineEngine,
    ResolutionEngine,
    engine_or_default,
    open_offline_engine,
)

__all__ = ["OfflineEngine", "ResolutionEngine", "engine_or_default", "open_offline_engine"]
