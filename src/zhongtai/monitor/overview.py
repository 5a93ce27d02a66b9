"""The platform at a glance over a window: per capability its calls, latency, fallbacks, latest drift verdict,
live quality and attributed outcomes; and what needs a person now — versions waiting for approval, review
items past their deadline, canaries rolled back, firing alerts, datasets older than their promised refresh.

Every figure comes from the database in aggregate: calls and fallbacks from one `GROUP BY` over the decision
log (flywheel/usage.py), latency as nearest-rank values read by `ORDER BY … LIMIT 1 OFFSET k`, drift from the
latest stored report, attention lists as filtered, counted, limited queries. Only live quality reads rows:
the window's decisions that got an outcome (never the whole log), as `flywheel/quality.py` measures them.

What a reader may see is decided per object by `can(action, name, kind)` — the gateway passes its policy
engine — so a department's reader gets only its own capabilities, models, queues and datasets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zhongtai.catalog.freshness import age_hours, is_stale, promised_hours
from zhongtai.errors import ZhongtaiError
from zhongtai.flywheel.quality import MEASURES, _threshold, measure
from zhongtai.flywheel.retrain_policy import read_policy
from zhongtai.flywheel.roi import attribute
from zhongtai.flywheel.usage import CallGroup, OutcomeGroup, call_groups, latency_percentiles, outcome_groups
from zhongtai.meta.records import ModelStatus
from zhongtai.meta.review import ReviewFilter
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now
from zhongtai.spec.models import CapabilitySpec

Can = Callable[[str, str, str], bool]  # (action, object, kind) -> allowed
LATENCY = (("p50_ms", 0.50), ("p99_ms", 0.99))
ATTENTION_LIMIT = 10  # items listed per kind; the counts cover them all


@dataclass(frozen=True)
class CapabilityFigures:
    """One capability over the window."""

    capability: str
    model: str
    task: str
    calls: int
    fallbacks: int
    p50_ms: float | None
    p99_ms: float | None
    drift: dict[str, Any] | None
    quality: dict[str, Any] | None
    outcomes: dict[str, Any]
    canary: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the share of calls a fallback answered."""
        return {**self.__dict__, "fallback_share": self.fallbacks / self.calls if self.calls else None}


@dataclass(frozen=True)
class Overview:
    """The figures of the visible capabilities and what needs attention."""

    since: datetime
    at: datetime
    capabilities: list[CapabilityFigures]
    attention: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "since": self.since.isoformat(),
            "at": self.at.isoformat(),
            "capabilities": [c.to_dict() for c in self.capabilities],
            "attention": self.attention,
        }


def overview(store: MetadataStore, since: datetime, can: Can) -> Overview:
    """The overview of the decisions made since `since`, of what `can` lets the reader see."""
    specs = {
        name: CapabilitySpec.model_validate(body)
        for name, body in store.registered("capabilities").items()
        if can("read_models", name, "capabilities")
    }
    tasks = {name: str(body.get("task", "")) for name, body in store.registered("models").items()}
    calls: dict[str, list[CallGroup]] = defaultdict(list)
    for group in call_groups(store, since):
        calls[group.capability].append(group)
    outcomes: dict[str, list[OutcomeGroup]] = defaultdict(list)
    for found in outcome_groups(store, since):
        outcomes[found.capability].append(found)
    splits = store.traffic.all()
    rows = []
    for name in sorted(specs):
        spec, task = specs[name], tasks.get(specs[name].model, "")
        total = sum(g.calls for g in calls[name])
        split = splits.get(name)
        rows.append(
            CapabilityFigures(
                capability=name, model=spec.model, task=task, calls=total,
                fallbacks=sum(g.calls for g in calls[name] if g.fallback),
                **latency_percentiles(store, name, total, since, shares=LATENCY),
                drift=latest_drift(store, name), quality=window_quality(store, spec, task, since),
                outcomes=attribute(store, name, spec, task, calls[name], outcomes[name], (since, None)),
                canary=dict(split.state) if split is not None and split.state else None,
            )
        )  # fmt: skip
    return Overview(since, now(), rows, attention(store, can))


def latest_drift(store: MetadataStore, capability: str) -> dict[str, Any] | None:
    """The verdict of the capability's latest stored drift check (None: never checked)."""
    found = store.drift.reports(capability, 1)
    if not found:
        return None
    report = found[0]
    return {
        "verdict": report.verdict,
        "drifted": report.drifted,
        "at": report.at.isoformat(),
        "model": report.model_name,
        "version": report.model_version,
    }


