"""Building a feature view's offline history: run its SQL over the lake and keep the result as Parquet.

A build is written under `_staging/<id>` and published to `<lake>/_features/<view>/<id>/` in one move, then
recorded in the metadata store; a failure at any point leaves no files and no record behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from zhongtai.errors import ZhongtaiError
from zhongtai.features import sql as view_sql
from zhongtai.lake.engine import quote as q
from zhongtai.lake.offline import OfflineEngine, engine_or_default
from zhongtai.lake.schema import columns_of
from zhongtai.lake.storage import LakeStorage
from zhongtai.lake.views import register_datasets
from zhongtai.meta.records import FeatureBuild
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import EntitySpec, FeatureViewSpec

Progress = Callable[[int], None]
DUCKDB_TYPES = {"int64": "BIGINT", "float64": "DOUBLE", "bool": "BOOLEAN", "string": "VARCHAR"}


def load_view(store: MetadataStore, name: str) -> tuple[FeatureViewSpec, EntitySpec]:
    """A registered feature view and the entity it describes."""
    view = FeatureViewSpec.model_validate(store.spec("feature_views", name))
    entity = EntitySpec.model_validate(store.spec("entities", view.entity))
    return view, entity


def build_view(
    store: MetadataStore,
    storage: LakeStorage,
    name: str,
    on_progress: Progress | None = None,
    *,
    engine: OfflineEngine | None = None,
) -> FeatureBuild:
    """Compute the view's history over the current dataset versions and record it as its newest build.

    It runs on `engine` (ZT_OFFLINE_ENGINE, opened by the caller), or in process on DuckDB without one."""
    view, entity = load_view(store, name)
    build_id = uuid.uuid4().hex
    staging = storage.staging(build_id)
    final = storage.path("_features", name, build_id)
    where = f"feature view '{name}'"
    try:
        with engine_or_default(engine, storage) as offline:
            inputs = register_datasets(offline, store, view.sql, where)
            query = conformed_query(offline, view, entity)
            files, rows = offline.write_parquet(query, f"{staging}/out", where, on_progress)
            offline.register("__zt_build", files)
            built = offline.to_arrow("SELECT * FROM __zt_build LIMIT 0").schema
            max_ts = offline.to_arrow(f"SELECT max({q(view.timestamp)}) AS m FROM __zt_build")["m"][0].as_py()
        storage.publish(f"{staging}/out", final)
        published = [final + f[len(f"{staging}/out") :] for f in files]
        return store.features.add_build(
            name,
            rows,
            published,
            columns_of(built),
            inputs,
            max_ts.isoformat() if max_ts is not None else None,
        )
    except BaseException:
        storage.remove(final)
        raise
    finally:
        storage.remove(staging)


def conformed_query(offline: OfflineEngine, view: FeatureViewSpec, entity: EntitySpec) -> str:
    """The view's SQL with its output checked against the spec and every column cast to its declared type.

    Rows without an event time or with a missing join key cannot be placed in time or served, so they are
    left out of the history.
    """
    where = f"feature view '{view.name}'"
    present = offline.columns(view.sql, where)
    declared = [f.name for f in view.features]
    required = [*entity.join_keys, view.timestamp, *declared]
    lacking = view_sql.missing(required, present)
    if lacking:
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: the SQL's output lacks column(s) {', '.join(lacking)}",
            f"it must select the join keys ({', '.join(entity.join_keys)}), the timestamp "
            f"'{view.timestamp}' and every declared feature",
        )
    extra = [c for c in present if c not in required]
    if extra:
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: the SQL outputs undeclared column(s) {', '.join(extra)}",
            "declare them under features, or drop them from the SELECT",
        )
    try:
        ts = view_sql.timestamp_expr(view.timestamp, present[view.timestamp])
    except ZhongtaiError as exc:
        raise ZhongtaiError("invalid_spec", f"{where}: {exc.message}", exc.hint) from None
    columns = [q(k) for k in entity.join_keys]
    columns.append(f"{ts} AS {q(view.timestamp)}")
    columns += [f"CAST({q(f.name)} AS {DUCKDB_TYPES[f.type]}) AS {q(f.name)}" for f in view.features]
    not_null = " AND ".join(f"{q(c)} IS NOT NULL" for c in [*entity.join_keys, view.timestamp])
    return f"SELECT {', '.join(columns)} FROM ({view.sql}) AS view_output WHERE {not_null}"
