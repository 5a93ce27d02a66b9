"""Point-in-time correct training sets: each label row gets the feature values that were known at its moment.

Rules, per label row and feature view: take the view's newest row of the same entity whose event time is at or
before the label's timestamp and strictly after `label timestamp - ttl`; if there is none, the features are
NULL. A label row is never dropped (an entity with no features at all still appears), and no value from after
the label's moment is ever used. The join is DuckDB's ASOF LEFT JOIN, which sorts and merges rather than
holding a hash of the history in memory.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.features import on_demand
from zhongtai.features import sql as view_sql
from zhongtai.features.evolution import require_columns
from zhongtai.features.selection import FeatureSelection, select_features
from zhongtai.lake import engine
from zhongtai.lake.parts import PartWriter
from zhongtai.lake.storage import LakeStorage
from zhongtai.lake.views import open_datasets
from zhongtai.meta.records import FeatureBuild, TrainingSet
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import EntitySpec, FeatureViewSpec, ModelSpec, duration_seconds

if TYPE_CHECKING:
    import duckdb

ViewInput = tuple[FeatureViewSpec, FeatureBuild, list[str]]
WRITE_BATCH_ROWS = 100_000


def point_in_time_join(
    con: duckdb.DuckDBPyConnection,
    labels: str | duckdb.DuckDBPyRelation,
    views: list[ViewInput],
    *,
    timestamp: str = "ts",
    storage: LakeStorage | None = None,
) -> pa.Table:
    """Join label rows with the feature values valid at each row's timestamp (see the module's rules).

    `labels` is SQL or a relation whose columns include each view's join keys and `timestamp`; every label
    column is kept, followed by the views' features under their own names. Rows come out sorted by
    (timestamp, join keys, the other label columns) so the result does not depend on scan order.
    """
    import duckdb

    # A relation over a Python object keeps that object registered only while the relation lives, so the
    # caller's relation is held here until the query has run.
    relation = labels
    labels_sql = labels if isinstance(labels, str) else labels.sql_query()
    label_columns = list(con.sql(f"SELECT * FROM ({labels_sql}) LIMIT 0").columns)
    _check_names(views, label_columns)
    try:
        table = con.sql(pit_query(labels_sql, label_columns, views, timestamp, storage)).to_arrow_table()
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise ZhongtaiError("invalid_argument", f"point-in-time join failed: {message}") from None
    del relation
    return table


def pit_query(
    labels: str,
    label_columns: list[str],
    views: list[ViewInput],
    timestamp: str,
    storage: LakeStorage | None,
) -> str:
    """The ASOF LEFT JOIN chain, one join per view, with values older than each view's TTL nulled out."""
    q = engine.quote
    label_ts = f"l.{q(timestamp)}"
    selects = [f"l.{q(c)}" for c in label_columns]
    joins = []
    for i, (view, build, keys) in enumerate(views):
        alias, event = f"v{i}", f"__zt_ts_{i}"
        files = engine.scan(storage, build.files) if storage else _scan(build.files)
        feature_list = ", ".join(q(f.name) for f in view.features)
        key_list = ", ".join(q(k) for k in keys)
        joins.append(
            f"ASOF LEFT JOIN (SELECT {key_list}, {q(view.timestamp)} AS {event}, {feature_list} FROM {files}) "
            f"AS {alias} ON "
            + " AND ".join(f"l.{q(k)} = {alias}.{q(k)}" for k in keys)
            + f" AND {label_ts} >= {alias}.{event}"
        )
        # ASOF finds the newest row at or before the label; the TTL bounds how old that row may be.
        fresh = f"{alias}.{event} > {label_ts} - to_seconds({duration_seconds(view.ttl)})"
        selects += [f"CASE WHEN {fresh} THEN {alias}.{q(f.name)} END AS {q(f.name)}" for f in view.features]
    keys = [k for _, _, ks in views for k in ks]
    order = [timestamp, *dict.fromkeys(keys), *(c for c in label_columns if c != timestamp and c not in keys)]
    return (
        f"SELECT {', '.join(selects)} FROM ({labels}) AS l {' '.join(joins)} "
        f"ORDER BY {', '.join(f'l.{q(c)}' for c in order)}"
    )


def build_training_set(
    store: MetadataStore, storage: LakeStorage, model_name: str
) -> tuple[TrainingSet, pa.Table]:
    """Join the model's labels with the latest build of each of its feature views; save and record the result.

    The table's columns are the entity's join keys, the label timestamp, the label, then every feature.
    """
    model = ModelSpec.model_validate(store.spec("models", model_name))
    entity = EntitySpec.model_validate(store.spec("entities", model.entity))
    selection = select_features(store, model.feature_views, model.feature_groups)
    views = _model_views(store, model, selection)
    con = engine.connect(storage)
    try:
        label_inputs = open_datasets(con, store, storage, model.label.sql, f"model '{model_name}' labels")
        labels = _labels_query(con, model, entity, selection.request_fields)
        table = point_in_time_join(
            con,
            labels,
            [(v, b, entity.join_keys) for v, b in views],
            timestamp=model.label.timestamp,
            storage=storage,
        )
        table = on_demand.add_to_training_set(
            con, table, selection.on_demand_views, selection.on_demand_names
        )
    finally:
        con.close()
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


def _labels_query(
    con: duckdb.DuckDBPyConnection, model: ModelSpec, entity: EntitySpec, request: dict[str, str]
) -> str:
    """The label SQL reduced to join keys, a UTC timestamp, the label and the request fields on-demand
    features read (typed as declared), checked for those columns."""
    where = f"model '{model.name}' labels"
    present = view_sql.output_columns(con, model.label.sql, where)
    required = [*entity.join_keys, model.label.timestamp, model.label.label, *request]
    lacking = view_sql.missing(required, present)
    if lacking:
        fields = (
            f", and the request fields of its on-demand features ({', '.join(request)})" if request else ""
        )
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: the SQL's output lacks column(s) {', '.join(lacking)}",
            f"it must select the join keys ({', '.join(entity.join_keys)}), '{model.label.timestamp}' "
            f"and '{model.label.label}'{fields}",
        )
    q = engine.quote
    ts = view_sql.timestamp_expr(model.label.timestamp, present[model.label.timestamp])
    columns = [*(q(k) for k in entity.join_keys), f"{ts} AS {q(model.label.timestamp)}", q(model.label.label)]
    columns += [
        f"CAST({q(name)} AS {on_demand.DUCKDB_TYPES[kind]}) AS {q(name)}" for name, kind in request.items()
    ]
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


def _scan(files: list[str]) -> str:
    paths = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{paths}], union_by_name=true)"