def window_quality(
    store: MetadataStore, spec: CapabilitySpec, task: str, since: datetime
) -> dict[str, Any] | None:
    """The capability's live measure over its decisions of the window that got an outcome, with the floor of
    its model's retrain policy when that policy judges this capability (None: the task has no measure)."""
    measures = MEASURES.get(task)
    if not measures:
        return None
    floor, name = None, measures[0]
    try:
        policy = read_policy(store, spec.model, required=False)
    except ZhongtaiError:
        policy = None  # a policy that cannot name its capability judges none; the overview still shows
    if policy is not None and policy.capability.name == spec.name and policy.retrain.triggers.quality:
        floor, name = policy.retrain.triggers.quality.floor, policy.retrain.triggers.quality.measure
    measured = measure(task, store.feedback.labelled(spec.name, since), _threshold(spec))
    decisions, values = measured if measured is not None else (0, {})
    value = values.get(name)
    return {
        "measure": name,
        "value": round(value, 4) if value is not None else None,
        "decisions": decisions,
        "floor": floor,
        "below_floor": value is not None and floor is not None and value < floor,
    }


def attention(store: MetadataStore, can: Can) -> dict[str, Any]:
    """What needs a person now, of what `can` lets the reader see; each list limited, each count whole."""
    return {
        "approvals": pending_approvals(store, can),
        "reviews": overdue_reviews(store, can),
        "canaries": rolled_back_canaries(store, can),
        "alerts": firing_alerts(store, can),
        "datasets": stale_datasets(store, can),
    }


def pending_approvals(store: MetadataStore, can: Can) -> list[dict[str, Any]]:
    """Model versions submitted for review and not yet decided, oldest first."""
    waiting = [
        v
        for v in store.models.versions()
        if v.status == ModelStatus.PENDING_REVIEW and can("read_models", v.model, "models")
    ]
    waiting.sort(key=lambda v: v.created_at)
    return [{"model": v.model, "version": v.version, "since": v.created_at.isoformat()} for v in waiting]


def overdue_reviews(store: MetadataStore, can: Can) -> dict[str, Any]:
    """Review items pending past their deadline in the queues the reader may review: the count, and the
    most overdue first."""
    queues = tuple(name for name in store.review.capabilities() if can("review", name, "capabilities"))
    items, total = store.review.page(ReviewFilter(overdue_at=now(), capabilities=queues), 0, ATTENTION_LIMIT)
    listed = [
        {"decision_id": i.decision_id, "capability": i.capability, "queue": i.queue, "deadline": i.deadline.isoformat()}
        for i in items
    ]  # fmt: skip
    return {"overdue": total, "items": listed}


def rolled_back_canaries(store: MetadataStore, can: Can) -> list[dict[str, Any]]:
    """Canary ramps a guard stopped, with why."""
    found = []
    for name, split in sorted(store.traffic.all().items()):
        state = split.state or {}
        if state.get("status") == "rolled_back" and can("read_models", name, "capabilities"):
            canary = (split.policy.get("canary") or {}).get("arm")
            found.append({"capability": name, "arm": canary, "reason": state.get("reason", ""),
                          "since": state.get("since")})  # fmt: skip
    return found


def visible_capabilities(store: MetadataStore, can: Can, action: str = "read_models") -> list[str]:
    """The registered capabilities `can` allows `action` on."""
    return sorted(n for n in store.registered("capabilities") if can(action, n, "capabilities"))


def firing_alerts(store: MetadataStore, can: Can) -> dict[str, Any]:
    """Firing alerts about the capabilities the reader may see (and, for a reader of every object, those
    about none): the count and the latest raised."""
    everything = can("read_models", "*", "capabilities")
    rows, total = store.alerts.page(
        "firing", None if everything else visible_capabilities(store, can), everything, 0, ATTENTION_LIMIT
    )
    return {"firing": total, "items": [alert_body(r) for r in rows]}


def alert_body(row: Any) -> dict[str, Any]:
    """An alert as the console lists it: its labels name where (capability, arm, feature), never a value."""
    body = row.to_dict()
    body["capability"] = row.labels.get("capability")
    return body


def stale_datasets(store: MetadataStore, can: Can) -> list[dict[str, Any]]:
    """Datasets whose last snapshot is older than their promised refresh allows (or that promise one and
    have none), most overdue first."""
    specs = store.registered("datasets")
    at = now()
    found = []
    for summary in store.list_datasets():
        promised = promised_hours(specs.get(summary.name, {}).get("update_frequency"))
        if promised is None or not can("read_catalog", summary.name, "datasets"):
            continue
        refreshed = summary.refreshed_at
        age = age_hours(refreshed, at)
        if is_stale(promised, age):
            found.append({"dataset": summary.name, "promised_hours": promised, "age_hours": age,
                          "refreshed_at": refreshed.isoformat() if refreshed else None})  # fmt: skip
    found.sort(key=_overdue, reverse=True)
    return found


def _overdue(entry: dict[str, Any]) -> float:
    """How many promised periods old a dataset is (never refreshed: the most)."""
    age = entry["age_hours"]
    return float("inf") if age is None else float(age) / float(entry["promised_hours"])
