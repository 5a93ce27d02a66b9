"""Batch scoring: a capability's model and rules over every entity's latest offline feature values.

`score` and `decision` follow the task as decide() answers them (runtime.Answers): a binary model's
probability and score band, a multiclass model's most probable class and its probability, a regression
model's predicted value and value band.

A capability called with a source system's key (`input_dataset`) is scored per person and answered per key
of that dataset, through OneID's crosswalk: every CRM record of a person gets the person's score, keyed and
typed as the CRM's own customer_id, so write-back lands on the rows the CRM shows.

`score_batch` is the entry point for every task: every entity (tabular and forecast capabilities), or the
rows of a dataset or a query (capabilities/batch_input.py), scored by the task's own runtime core
(capabilities/batch_tasks.py for text, forecast and recommendation). The answer is a table of the write-back
key columns, `score`, `decision` and the task's columns, one row per key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.capabilities.batch_input import BatchRows, require_columns, require_unique
from zhongtai.errors import ZhongtaiError
from zhongtai.features.keys import capability_lookup, crosswalk_query
from zhongtai.features.materialize import latest_query
from zhongtai.features.on_demand import add_to_training_set
from zhongtai.features.online.base import OnlineStore
from zhongtai.features.selection import select_features
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import ModelVersion
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.identity import IdentitySpec
from zhongtai.spec.models import TABULAR_TASKS, CapabilitySpec, EntitySpec, ModelSpec

# Called with (rows done, rows in all) as a batch moves on.
BatchProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class BatchScores:
    """Scores and decisions for every entity, with the model version that gave them."""

    capability: CapabilitySpec
    join_keys: list[str]  # the table's key: one row per key
    model: ModelVersion
    table: pa.Table  # join keys..., score, decision, the task's columns
    # A recommendation's persons scored (their key columns, one row each, answered or not): each one's rows
    # are replaced as a whole, so a shorter answer removes the ranks it no longer has.
    groups: pa.Table | None = None

    def counts(self, column: str) -> dict[str, int]:
        """Rows per value of a column (the decisions, a text capability's routes), most first."""
        if column not in self.table.column_names:
            return {}
        found: dict[str, int] = {}
        for value in self.table.column(column).to_pylist():
            found[str(value)] = found.get(str(value), 0) + 1
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))


def score_batch(
    store: MetadataStore,
    storage: LakeStorage,
    capability: str,
    rows: BatchRows | None = None,
    *,
    online: OnlineStore | None = None,
    on_progress: BatchProgress | None = None,
) -> BatchScores:
    """Score `rows` (every entity when None) with the capability's serving version, by its model's task.
    The runtimes of text, forecast and recommendation capabilities are built over `online`; text and
    recommendation capabilities read the person's features there, and need rows."""
    from zhongtai.capabilities import batch_tasks

    spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
    task = ModelSpec.model_validate(store.spec("models", spec.model)).task
    if task in TABULAR_TASKS:
        every = score_all(store, storage, capability)
        if rows is None and write_keys(spec, every.join_keys) != every.join_keys:
            raise ZhongtaiError(
                "invalid_argument",
                f"capability '{capability}' writes back by {', '.join(write_keys(spec, every.join_keys))}, "
                f"and every entity is keyed by {', '.join(every.join_keys)}",
                'choose rows carrying those columns with --dataset NAME or --query "SELECT ..."',
            )
        scores = every if rows is None else _for_rows(every, rows)
        if on_progress:
            on_progress(scores.table.num_rows, scores.table.num_rows)
        return scores
    if online is None:
        raise ZhongtaiError("invalid_argument", f"capability '{capability}' ({task}) needs the online store")
    if task == "forecast":
        return batch_tasks.score_forecast(store, storage, online, spec, rows, on_progress)
    if task == "text_classification":
        if rows is None:
            raise _rows_needed(spec, task, "the texts to classify")
        return batch_tasks.score_text(store, storage, online, spec, rows, on_progress)
    rows = rows or _every_person(store, storage, spec)
    return batch_tasks.score_recommendation(store, storage, online, spec, rows, on_progress)


