"""What the decision log says about a window, aggregated in the database: calls per capability and caller,
fallbacks, latency, routes, and the outcomes reported for those decisions.

Every figure is a `GROUP BY` in the metadata database, never a loop over decisions in Python: a group is a
(capability, caller, decision, fallback, route) — tens of rows for millions of decisions. Latency
percentiles are nearest-rank values read with `ORDER BY latency_ms LIMIT 1 OFFSET k`, the same on SQLite,
PostgreSQL and MariaDB. Outcomes are grouped by the JSON text of their value, so a boolean outcome is a
handful of groups; only an outcome naming an item (a recommendation's `clicked: "P2"`) needs the decision's
answer beside it, and those rows — the decisions that got such feedback, not the log — are streamed.
Shadow answers are never counted: nobody received them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from zhongtai.meta.store import MetadataStore
from zhongtai.meta.tables import SqlDecision, SqlFeedback


@dataclass(frozen=True)
class CallGroup:
    """Decisions of one capability sharing caller, decision, fallback and route (route: text capabilities)."""

    capability: str
    principal: str
    decision: str
    fallback: bool
    route: str | None
    calls: int
    latency_ms: float  # the sum


@dataclass(frozen=True)
class OutcomeGroup:
    """Decisions sharing capability, decision, fallback and route that got one outcome kind and value."""

    capability: str
    decision: str
    fallback: bool
    route: str | None
    kind: str
    value: Any
    decisions: int


def _window(query: Any, since: datetime, until: datetime | None) -> Any:
    query = query.where(SqlDecision.at >= since, SqlDecision.shadow_of.is_(None))
    return query.where(SqlDecision.at < until) if until is not None else query


def _route() -> Any:
    return SqlDecision.output["route"].as_string()


def call_groups(store: MetadataStore, since: datetime, until: datetime | None = None) -> list[CallGroup]:
    """The window's answers, grouped by capability, caller, decision, fallback and route."""
    route = _route().label("route")
    keys = (SqlDecision.capability, SqlDecision.principal, SqlDecision.decision, SqlDecision.fallback, route)
    query = _window(
        sa.select(
            *keys, sa.func.count().label("calls"), sa.func.sum(SqlDecision.latency_ms).label("latency")
        ),
        since,
        until,
    ).group_by(*keys)
    with store.transaction() as session:
        rows = session.execute(query).all()
    return [
        CallGroup(
            capability=r.capability,
            principal=r.principal,
            decision=r.decision,
            fallback=bool(r.fallback),
            route=r.route,
            calls=int(r.calls),
            latency_ms=float(r.latency or 0.0),
        )
        for r in rows
    ]


def latency_percentiles(
    store: MetadataStore,
    capability: str,
    calls: int,
    since: datetime,
    until: datetime | None = None,
    shares: tuple[tuple[str, float], ...] = (("p50_ms", 0.50), ("p95_ms", 0.95)),
) -> dict[str, float | None]:
    """Nearest-rank percentiles (p50 and p95 unless `shares` names others) of the capability's answer
    latency in the window (None without calls)."""
    found: dict[str, float | None] = {name: None for name, _ in shares}
    if calls <= 0:
        return found
    base = _window(sa.select(SqlDecision.latency_ms), since, until).where(
        SqlDecision.capability == capability
    )
    with store.transaction() as session:
        for name, share in shares:
            rank = max(math.ceil(share * calls) - 1, 0)
            query = base.order_by(SqlDecision.latency_ms).limit(1).offset(rank)
            value = session.scalar(query)
            found[name] = float(value) if value is not None else None
    return found


def outcome_groups(
    store: MetadataStore, since: datetime, until: datetime | None = None
) -> list[OutcomeGroup]:
    """The outcomes reported for the window's answers, grouped by what the decision was and the value."""
    route = _route().label("route")
    value = sa.cast(SqlFeedback.value, sa.Text).label("value")
    keys = (
        SqlDecision.capability,
        SqlDecision.decision,
        SqlDecision.fallback,
        route,
        SqlFeedback.kind,
        value,
    )
    query = _window(
        sa.select(*keys, sa.func.count().label("decisions")).join(
            SqlFeedback, SqlFeedback.decision_id == SqlDecision.id
        ),
        since,
        until,
    ).group_by(*keys)
    with store.transaction() as session:
        rows = session.execute(query).all()
    return [
        OutcomeGroup(
            capability=r.capability,
            decision=r.decision,
            fallback=bool(r.fallback),
            route=r.route,
            kind=r.kind,
            value=_value(r.value),
            decisions=int(r.decisions),
        )
        for r in rows
    ]


def named_outcomes(
    store: MetadataStore, capability: str, kinds: tuple[str, ...], since: datetime, until: datetime | None
) -> Iterator[tuple[str, Any, dict[str, Any] | None]]:
    """(kind, value, answer) of the capability's answers whose outcome of `kinds` is a text (an item's id):
    streamed, for checking the item against what was answered."""
    query = _window(
        sa.select(SqlFeedback.kind, SqlFeedback.value, SqlDecision.output)
        .join(SqlFeedback, SqlFeedback.decision_id == SqlDecision.id)
        .where(SqlDecision.capability == capability, SqlFeedback.kind.in_(kinds)),
        since,
        until,
    )
    with store.transaction() as session:
        for row in session.execute(query.execution_options(yield_per=10_000)):
            outcome = (row.value or {}).get("value")
            if isinstance(outcome, str):
                yield row.kind, outcome, dict(row.output) if row.output is not None else None


def _value(text: str | None) -> Any:
    """The outcome stored as `{"value": ...}`, read back from its JSON text."""
    if text is None:
        return None
    try:
        return json.loads(text).get("value")
    except (ValueError, AttributeError):
        return None
