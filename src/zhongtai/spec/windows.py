"""Window aggregations declared in a feature view: `clicks_7d` = count of click events in the last 7 days.

A view with `windows` has no hand-written SQL: its history SQL (DuckDB dialect) is generated here from the
declaration, and the online side (`features/windows.py`) computes the very same values from a stream. Both
follow one definition, written down once:

- an event counts once per `event_id` (a replayed event is the same event; several columns for a
  composite id such as `[date, store_id, product_id]`);
- the window of `7d` as of moment t holds the events with t - 7d < event time <= t (event times in UTC);
- count and distinct give 0 on an empty window, sum gives 0, avg/min/max give NULL; NULL values are skipped.

The history has a row at every event time and at every moment an event leaves a window (event time + window),
up to the dataset's newest event, so the newest row at or before any moment is the exact value at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from zhongtai.spec.base import duration_seconds

COLUMN_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
Column = Annotated[str, Field(pattern=COLUMN_PATTERN)]
Scalar = str | int | float | bool
Function = Literal["count", "sum", "avg", "min", "max", "distinct"]
INTEGER_FUNCTIONS = ("count", "distinct")
EVENT_TIME = "__zt_event_time"
IS_EVENT = "__zt_is_event"


def id_columns(event_id: str | list[str]) -> list[str]:
    """The columns that make an event's id: one, or several for a composite id."""
    return [event_id] if isinstance(event_id, str) else list(event_id)


def event_key(event: Mapping[str, Any], event_id: str | list[str]) -> str | None:
    """An event's id as one string (`2026-12-01|S01|1001` for a composite id); None if a part is missing."""
    parts = [event.get(c) for c in id_columns(event_id)]
    return None if any(p is None for p in parts) else "|".join(str(p) for p in parts)


def _check_duration(value: str) -> str:
    duration_seconds(value)
    return value


