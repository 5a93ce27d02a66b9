"""Batch scoring of the tasks that have their own runtime: text classification, forecast, recommendation.

Each reuses its runtime in process (never the gateway), built once for the version the capability's alias
points at, on chunks of rows so progress moves:

- text: `TextRuntime.decide_many` classifies a chunk's texts at once; a row answers `decision` (the
  intent), `score` (its confidence), `route`, `queue` and `escalation`;
- forecast: the served version's artifact, one look-up per series (every series it forecast by default):
  `score` (the stock-out risk), `decision`, `forecast_total`, `forecast_lo`, `forecast_hi`,
  `interval_level`, `forecast_as_of`, `stock_position`; a series without a forecast gets the fallback. The
  capability's feature groups are not read: a batch writes the forecast, not the features beside it;
- recommendation: one row per (person, rank): `rank`, `item`, `score`, `reason`, `stock_risk` and `decision`
  (`personalised`, or `popular` for a person without history); the store comes from the rows' store column
  when the capability has a stock rule.

The runtime's own checks run per row; an error names the row (its position), never its values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from zhongtai.capabilities.batch import BatchProgress, BatchScores, write_keys
from zhongtai.capabilities.batch_input import BatchRows, require_columns, require_unique
from zhongtai.capabilities.runtime import Decision
from zhongtai.capabilities.traffic import serving_version
from zhongtai.errors import ZhongtaiError
from zhongtai.features.keys import capability_lookup
from zhongtai.spec.models import CapabilitySpec, EntitySpec, ModelSpec
from zhongtai.spec.text_task import RoutingSpec

if TYPE_CHECKING:
    from zhongtai.features.online.base import OnlineStore
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

TEXT_CHUNK = 256  # texts classified at once: one encoder call
ROW_CHUNK = 500  # rows between progress updates for the per-row runtimes
UNIQUE_HINT = "set write_back.keys to a column unique per row (e.g. ticket_id), or select distinct rows"


def score_text(
    store: MetadataStore,
    storage: LakeStorage,
    online: OnlineStore,
    spec: CapabilitySpec,
    rows: BatchRows,
    on_progress: BatchProgress | None,
) -> BatchScores:
    """The intent, confidence, route and queue of every row's text."""
    from zhongtai.capabilities.text_runtime import TextRuntime

    inputs = _input_keys(store, spec)
    keys = _checked(rows, spec, inputs)  # before the model loads: a wrong column fails at once
    text = (spec.routing or RoutingSpec()).text
    require_columns(rows, [text], "the text to classify")
    version = serving_version(store, spec.model, spec.alias)
    runtime = TextRuntime.build(spec.name, store, storage, online, f"v{version.version}")
    requests = _requests(rows, spec.input, inputs, [text])
    answers = _answers(rows, requests, TEXT_CHUNK, runtime.decide_many, on_progress)
    columns = {
        "score": pa.array([a.score for a in answers], pa.float64()),
        "decision": pa.array([a.decision for a in answers], pa.string()),
        **{
            name: pa.array([(a.output or {}).get(name) for a in answers], pa.string())
            for name in ("route", "queue", "escalation")
        },
    }
    return BatchScores(spec, keys, version, _with_keys(rows, keys, columns))


def score_forecast(
    store: MetadataStore,
    storage: LakeStorage,
    online: OnlineStore,
    spec: CapabilitySpec,
    rows: BatchRows | None,
    on_progress: BatchProgress | None,
) -> BatchScores:
    """Each series' forecast total, interval and stock-out risk, and the band the risk falls in."""
    from zhongtai.capabilities.forecast_runtime import ForecastRuntime
    from zhongtai.models.forecast import load_forecast

    model = ModelSpec.model_validate(store.spec("models", spec.model))
    entity = EntitySpec.model_validate(store.spec("entities", model.entity))
    version = serving_version(store, spec.model, spec.alias)
    artifact = load_forecast(storage, version.artifact)
    if rows is None:
        rows = BatchRows(_series(list(artifact.index), entity), f"{spec.model} v{version.version}'s series")
    keys = _checked(rows, spec, entity.join_keys)
    runtime = ForecastRuntime(spec, version, artifact, entity, online)  # no feature groups: no online read
    requests = _requests(rows, spec.input, entity.join_keys, [], spread=True)
    answers = _answers(
        rows, requests, ROW_CHUNK, lambda chunk: [runtime.decide(r) for r in chunk], on_progress
    )
    outputs = [a.output or {} for a in answers]
    forecast = [o.get("forecast") or {} for o in outputs]
    interval = [o.get("interval") or {} for o in outputs]
    columns = {
        "score": pa.array([a.score for a in answers], pa.float64()),
        "decision": pa.array([a.decision for a in answers], pa.string()),
        "forecast_total": pa.array([f.get("total") for f in forecast], pa.float64()),
        "forecast_lo": pa.array([i.get("lo") for i in interval], pa.float64()),
        "forecast_hi": pa.array([i.get("hi") for i in interval], pa.float64()),
        "interval_level": pa.array([i.get("level") for i in interval], pa.int64()),
        "forecast_as_of": pa.array([f.get("as_of") for f in forecast], pa.string()),
        "stock_position": pa.array([o.get("stock_position") for o in outputs], pa.float64()),
    }
    return BatchScores(spec, keys, version, _with_keys(rows, keys, columns))


