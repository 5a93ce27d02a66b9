"""Point-in-time correct training sets: each label row gets the feature values that were known at its moment.

Rules, per label row and feature view: take the view's newest row of the same entity whose event time is at or
before the label's timestamp and strictly after `label timestamp - ttl`; if there is none, the features are
NULL. A label row is never dropped (an entity with no features at all still appears), and no value from after
the label's moment is ever used. On DuckDB the join is its ASOF LEFT JOIN, which sorts and merges rather than
holding a hash of the history in memory; engines without ASOF (Spark) run the same rules as a join on the keys
within the TTL window, ranked newest first (`window_query`).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.features import on_demand
from zhongtai.features import sql as view_sql
from zhongtai.features.evolution import require_columns
from zhongtai.features.selection import FeatureSelection, select_features
from zhongtai.lake.engine import quote as q
from zhongtai.lake.offline import OfflineEngine, engine_or_default
from zhongtai.lake.parts import PartWriter
from zhongtai.lake.storage import LakeStorage
from zhongtai.lake.views import register_datasets
from zhongtai.meta.records import FeatureBuild, TrainingSet
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.base import duration_seconds
from zhongtai.spec.models import EntitySpec, FeatureViewSpec, ModelSpec

ViewInput = tuple[FeatureViewSpec, FeatureBuild, list[str]]
WRITE_BATCH_ROWS = 100_000


def point_in_time_join(
    engine: OfflineEngine, labels: str, views: list[ViewInput], *, timestamp: str = "ts"
) -> pa.Table:
    """Join label rows with the feature values valid at each row's timestamp (see the module's rules).

    `labels` is SQL (DuckDB dialect, over tables on `engine`) whose columns include each view's join keys and
    `timestamp`; every label column is kept, followed by the views' features under their own names. Rows come
    out sorted by (timestamp, join keys, the other label columns) so the result does not depend on scan order.
    """
    label_columns = list(engine.columns(labels, "the label rows"))
    _check_names(views, label_columns)
    for i, (_, build, _) in enumerate(views):
        engine.register(f"__zt_history_{i}", build.files)
    shape = asof_query if engine.asof_join else window_query
    query = shape(labels, label_columns, views, timestamp)
    return engine.to_arrow(query, "point-in-time join failed")


def asof_query(labels: str, label_columns: list[str], views: list[ViewInput], timestamp: str) -> str:
    """The ASOF LEFT JOIN chain, one join per view, with values older than each view's TTL nulled out."""
    label_ts = f"l.{q(timestamp)}"
    selects = [f"l.{q(c)}" for c in label_columns]
    joins = []
    for i, (view, _, keys) in enumerate(views):
        alias, event = f"v{i}", f"__zt_ts_{i}"
        feature_list = ", ".join(q(f.name) for f in view.features)
        key_list = ", ".join(q(k) for k in keys)
        joins.append(
            f"ASOF LEFT JOIN (SELECT {key_list}, {q(view.timestamp)} AS {event}, {feature_list} "
            f"FROM __zt_history_{i}) AS {alias} ON "
            + " AND ".join(f"l.{q(k)} = {alias}.{q(k)}" for k in keys)
            + f" AND {label_ts} >= {alias}.{event}"
        )
        # ASOF finds the newest row at or before the label; the TTL bounds how old that row may be.
        fresh = f"{alias}.{event} > {label_ts} - to_seconds({duration_seconds(view.ttl)})"
        selects += [f"CASE WHEN {fresh} THEN {alias}.{q(f.name)} END AS {q(f.name)}" for f in view.features]
    return f"SELECT {', '.join(selects)} FROM ({labels}) AS l {' '.join(joins)} {_order(label_columns, views, timestamp)}"