def _every_person(store: MetadataStore, storage: LakeStorage, spec: CapabilitySpec) -> BatchRows:
    """Whom a recommendation answers by default: every record of its `input_dataset`, or every entity with
    values in the latest build of its model's feature views."""
    from zhongtai.lake.reader import read_table

    if spec.recommend is not None and spec.recommend.stock is not None:
        raise _rows_needed(spec, "recommendation", f"each person's store ({spec.recommend.store_input})")
    found = capability_lookup(store, spec)
    if found is not None and spec.input_dataset is not None:
        key = found[0].source(spec.input_dataset).key
        table = read_table(store, storage, spec.input_dataset).select([key]).rename_columns([spec.input])
        return BatchRows(table, f"dataset '{spec.input_dataset}'")
    model = ModelSpec.model_validate(store.spec("models", spec.model))
    entity = EntitySpec.model_validate(store.spec("entities", model.entity))
    if not model.feature_views and not model.feature_groups:
        raise _rows_needed(spec, "recommendation", f"the {entity.name}s to answer")
    table = _latest_features(store, storage, model, entity.join_keys).select(entity.join_keys)
    return BatchRows(table, f"every {entity.name} with features")


def _rows_needed(spec: CapabilitySpec, task: str, what: str) -> ZhongtaiError:
    return ZhongtaiError(
        "invalid_argument",
        f"capability '{spec.name}' ({task}) needs rows giving {what}, not every entity",
        'choose them with --dataset NAME or --query "SELECT ..."',
    )


def write_keys(spec: CapabilitySpec, keys: list[str]) -> list[str]:
    """The write-back table's key columns: the spec's `write_back.keys`, else the capability's keys."""
    return list(spec.write_back.keys) if spec.write_back and spec.write_back.keys else keys


