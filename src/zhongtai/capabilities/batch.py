"""Batch scoring: a capability's model and rules over every entity's latest offline feature values.

`score` and `decision` follow the task as decide() answers them (runtime.Answers): a binary model's
probability and score band, a multiclass model's most probable class and its probability, a regression
model's predicted value and value band.

A capability called with a source system's key (`input_dataset`) is scored per person and answered per key
of that dataset, through OneID's crosswalk: every CRM record of a person gets the person's score, keyed and
typed as the CRM's own customer_id, so write-back lands on the rows the CRM shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.errors import ZhongtaiError
from zhongtai.features.keys import capability_lookup, crosswalk_query
from zhongtai.features.materialize import latest_query
from zhongtai.features.on_demand import add_to_training_set
from zhongtai.features.selection import select_features
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import ModelVersion
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.identity import IdentitySpec
from zhongtai.spec.models import CapabilitySpec, EntitySpec, ModelSpec


@dataclass(frozen=True)
class BatchScores:
    """Scores and decisions for every entity, with the model version that gave them."""

    capability: CapabilitySpec
    join_keys: list[str]
    model: ModelVersion
    table: pa.Table  # join keys..., score, decision


def score_all(
    store: MetadataStore,
    storage: LakeStorage,
    capability: str,
    on_progress: Callable[[str], None] | None = None,
) -> BatchScores:
    """Score every entity that has feature values in the latest build of any of the model's views."""
    from zhongtai.capabilities.runtime import Answers
    from zhongtai.models.predictor import load_predictor

    spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
    model_spec = ModelSpec.model_validate(store.spec("models", spec.model))
    entity = EntitySpec.model_validate(store.spec("entities", model_spec.entity))
    version = store.models.by_alias(spec.model, spec.alias)
    features = latest_features(store, storage, model_spec, entity.join_keys)
    if on_progress:
        on_progress(f"{features.num_rows:,} entities with features")
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


def latest_features(
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