def score_recommendation(
    store: MetadataStore,
    storage: LakeStorage,
    online: OnlineStore,
    spec: CapabilitySpec,
    rows: BatchRows,
    on_progress: BatchProgress | None,
) -> BatchScores:
    """The top-k items of every row's person (at the row's store), one output row per (person, rank)."""
    from zhongtai.capabilities.recommend_runtime import RecommendRuntime

    inputs = _input_keys(store, spec)
    groups = _checked(rows, spec, inputs)  # before the model loads: a wrong column fails at once
    extra = []
    if spec.recommend is not None and spec.recommend.stock is not None:
        extra = [spec.recommend.store_input]
        require_columns(rows, extra, "the store whose shelf the stock rule reads")
    version = serving_version(store, spec.model, spec.alias)
    runtime = RecommendRuntime.build(spec.name, store, storage, online, f"v{version.version}")
    requests = _requests(rows, spec.input, inputs, extra)
    answers = _answers(
        rows, requests, ROW_CHUNK, lambda chunk: [runtime.decide(r) for r in chunk], on_progress
    )
    at, ranks, decisions = [], [], []
    fields: dict[str, list[Any]] = {"item": [], "score": [], "reason": [], "stock_risk": []}
    for row, answer in enumerate(answers):
        for rank, item in enumerate((answer.output or {}).get("items", []), start=1):
            at.append(row)
            ranks.append(rank)
            decisions.append(answer.decision)
            for name, values in fields.items():
                values.append(item.get(name))
    table = rows.table.select(groups).take(pa.array(at, pa.int64()))
    table = table.append_column("rank", pa.array(ranks, pa.int64()))
    items = pa.array([str(i) for i in fields["item"]], pa.string())
    if all(isinstance(i, int) for i in fields["item"]):
        items = pa.array(fields["item"], pa.int64())
    table = table.append_column("item", items)
    table = table.append_column("score", pa.array(fields["score"], pa.float64()))
    table = table.append_column("decision", pa.array(decisions, pa.string()))
    table = table.append_column("reason", pa.array(fields["reason"], pa.string()))
    table = table.append_column("stock_risk", pa.array(fields["stock_risk"], pa.float64()))
    scored = rows.table.select(groups)
    return BatchScores(spec, [*groups, "rank"], version, table, groups=scored)


def _input_keys(store: MetadataStore, spec: CapabilitySpec) -> list[str]:
    """The columns a request's key comes from, as the runtimes take it: the capability's `input` for a
    source system's key (OneID maps it), else the entity's join keys."""
    if capability_lookup(store, spec) is not None:
        return [spec.input]
    model = ModelSpec.model_validate(store.spec("models", spec.model))
    return list(EntitySpec.model_validate(store.spec("entities", model.entity)).join_keys)


def _checked(rows: BatchRows, spec: CapabilitySpec, keys: list[str]) -> list[str]:
    """The rows carry the capability's keys and the write-back keys, one row per write-back key."""
    require_columns(rows, keys, "the capability's entity key")
    out = write_keys(spec, keys)
    require_columns(rows, out, "a write_back key")
    require_unique(rows, out, UNIQUE_HINT)
    return out


def _requests(
    rows: BatchRows, field: str, keys: list[str], extra: list[str], spread: bool = False
) -> list[dict[str, Any]]:
    """One request per row as the runtime takes it: the key in `field` (a list for a composite key), or
    each key in its own field (`spread`), and the `extra` columns by name."""
    columns = {name: rows.table.column(name).to_pylist() for name in dict.fromkeys([*keys, *extra])}
    requests = []
    for index in range(rows.table.num_rows):
        request = {name: columns[name][index] for name in extra}
        if spread:
            request.update({key: columns[key][index] for key in keys})
        else:
            values = [columns[key][index] for key in keys]
            request[field] = values[0] if len(values) == 1 else values
        requests.append(request)
    return requests


def _answers(
    rows: BatchRows,
    requests: list[dict[str, Any]],
    size: int,
    decide: Callable[[list[dict[str, Any]]], list[Decision]],
    on_progress: BatchProgress | None,
) -> list[Decision]:
    """Every request answered, `size` at a time; a refused request names its chunk (never a value)."""
    answers: list[Decision] = []
    for start in range(0, len(requests), size):
        try:
            answers += decide(requests[start : start + size])
        except ZhongtaiError as exc:
            raise ZhongtaiError(
                exc.code, f"{rows.origin}, rows from {start + 1}: {exc.message}", exc.hint
            ) from None
        if on_progress:
            on_progress(len(answers), len(requests))
    return answers


def _with_keys(rows: BatchRows, keys: Sequence[str], columns: Mapping[str, pa.Array]) -> pa.Table:
    table = rows.table.select(list(keys))
    for name, values in columns.items():
        table = table.append_column(name, values)
    return table


def _series(index: list[str], entity: EntitySpec) -> pa.Table:
    """Every series a forecast artifact holds, its `a|b` keys split and typed as the entity declares."""
    parts = [key.split("|") for key in index]
    types = entity.join_key_types()
    return pa.table(
        {
            key: pa.array(
                [int(p[i]) if kind == "int64" else p[i] for p in parts],
                pa.int64() if kind == "int64" else pa.string(),
            )
            for i, (key, kind) in enumerate(zip(entity.join_keys, types, strict=True))
        }
    )
