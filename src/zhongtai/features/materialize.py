"""Materialize: copy each entity's latest feature values from a view's newest build into the online store.

"Latest" is judged against the build's own newest event time, not the wall clock: the offline history is a
snapshot of the lake as of its last ingest, so its max timestamp is the moment it describes. An entity whose
newest row is older than the view's TTL at that moment has no current value and is not written (serving then
falls back), exactly as a training set would give it NULL features at that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from zhongtai.errors import ZhongtaiError
from zhongtai.features.evolution import require_columns
from zhongtai.features.offline import load_view
from zhongtai.features.online.base import OnlineStore, entity_key
from zhongtai.features.windows import seed_from_lake
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import FeatureViewSpec, duration_seconds

Progress = Callable[[int], None]
BATCH_ROWS = 10_000


def materialize(
    store: MetadataStore,
    storage: LakeStorage,
    online: OnlineStore,
    name: str,
    on_progress: Progress | None = None,
    *,
    replace: bool = False,
) -> int:
    """Write the latest in-TTL values of every entity of the view's newest build; returns the rows written.

    With `replace`, the view's online values are cleared first, so entities that have dropped out of the TTL
    window disappear too (serving sees no values for the view while the write runs).
    """
    view, entity = load_view(store, name)
    if not view.online:
        raise ZhongtaiError(
            "invalid_argument", f"feature view '{name}' is offline only (online: false)", "set online: true"
        )
    build = store.features.require_build(name)
    require_columns(view, build, f"materialize '{name}'")
    if replace:
        online.clear(name)
    written = 0
    if build.max_timestamp is not None:
        query = latest_query(view, entity.join_keys, engine.scan(storage, build.files))
        con = engine.connect(storage)
        try:
            now = datetime.fromisoformat(build.max_timestamp)
            reader = con.sql(query, params={"now": now}).to_arrow_reader(BATCH_ROWS)
            for batch in reader:
                written += online.write(name, _rows(batch.to_pylist(), entity.join_keys, view))
                if on_progress:
                    on_progress(batch.num_rows)
        finally:
            con.close()
        if view.windows is not None:  # the stream continues from the same events (features/windows.py)
            seed_from_lake(store, storage, online, view, datetime.fromisoformat(build.max_timestamp))
    store.features.mark_materialized(name, build.build)
    return written


def latest_query(view: FeatureViewSpec, join_keys: list[str], scan: str) -> str:
    """Each entity's newest row with an event time within the TTL of `$now`."""
    q = engine.quote
    ts = q(view.timestamp)
    columns = ", ".join(q(c) for c in [*join_keys, *(f.name for f in view.features)])
    keys = ", ".join(q(k) for k in join_keys)
    return (
        f"SELECT {columns} FROM {scan} "
        f"WHERE {ts} > $now::TIMESTAMP - to_seconds({duration_seconds(view.ttl)}) "
        f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {ts} DESC) = 1"
    )


def _rows(
    rows: list[dict[str, Any]], join_keys: list[str], view: FeatureViewSpec
) -> Iterator[tuple[str, dict[str, Any]]]:
    names = [f.name for f in view.features]
    for row in rows:
        yield entity_key([row[k] for k in join_keys]), {n: row[n] for n in names}
