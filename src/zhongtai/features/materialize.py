"""Materialize: make each entity's latest feature values from a view's newest build the view's online values.

"Latest" is judged against the build's own newest event time, not the wall clock: the offline history is a
snapshot of the lake as of its last ingest, so its max timestamp is the moment it describes. An entity whose
newest row is older than the view's TTL at that moment has no current value and is not written (serving then
falls back), exactly as a training set would give it NULL features at that moment.

The write is the online store's `replace`: readers keep getting the previous values until the new set is
complete, then the new set; a materialization that fails halfway leaves the previous values in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from zhongtai.errors import ZhongtaiError
from zhongtai.features.evolution import require_columns
from zhongtai.features.offline import load_view
from zhongtai.features.online.base import OnlineStore, entity_key
from zhongtai.features.windows import seed_from_lake
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import FeatureBuild
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.base import duration_seconds
from zhongtai.spec.models import FeatureViewSpec

Progress = Callable[[int], None]
BATCH_ROWS = 10_000


def materialize(
    store: MetadataStore,
    storage: LakeStorage,
    online: OnlineStore,
    name: str,
    on_progress: Progress | None = None,
) -> int:
    """Replace the view's online values with the latest in-TTL values of its newest build; returns the rows
    written. Entities that have dropped out of the TTL window disappear from the online store."""
    view, entity = load_view(store, name)
    if not view.online:
        raise ZhongtaiError(
            "invalid_argument", f"feature view '{name}' is offline only (online: false)", "set online: true"
        )
    build = store.features.require_build(name)
    require_columns(view, build, f"materialize '{name}'")
    written = publish_latest(storage, online, view, entity.join_keys, build, on_progress)
    if view.windows is not None and build.max_timestamp is not None:
        # The stream continues from the same events (features/windows.py).
        seed_from_lake(store, storage, online, view, datetime.fromisoformat(build.max_timestamp))
    store.features.mark_materialized(name, build.build)
    return written


def publish_latest(
    storage: LakeStorage,
    online: OnlineStore,
    view: FeatureViewSpec,
    join_keys: list[str],
    build: FeatureBuild,
    on_progress: Progress | None = None,
) -> int:
    """Atomically replace the view's online values with each entity's latest in-TTL row of `build`."""
    return online.replace(view.name, _latest_rows(storage, view, join_keys, build, on_progress))


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


def _latest_rows(
    storage: LakeStorage,
    view: FeatureViewSpec,
    join_keys: list[str],
    build: FeatureBuild,
    on_progress: Progress | None,
) -> Iterator[tuple[str, str]]:
    """(entity key, values as JSON text) streamed from DuckDB in batches; progress after each batch.

    DuckDB encodes the values (to_json: floats round-trip exactly, NaN as Python's json writes it), which
    costs a fraction of building a dict and json.dumps per row in Python.
    """
    if build.max_timestamp is None:
        return
    q = engine.quote
    values = ", ".join(f"'{f.name}': {q(f.name)}" for f in view.features)  # names are [a-z0-9_]
    query = (
        f"SELECT {', '.join(q(k) for k in join_keys)}, to_json({{{values}}}) AS __zt_values "
        f"FROM ({latest_query(view, join_keys, engine.scan(storage, build.files))})"
    )
    con = engine.connect(storage)
    try:
        now = datetime.fromisoformat(build.max_timestamp)
        for batch in con.sql(query, params={"now": now}).to_arrow_reader(BATCH_ROWS):
            columns = batch.to_pydict()
            encoded = columns.pop("__zt_values")
            if len(join_keys) == 1:
                yield from zip(map(str, columns[join_keys[0]]), encoded, strict=True)
            else:
                keys = zip(*(columns[k] for k in join_keys), strict=True)
                yield from zip(map(entity_key, keys), encoded, strict=True)
            if on_progress:
                on_progress(batch.num_rows)
    finally:
        con.close()