class WindowAggregation(BaseModel):
    """One feature: `function` of `column` over the events of the last `window` that match `where`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = Field(description="The feature's name.")
    function: Function = Field(description="The aggregation over the window's events.")
    column: Column | None = Field(default=None, description="The value aggregated (count needs none).")
    window: Annotated[str, AfterValidator(_check_duration)] = Field(description='The window, like "7d".')
    where: dict[Column, Scalar | list[Scalar]] = Field(
        default={}, description="Only events whose column equals the value (or one of the values)."
    )
    description: str = Field(default="", description="The feature's description (default: generated).")

    @model_validator(mode="after")
    def _column_given(self) -> WindowAggregation:
        if self.function != "count" and self.column is None:
            raise ValueError(f"{self.name}: {self.function} needs a column (count alone counts events)")
        return self

    @property
    def seconds(self) -> int:
        return duration_seconds(self.window)

    @property
    def feature_type(self) -> str:
        return "int64" if self.function in INTEGER_FUNCTIONS else "float64"

    def matches(self, event: dict) -> bool:
        """Whether an event passes `where` (equal to the value, or one of the listed values)."""
        for column, wanted in self.where.items():
            allowed = wanted if isinstance(wanted, list) else [wanted]
            if event.get(column) not in allowed:
                return False
        return True


class WindowsSpec(BaseModel):
    """Aggregations over one event dataset, keyed by the entity (join key: column of the dataset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = Field(
        description="The event dataset."
    )
    keys: dict[Column, Column] = Field(
        min_length=1, description="Join key -> the dataset's column holding it."
    )
    timestamp: Column = Field(default="ts", description="The dataset's event-time column.")
    event_id: Column | list[Column] = Field(
        default="event_id", description="The column (or columns) that make a replayed event the same event."
    )
    aggregations: list[WindowAggregation] = Field(min_length=1, description="One feature each.")

    @model_validator(mode="after")
    def _unique_names(self) -> WindowsSpec:
        names = [a.name for a in self.aggregations]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"aggregations named twice: {', '.join(twice)}")
        return self

    @property
    def longest_seconds(self) -> int:
        return max(a.seconds for a in self.aggregations)

    def event_columns(self) -> list[str]:
        """The dataset columns the aggregations read: keys, time, id, values and `where` columns."""
        wanted = [*self.keys.values(), self.timestamp, *id_columns(self.event_id)]
        for agg in self.aggregations:
            wanted += ([agg.column] if agg.column else []) + list(agg.where)
        return list(dict.fromkeys(wanted))

    def features(self) -> list[dict[str, str]]:
        """The feature declarations the view gets: one per aggregation."""
        return [
            {"name": a.name, "type": a.feature_type, "description": a.description or _describe(a)}
            for a in self.aggregations
        ]

    def history_sql(self, timestamp: str) -> str:
        """The view's history (DuckDB dialect): one row per entity at every moment a value may change.

        Events and those moments are one time line per entity; each aggregation is a window function over a
        RANGE frame of (moment - window, moment], counting only event rows, so the cost grows with the rows,
        not with rows times events per window.
        """
        q = _quote
        keys = ", ".join(q(k) for k in self.keys)
        events_select = [f"{q(column)} AS {q(key)}" for key, column in self.keys.items()]
        events_select.append(f"timezone('UTC', CAST({q(self.timestamp)} AS TIMESTAMPTZ)) AS {EVENT_TIME}")
        events_select += [q(c) for c in self.event_columns() if c not in self.keys.values()]
        not_null = " AND ".join(f"{q(c)} IS NOT NULL" for c in [*self.keys.values(), self.timestamp])
        leaving = "".join(
            f"  UNION SELECT {keys}, {EVENT_TIME} + to_seconds({s}) FROM events\n"
            for s in sorted({a.seconds for a in self.aggregations})
        )
        values = ",\n  ".join(f"{_aggregate(a)} AS {q(a.name)}" for a in self.aggregations)
        names = ", ".join(q(a.name) for a in self.aggregations)
        frames = ",\n  ".join(
            f"w{s} AS (PARTITION BY {keys} ORDER BY {EVENT_TIME} "
            f"RANGE BETWEEN to_microseconds({s * 1_000_000 - 1}) PRECEDING AND CURRENT ROW)"
            for s in sorted({a.seconds for a in self.aggregations})
        )
        return (
            f"WITH events AS (\n  SELECT {', '.join(events_select)}, TRUE AS {IS_EVENT}\n"
            f"  FROM {q(self.dataset)}\n  WHERE {not_null}\n"
            f"  QUALIFY row_number() OVER (PARTITION BY {', '.join(q(c) for c in id_columns(self.event_id))} "
            f"ORDER BY {EVENT_TIME}) = 1\n),\n"
            f"moments AS (\n  SELECT {keys}, {EVENT_TIME} FROM events\n{leaving})\n"
            f"SELECT {keys}, {EVENT_TIME} AS {q(timestamp)}, {names}\n"
            f"FROM (\n  SELECT {keys}, {EVENT_TIME}, {IS_EVENT},\n  {values}\n"
            f"  FROM (SELECT * FROM events UNION ALL BY NAME SELECT *, FALSE AS {IS_EVENT} FROM moments)\n"
            f"  WINDOW {frames}\n) AS timeline\n"
            f"WHERE NOT {IS_EVENT} AND {EVENT_TIME} <= (SELECT max({EVENT_TIME}) FROM events)\n"
        )


def _aggregate(agg: WindowAggregation) -> str:
    """One aggregation as a window function over the time line: event rows of its window that match."""
    conditions = [IS_EVENT]
    for column, wanted in agg.where.items():
        allowed = wanted if isinstance(wanted, list) else [wanted]
        conditions.append(f"{_quote(column)} IN ({', '.join(_literal(v) for v in allowed)})")
    over = f"FILTER (WHERE {' AND '.join(conditions)}) OVER w{agg.seconds}"
    value = _quote(agg.column) if agg.column else None
    if agg.function == "count":
        return f"count(*) {over}"
    if agg.function == "distinct":
        return f"count(DISTINCT {value}) {over}"
    if agg.function == "sum":
        return f"coalesce(sum({value}) {over}, 0)::DOUBLE"
    return f"({agg.function}({value}) {over})::DOUBLE"


def _describe(agg: WindowAggregation) -> str:
    what = "events" if agg.function == "count" else f"{agg.function} of {agg.column}"
    where = ", ".join(f"{k} in {v}" if isinstance(v, list) else f"{k} = {v}" for k, v in agg.where.items())
    return f"{what} in the last {agg.window}" + (f" where {where}" if where else "")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: Scalar) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"