def _for_rows(every: BatchScores, rows: BatchRows) -> BatchScores:
    """Every entity's scores looked up for the given rows, keyed by the write-back keys; a row whose entity
    has no features gets the capability's fallback, as a live decision would."""
    spec, keys = every.capability, every.join_keys
    require_columns(rows, keys, "the capability's entity key")
    out = write_keys(spec, keys)
    require_columns(rows, out, "a write_back key")
    require_unique(rows, out, "set write_back.keys to a column unique per row, or select distinct rows")
    wanted = rows.table.select(list(dict.fromkeys([*out, *keys])))
    scores = every.table
    for key in keys:  # the rows' own key types win: the dataset is what the source system knows
        at = scores.schema.get_field_index(key)
        try:
            scores = scores.set_column(at, key, pc.cast(scores.column(key), wanted.schema.field(key).type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise ZhongtaiError(
                "invalid_argument",
                f"{rows.origin}: column '{key}' is {wanted.schema.field(key).type}, the capability's key is "
                f"{scores.schema.field(key).type}",
                f"CAST({key} AS ...) in a --query",
            ) from None
    joined = wanted.join(scores, keys, join_type="left outer").sort_by([(k, "ascending") for k in out])
    missing = pc.is_null(joined.column("decision"))
    fallback = spec.fallback
    decision = pc.if_else(missing, pa.scalar(fallback.decision), joined.column("decision"))
    score = pc.if_else(missing, pa.scalar(fallback.score, pa.float64()), joined.column("score"))
    table = joined.select(out).append_column("score", score).append_column("decision", decision)
    return BatchScores(spec, out, every.model, table)


def score_all(store: MetadataStore, storage: LakeStorage, capability: str) -> BatchScores:
    """Score every entity that has feature values in the latest build of any of the model's views."""
    from zhongtai.capabilities.runtime import Answers
    from zhongtai.models.predictor import load_predictor

    spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
    model_spec = ModelSpec.model_validate(store.spec("models", spec.model))
    entity = EntitySpec.model_validate(store.spec("entities", model_spec.entity))
    version = store.models.by_alias(spec.model, spec.alias)
    features = _latest_features(store, storage, model_spec, entity.join_keys)
    predictor = load_predictor(storage, version.artifact, version.artifact_format)
    matrix = (
        np.column_stack(
            [
                features.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
                if name in features.column_names
                else np.full(features.num_rows, np.nan)
                for name in version.features
            ]
        )
        if features.num_rows
        else np.empty((0, len(version.features)))
    )
    scores, decisions = (
        Answers.of(spec, predictor).many(predictor.predict(matrix))
        if features.num_rows
        else (np.empty(0), [])
    )
    table = features.select(entity.join_keys).append_column("score", pa.array(scores, pa.float64()))
    table = table.append_column("decision", pa.array(decisions, pa.string()))
    found = capability_lookup(store, spec)
    if found is not None:
        return BatchScores(spec, [spec.input], version, _by_input_key(store, storage, spec, found[0], table))
    return BatchScores(spec, entity.join_keys, version, table)


def decide_all(spec: CapabilitySpec, scores: np.ndarray) -> list[str]:
    """The capability's score bands over many binary scores: the first rule (highest min_score) each reaches."""
    from zhongtai.capabilities.runtime import Answers

    rules = tuple((r.min_score, r.decision) for r in spec.ranked_decisions())
    return Answers("binary", rules, spec.fallback.decision).many(scores)[1]


# Lake types of a source key column -> the DuckDB type the key is cast back to (anything else stays text).
_KEY_TYPES = {"int64": "BIGINT", "int32": "INTEGER", "int16": "SMALLINT", "string": "VARCHAR"}


def _by_input_key(
    store: MetadataStore, storage: LakeStorage, spec: CapabilitySpec, identity: IdentitySpec, scores: pa.Table
) -> pa.Table:
    """Person scores re-keyed by the input dataset's key, typed as that dataset's key column."""
    dataset = spec.input_dataset or ""
    key = identity.source(dataset).key
    current = store.current_version(dataset)
    types = {c.name: c.type for c in current.schema} if current else {}
    cast = _KEY_TYPES.get(types.get(key, "string"), "VARCHAR")
    person = scores.column_names[0]
    con = engine.connect(storage)
    try:
        con.register("scores", scores)
        return con.sql(
            f"SELECT CAST(x.key AS {cast}) AS {engine.quote(spec.input)}, s.score, s.decision "
            f"FROM scores s JOIN ({crosswalk_query(store, storage, identity)}) x "
            f"ON x.person_id = s.{engine.quote(person)} WHERE x.dataset = $dataset ORDER BY 1",
            params={"dataset": dataset},
        ).to_arrow_table()
    finally:
        con.close()


def _latest_features(
    store: MetadataStore, storage: LakeStorage, model: ModelSpec, join_keys: list[str]
) -> pa.Table:
    """Per entity, each view's newest row within its TTL of the view's newest timestamp, joined by key, and
    the model's on-demand features computed over those rows (they may not read request fields: there is no
    request in a batch)."""
    selection = select_features(store, model.feature_views, model.feature_groups)
    if selection.request_fields:
        raise ZhongtaiError(
            "invalid_argument",
            f"model '{model.name}' has on-demand features that read request fields "
            f"({', '.join(selection.request_fields)}): a batch has no request to take them from",
            "score it per request through the capability's decide API",
        )
    con = engine.connect(storage)
    keys = ", ".join(engine.quote(k) for k in join_keys)
    try:
        names = []
        for index, view in enumerate(selection.stored_views):
            build = store.features.require_build(view.name)
            # The same rows `features materialize` puts online, so batch and live decisions agree.
            latest = latest_query(view, join_keys, engine.scan(storage, build.files))
            now = datetime.fromisoformat(build.max_timestamp) if build.max_timestamp else datetime.min
            engine.run(con, f"CREATE TEMP TABLE v{index} AS {latest}", {"now": now})
            names.append(f"v{index}")
        joined = " FULL OUTER JOIN ".join([names[0]] + [f"{name} USING ({keys})" for name in names[1:]])
        table = con.sql(f"SELECT * FROM {joined} ORDER BY {keys}").to_arrow_table()
        table = add_to_training_set(con, table, selection.on_demand_views, selection.on_demand_names)
    finally:
        con.close()
    return table.filter(pc.invert(pc.is_null(table.column(join_keys[0]))))
