"""Pushing to a feature view, for systems that would rather call than publish (`POST /v1/features/{view}/push`).

- A window view takes raw events: `{"events": [{event_id, ts, <key column>, ...}, ...]}`. They are folded into
  the online state exactly as the stream consumer does (same event-id idempotency), and when the view's
  dataset is fed by a stream they are also published to it, so the consumer lands them in the lake (its own
  online update of them is then a no-op). Publishing comes first: an event that could not be published is
  not counted either.
- Any other online view takes values: `{"rows": [{<join keys>, <every feature>}, ...]}`, written as each
  entity's latest values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from zhongtai.connect.streams.base import EventBus, open_bus
from zhongtai.errors import ZhongtaiError
from zhongtai.features.freshness import observe_freshness
from zhongtai.features.keys import INT64_MAX, INT64_MIN, checked_entity_key, key_schema
from zhongtai.features.offline import load_view
from zhongtai.features.online.base import OnlineStore
from zhongtai.features.streaming import dataset_stream
from zhongtai.features.windows import WindowView, apply_events, event_seconds
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import EntitySpec, FeatureViewSpec, StreamSpec
from zhongtai.spec.windows import id_columns

MAX_ITEMS = 10_000
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "int64": (int,),
    "float64": (int, float),
    "bool": (bool,),
    "string": (str,),
}
_VALUE_SCHEMAS: dict[str, Callable[[int], dict[str, Any]]] = {
    "int64": lambda _: {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX},
    "float64": lambda _: {"type": "number"},
    "bool": lambda _: {"type": "boolean"},
    "string": lambda max_chars: {"type": "string", "maxLength": max_chars},
}


@dataclass(frozen=True)
class PushTarget:
    view: FeatureViewSpec
    entity: EntitySpec
    windows: WindowView | None
    stream: StreamSpec | None


class FeaturePush:
    """What the gateway holds for pushes: targets loaded once per view, the bus opened on first need."""

    def __init__(
        self, store: MetadataStore, online: OnlineStore, bus_url: str, max_items: int = MAX_ITEMS
    ) -> None:
        self.store, self.online, self.bus_url = store, online, bus_url
        self.max_items = max_items  # rows or events in one push
        self._targets: dict[str, PushTarget] = {}
        self._bus: EventBus | None = None
        self._lock = threading.Lock()

    def push(self, name: str, body: Mapping[str, Any], received_at: float) -> dict[str, Any]:
        """Apply one push request; the answer says what was counted or written."""
        target = self._target(name)
        if target.windows is not None:
            return self._push_events(
                target, target.windows, _items(body, "events", name, self.max_items), received_at
            )
        return self._push_rows(target, _items(body, "rows", name, self.max_items), received_at)

    def close(self) -> None:
        if self._bus is not None:
            self._bus.close()

    def _target(self, name: str) -> PushTarget:
        with self._lock:
            if name not in self._targets:
                view, entity = load_view(self.store, name)
                if not view.online:
                    raise ZhongtaiError(
                        "invalid_argument", f"feature view '{name}' is offline only (online: false)"
                    )
                stream = None
                if view.windows is not None:
                    stream = dataset_stream(self.store.spec("datasets", view.windows.dataset))
                windows = WindowView.of(view) if view.windows is not None else None
                self._targets[name] = PushTarget(view, entity, windows, stream)
            return self._targets[name]

    def _push_events(
        self, target: PushTarget, windows: WindowView, events: list[dict], received_at: float
    ) -> dict[str, Any]:
        for index, event in enumerate(events):
            _check_event(windows, event, f"events[{index}]")
        if target.stream is not None:
            self._bus_once().publish(target.stream.name, events)
        clock = max(event_seconds(e[windows.windows.timestamp]) for e in events)
        counted, touched = apply_events(self.online, windows, events, clock)
        observe_freshness(windows.name, "push", [time.time() - received_at] * len(events))
        return {
            "view": windows.name,
            "events": len(events),
            "counted": counted,
            "entities": len(touched),
            "published_to": target.stream.name if target.stream else None,
        }

    def _push_rows(self, target: PushTarget, rows: list[dict], received_at: float) -> dict[str, Any]:
        keys = target.entity.join_keys
        types = target.entity.join_key_types()
        known = {*keys, *(f.name for f in target.view.features)}
        written = []
        for index, row in enumerate(rows):
            unknown = sorted(set(row) - known)
            if unknown:
                raise ZhongtaiError(
                    "invalid_argument",
                    f"rows[{index}]: {', '.join(unknown)} not a join key or feature of '{target.view.name}'",
                )
            key = "|".join(
                checked_entity_key(row.get(k), f"rows[{index}].{k}", [k], [t])
                for k, t in zip(keys, types, strict=True)
            )
            written.append((key, _values(target.view, row, index)))
        self.online.write(target.view.name, written)
        observe_freshness(target.view.name, "push", [time.time() - received_at] * len(rows))
        return {"view": target.view.name, "rows": len(rows)}

    def _bus_once(self) -> EventBus:
        with self._lock:
            if self._bus is None:
                self._bus = open_bus(self.bus_url)
            return self._bus


def _items(body: Mapping[str, Any], field: str, view: str, max_items: int) -> list[dict]:
    items = body.get(field)
    other = "rows" if field == "events" else "events"
    if items is None and other in body:
        kind = (
            "window view: push raw events"
            if field == "events"
            else "view without windows: push feature values"
        )
        raise ZhongtaiError(
            "invalid_argument", f"feature view '{view}' is a {kind} as `{field}`, not `{other}`"
        )
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise ZhongtaiError(
            "invalid_argument",
            f"`{field}` must be a non-empty list of JSON objects",
            f'send {{"{field}": [{{...}}, ...]}} with at most {max_items:,} items',
        )
    if len(items) > max_items:
        raise ZhongtaiError("invalid_argument", f"{len(items):,} {field} in one push; at most {max_items:,}")
    return items


def _check_event(view: WindowView, event: dict, where: str) -> None:
    spec = view.windows
    for column in [*id_columns(spec.event_id), spec.timestamp, *spec.keys.values()]:
        if event.get(column) is None:
            raise ZhongtaiError(
                "invalid_argument", f"{where}: '{column}' is missing", f"every event needs {column}"
            )
    try:
        event_seconds(event[spec.timestamp])
    except ZhongtaiError as exc:
        raise ZhongtaiError(
            "invalid_argument", f"{where}.{spec.timestamp}: {exc.message}", exc.hint
        ) from None


def _kind(value: Any) -> str:
    # The kind of a wrong value, never the value: a pushed row may carry personal data.
    return {bool: "a boolean", str: "a string", dict: "an object", list: "a list"}.get(
        type(value), "a number"
    )


def _values(view: FeatureViewSpec, row: dict, index: int) -> dict[str, Any]:
    values = {}
    for feature in view.features:
        if feature.name not in row:
            raise ZhongtaiError(
                "invalid_argument",
                f"rows[{index}]: feature '{feature.name}' is missing",
                "a push replaces the entity's values of the view: send every feature (null for none)",
            )
        value: Any = row[feature.name]
        if feature.type == "int64" and isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON has one kind of number: 3.0 is the integer 3
        wrong_bool = isinstance(value, bool) and feature.type != "bool"
        if value is not None and (wrong_bool or not isinstance(value, _PYTHON_TYPES[feature.type])):
            raise ZhongtaiError(
                "invalid_argument",
                f"rows[{index}].{feature.name}: expected {feature.type}, got {_kind(value)}",
            )
        if feature.type == "int64" and isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise ZhongtaiError("invalid_argument", f"rows[{index}].{feature.name}: out of the int64 range")
        values[feature.name] = value
    return values


def rows_schema(
    view: FeatureViewSpec, entity: EntitySpec, max_chars: int, max_items: int = MAX_ITEMS
) -> dict[str, Any]:
    """The JSON Schema of a rows push to `view`, exactly what `FeaturePush` accepts (for OpenAPI)."""
    columns: dict[str, Any] = {
        key: key_schema(key_type, max_chars)
        for key, key_type in zip(entity.join_keys, entity.join_key_types(), strict=True)
    }
    for feature in view.features:
        columns[feature.name] = {"anyOf": [_VALUE_SCHEMAS[feature.type](max_chars), {"type": "null"}]}
    row = {
        "type": "object",
        "required": list(columns),
        "properties": columns,
        "additionalProperties": False,
    }
    rows = {"type": "array", "minItems": 1, "maxItems": max_items, "items": row}
    return {"type": "object", "required": ["rows"], "properties": {"rows": rows}}