def window_query(labels: str, label_columns: list[str], views: list[ViewInput], timestamp: str) -> str:
    """The same join for engines without ASOF: per distinct (join keys, label time), the history rows inside
    the TTL window ranked newest first; the first is joined back to every label row with that key and time."""
    ts = q(timestamp)
    ctes = [f"l AS ({labels})"]
    selects = [f"l.{q(c)}" for c in label_columns]
    joins = []
    for i, (view, _, keys) in enumerate(views):
        key_cols = [q(k) for k in keys]
        event = f"h.{q(view.timestamp)}"
        group = ", ".join(f"d.{k}" for k in [*key_cols, ts])
        ctes.append(
            f"m{i} AS (SELECT {group}, {', '.join(f'h.{q(f.name)}' for f in view.features)}, "
            f"row_number() OVER (PARTITION BY {group} ORDER BY {event} DESC) AS __zt_rank "
            f"FROM (SELECT DISTINCT {', '.join([*key_cols, ts])} FROM l) AS d JOIN __zt_history_{i} AS h ON "
            + " AND ".join(f"d.{k} = h.{k}" for k in key_cols)
            + f" AND {event} <= d.{ts} AND {event} > d.{ts} - INTERVAL {duration_seconds(view.ttl)} SECOND)"
        )
        joins.append(
            f"LEFT JOIN (SELECT * FROM m{i} WHERE __zt_rank = 1) AS v{i} ON "
            + " AND ".join(f"l.{k} = v{i}.{k}" for k in [*key_cols, ts])
        )
        selects += [f"v{i}.{q(f.name)} AS {q(f.name)}" for f in view.features]
    return (
        f"WITH {', '.join(ctes)} SELECT {', '.join(selects)} FROM l {' '.join(joins)} "
        f"{_order(label_columns, views, timestamp)}"
    )


def _order(label_columns: list[str], views: list[ViewInput], timestamp: str) -> str:
    keys = [k for _, _, ks in views for k in ks]
    order = [timestamp, *dict.fromkeys(keys), *(c for c in label_columns if c != timestamp and c not in keys)]
    return f"ORDER BY {', '.join(f'l.{q(c)}' for c in order)}"


def build_training_set(
    store: MetadataStore,
    storage: LakeStorage,
    model_name: str,
    *,
    engine: OfflineEngine | None = None,
    keep: tuple[str, ...] = (),
) -> tuple[TrainingSet, pa.Table]:
    """Join the model's labels with the latest build of each of its feature views; save and record the result.

    The table's columns are the entity's join keys, the label timestamp, the label, the label SQL's columns
    named in `keep` (a text model's text), then every feature. The join runs on `engine` (ZT_OFFLINE_ENGINE,
    opened by the caller), or in process on DuckDB without one.
    """
    model = ModelSpec.model_validate(store.spec("models", model_name))
    entity = EntitySpec.model_validate(store.spec("entities", model.entity))
    selection = select_features(store, model.feature_views, model.feature_groups)
    views = _model_views(store, model, selection)
    with engine_or_default(engine, storage) as offline:
        where = f"model '{model_name}' labels"
        label_inputs = register_datasets(offline, store, model.label.sql, where)
        labels = _labels_query(offline, model, entity, selection.request_fields, keep)
        table = point_in_time_join(
            offline, labels, [(v, b, entity.join_keys) for v, b in views], timestamp=model.label.timestamp
        )
    table = _with_on_demand(table, selection)
    set_id = uuid.uuid4().hex
    files = _save(storage, set_id, table)
    lineage = _lineage(model, entity, views, label_inputs, selection.names) | on_demand.lineage(selection)
    return store.features.add_training_set(set_id, model_name, table.num_rows, files, lineage), table


def _model_views(
    store: MetadataStore, model: ModelSpec, selection: FeatureSelection
) -> list[tuple[FeatureViewSpec, FeatureBuild]]:
    """The stored views to join, narrowed to the features needed, each with its newest build."""
    out = []
    for view in selection.stored_views:
        if view.entity != model.entity:
            raise ZhongtaiError(
                "invalid_spec",
                f"model '{model.name}': feature view '{view.name}' describes '{view.entity}', the model '{model.entity}'",
            )
        build = store.features.require_build(view.name)
        require_columns(view, build, f"model '{model.name}'")
        out.append((view, build))
    return out


def _with_on_demand(table: pa.Table, selection: FeatureSelection) -> pa.Table:
    """The joined rows with their on-demand features, computed in process on DuckDB whatever the offline
    engine: the same evaluator semantics serving is held to (on_demand.py), over rows already collected."""
    from zhongtai.lake.offline.duckdb import DuckDBEngine

    local = DuckDBEngine()
    try:
        return on_demand.add_to_training_set(
            local.con, table, selection.on_demand_views, selection.on_demand_names
        )
    finally:
        local.close()


