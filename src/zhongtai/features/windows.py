"""Window aggregations online: the events of each entity's windows kept by event id, values as of a moment.

The offline history comes from the SQL that `spec/windows.py` generates; this module computes the same values
from events one at a time, following the same definition (see that module's docstring). The state of one
entity is the events still inside its longest window, keyed by event id, so applying an event twice changes
nothing: that is what makes at-least-once delivery safe. The state lives in the online store beside the
values, under the view name plus STATE_SUFFIX, so it survives a consumer restart on any backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from zhongtai.errors import ZhongtaiError
from zhongtai.features.online.base import OnlineStore, entity_key
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import FeatureViewSpec
from zhongtai.spec.windows import WindowAggregation, WindowsSpec, event_key, id_columns

STATE_SUFFIX = "@window"
State = dict[str, list[Any]]  # event id -> [event time (epoch seconds), {column: value}]


def event_seconds(value: Any) -> float:
    """An event time as epoch seconds in UTC: ISO-8601 text, a datetime or a date; no zone means UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ZhongtaiError(
                "invalid_argument",
                f"event time {value!r} is not ISO-8601",
                'send e.g. "2026-12-02T10:00:00Z"',
            ) from None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    raise ZhongtaiError(
        "invalid_argument", f"event time {value!r} is {type(value).__name__}, expected ISO-8601 text"
    )


@dataclass(frozen=True)
class WindowView:
    """A feature view with `windows`, ready to fold events into its state and compute its values."""

    name: str
    windows: WindowsSpec

    @classmethod
    def of(cls, view: FeatureViewSpec) -> WindowView:
        if view.windows is None:
            raise ZhongtaiError("invalid_argument", f"feature view '{view.name}' declares no windows")
        return cls(view.name, view.windows)

    @property
    def state_view(self) -> str:
        return self.name + STATE_SUFFIX

    def key_of(self, event: Mapping[str, Any]) -> str | None:
        """The entity key an event belongs to; None when a key column is missing (the SQL skips it too)."""
        values = [event.get(column) for column in self.windows.keys.values()]
        if any(v is None for v in values) or event.get(self.windows.timestamp) is None:
            return None
        return entity_key(values)

    def add(self, state: State, event: Mapping[str, Any]) -> bool:
        """Fold one event into an entity's state; False if its id was already there (a replay)."""
        event_id = event_key(event, self.windows.event_id)
        if event_id is None:
            raise ZhongtaiError(
                "invalid_argument",
                f"feature view '{self.name}': an event has no {'/'.join(id_columns(self.windows.event_id))}",
                "every event needs its id: a replayed event is recognised by it",
            )
        if event_id in state:
            return False
        kept = {
            c
            for agg in self.windows.aggregations
            for c in [*([agg.column] if agg.column else []), *agg.where]
        }
        state[event_id] = [
            event_seconds(event[self.windows.timestamp]),
            {c: _plain(event.get(c)) for c in kept},
        ]
        return True

    def prune(self, state: State, at: float) -> None:
        """Drop the events that have left the longest window as of `at`: they can never count again."""
        horizon = at - self.windows.longest_seconds
        for event_id in [i for i, (t, _) in state.items() if t <= horizon]:
            del state[event_id]

    def values(self, state: State, at: float) -> dict[str, Any]:
        """Every aggregation as of `at` (the events with at - window < time <= at)."""
        return {agg.name: _aggregate(agg, state.values(), at) for agg in self.windows.aggregations}


def _aggregate(agg: WindowAggregation, events: Iterable[list[Any]], at: float) -> Any:
    start = at - agg.seconds
    inside = [values for t, values in events if start < t <= at and agg.matches(values)]
    if agg.function == "count":
        return len(inside)
    present = [v[agg.column] for v in inside if v.get(agg.column) is not None]
    if agg.function == "distinct":
        return len({_hashable(v) for v in present})
    if agg.function == "sum":
        return float(sum(present))
    if not present:
        return None
    if agg.function == "avg":
        return sum(present) / len(present)
    return float(min(present) if agg.function == "min" else max(present))


def _plain(value: Any) -> Any:
    """A value as the JSON state keeps it (lake rows bring dates and decimals, stream events bring JSON)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _hashable(value: Any) -> Any:
    return value if not isinstance(value, list | dict) else repr(value)


def apply_events(
    online: OnlineStore, view: WindowView, events: Iterable[Mapping[str, Any]], clock: float
) -> tuple[int, list[str]]:
    """Fold events into their entities' states and write the new values; returns (events that now count,
    entity keys touched).

    Values are computed as of `clock` (the newest event time the caller has seen) or the entity's newest
    event, whichever is later. The state is written before the values: after a crash in between, the
    replayed events are recognised as seen and the values are written from the state again.
    """
    by_key: dict[str, list[Mapping[str, Any]]] = {}
    for event in events:
        key = view.key_of(event)
        if key is not None:
            by_key.setdefault(key, []).append(event)
    states: dict[str, State] = {}
    values = []
    added = 0
    for key, batch in by_key.items():
        state: State = online.read(key, [view.state_view]).get(view.state_view) or {}
        new = [event_key(event, view.windows.event_id) for event in batch if view.add(state, event)]
        at = max([clock, *(t for t, _ in state.values())])
        view.prune(state, at)
        added += sum(
            event_id in state for event_id in new
        )  # an event already out of every window adds nothing
        states[key] = state
        values.append((key, view.values(state, at)))
    online.write(view.state_view, states.items())
    online.write(view.name, values)
    return added, list(states)


def seed_from_lake(
    store: MetadataStore, storage: LakeStorage, online: OnlineStore, view: FeatureViewSpec, at: datetime
) -> int:
    """Rebuild every entity's window state (and values) from the lake's events inside the longest window
    before `at`, so events streamed afterwards add to what the batch history already held. Returns the
    entities written. Memory grows with the events of one longest window."""
    windows = WindowView.of(view)
    spec = windows.windows
    version = store.current_version(spec.dataset)
    online.clear(windows.state_view)
    if version is None:
        return 0
    q = engine.quote
    columns = ", ".join(q(c) for c in spec.event_columns())
    ts = f"timezone('UTC', CAST({q(spec.timestamp)} AS TIMESTAMPTZ))"
    con = engine.connect(storage)
    try:
        rows = (
            con.sql(
                f"SELECT {columns} FROM {engine.scan(storage, version.files)} "
                f"WHERE {ts} <= $at AND {ts} > $at - to_seconds({spec.longest_seconds})",
                params={"at": at.replace(tzinfo=None)},
            )
            .to_arrow_table()
            .to_pylist()
        )
    finally:
        con.close()
    _, touched = apply_events(online, windows, rows, event_seconds(at))
    return len(touched)