def _labels_query(
    offline: OfflineEngine,
    model: ModelSpec,
    entity: EntitySpec,
    request: dict[str, str],
    keep: tuple[str, ...] = (),
) -> str:
    """The label SQL reduced to join keys, a UTC timestamp, the label and the request fields on-demand
    features read (typed as declared), checked for those columns."""
    where = f"model '{model.name}' labels"
    present = offline.columns(model.label.sql, where)
    required = [*entity.join_keys, model.label.timestamp, model.label.label, *request, *keep]
    lacking = view_sql.missing(required, present)
    if lacking:
        fields = (
            f", and the request fields of its on-demand features ({', '.join(request)})" if request else ""
        )
        fields += f", and the column(s) the model spec reads ({', '.join(keep)})" if keep else ""
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: the SQL's output lacks column(s) {', '.join(lacking)}",
            f"it must select the join keys ({', '.join(entity.join_keys)}), '{model.label.timestamp}' "
            f"and '{model.label.label}'{fields}",
        )
    ts = view_sql.timestamp_expr(model.label.timestamp, present[model.label.timestamp])
    columns = [*(q(k) for k in entity.join_keys), f"{ts} AS {q(model.label.timestamp)}", q(model.label.label)]
    columns += [
        f"CAST({q(name)} AS {on_demand.DUCKDB_TYPES[kind]}) AS {q(name)}" for name, kind in request.items()
    ]
    columns += [q(name) for name in keep if name not in request]
    return f"SELECT {', '.join(columns)} FROM ({model.label.sql}) AS label_output"


def _check_names(views: list[ViewInput], label_columns: list[str]) -> None:
    """Feature columns keep their names, so a name may appear once across the label and all views."""
    owner: dict[str, str] = {}
    for view, _, keys in views:
        lacking = [k for k in [*keys] if k not in label_columns]
        if lacking:
            raise ZhongtaiError(
                "invalid_argument",
                f"the label rows lack join key(s) {', '.join(lacking)} of view '{view.name}'",
            )
        for feature in view.features:
            if feature.name in label_columns:
                raise ZhongtaiError(
                    "invalid_spec",
                    f"feature '{feature.name}' of view '{view.name}' has the name of a label column",
                    "rename the feature or the label column",
                )
            if feature.name in owner:
                raise ZhongtaiError(
                    "invalid_spec",
                    f"feature '{feature.name}' is in both view '{owner[feature.name]}' and view '{view.name}'",
                    "rename one of them; training set columns keep the feature names",
                )
            owner[feature.name] = view.name


def _save(storage: LakeStorage, set_id: str, table: pa.Table) -> list[str]:
    """Write the training set as Parquet under staging, then publish it to `_training_sets/<id>/`."""
    staging = storage.staging(set_id)
    final = storage.path("_training_sets", set_id)
    try:
        writer = PartWriter(storage, f"{staging}/out", "part", f"training set {set_id}")
        for batch in table.to_batches(WRITE_BATCH_ROWS):
            writer.write(batch)
        if writer.rows == 0:
            writer.write_empty(table.schema)
        files = writer.close()
        storage.publish(f"{staging}/out", final)
    except BaseException:
        storage.remove(final)
        raise
    finally:
        storage.remove(staging)
    return [final + f[len(f"{staging}/out") :] for f in files]


def _lineage(
    model: ModelSpec,
    entity: EntitySpec,
    views: list[tuple[FeatureViewSpec, FeatureBuild]],
    label_inputs: dict[str, int],
    features: list[str],
) -> dict[str, Any]:
    # Where a view was built from an older version of a dataset the labels also read, the labels' (newer)
    # version is listed here; the view's exact inputs stay recorded on its build.
    datasets: dict[str, int] = {}
    for _, build in views:
        datasets.update(build.inputs)
    datasets.update(label_inputs)
    return {
        "feature_views": {view.name: build.build for view, build in views},
        "datasets": dict(sorted(datasets.items())),
        "label_sql_sha256": hashlib.sha256(model.label.sql.encode()).hexdigest(),
        "entity": entity.name,
        "join_keys": list(entity.join_keys),
        "timestamp": model.label.timestamp,
        "label": model.label.label,
        "features": features,
    }
