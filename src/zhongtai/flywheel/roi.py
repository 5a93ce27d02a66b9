"""ROI metering: per capability over a window, who calls it (the business systems, by key name), how often,
what it costs in latency, and the outcomes attributed to its decisions from feedback; and how often each
feature view, feature group and model is reused by capabilities.

Outcomes are counted only where the decision log and feedback can show them:
- binary (churn-like): decisions flagged at risk (a rule with `min_score` above 0 answered) whose `churned`
  outcome came back false are *retained*, true *lost*;
- recommendation: answers with a `clicked` or `bought` outcome that is true or names an answered item are
  *clicks* and *conversions*;
- text classification (intent routing): answers routed `auto` are tickets handled without a person, and those
  with a true `resolved` outcome were *resolved*;
- forecast: stock-outs avoided cannot be seen in the log (the counterfactual is unknown), so none is claimed.

Money is never inferred: a value per outcome (`churn-risk:retained=120`) is the user's assumption, multiplied
by the count and reported as such. The aggregation runs in the database (flywheel/usage.py).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zhongtai.errors import ZhongtaiError
from zhongtai.flywheel.reuse import Reuse, reuse
from zhongtai.flywheel.usage import (
    CallGroup,
    OutcomeGroup,
    call_groups,
    latency_percentiles,
    named_outcomes,
    outcome_groups,
)
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import CapabilitySpec

# The outcomes a value can be put on, per task.
VALUED = {
    "binary_classification": ("retained",),
    "recommendation": ("clicks", "conversions"),
    "text_classification": ("auto", "resolved"),
}
NOT_MEASURABLE = {
    "forecast": "stock-outs avoided are not measurable from the decision log: what would have happened "
    "without the forecast is unknown",
}
TRUE_TEXT = frozenset({"true", "yes", "1", "clicked", "bought", "resolved", "churned"})
FALSE_TEXT = frozenset({"false", "no", "0"})
VALUE_PATTERN = r"^[^:=\s]+:[a-z_]+=[0-9]{1,15}(\.[0-9]{1,6})?$"
_VALUE = re.compile(r"^(?P<capability>[^:=\s]+):(?P<outcome>[a-z_]+)=(?P<amount>[0-9]{1,15}(\.[0-9]{1,6})?)$")


@dataclass(frozen=True)
class CapabilityRoi:
    """One capability's use and attributed outcomes over the window."""

    capability: str
    task: str
    calls: int
    callers: dict[str, int]
    fallbacks: int
    p50_ms: float | None
    p95_ms: float | None
    compute_seconds: float
    outcomes: dict[str, Any]
    value: dict[str, float] = field(default_factory=dict)  # outcome -> count x the user's assumed value

    @property
    def fallback_share(self) -> float | None:
        """The share of calls a fallback answered."""
        return self.fallbacks / self.calls if self.calls else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.__dict__, "fallback_share": self.fallback_share}


@dataclass(frozen=True)
class RoiReport:
    """The ROI report of a window: capabilities, reuse, and the value assumptions applied."""

    since: datetime
    until: datetime | None
    capabilities: list[CapabilityRoi]
    reuse: list[Reuse]
    assumptions: dict[str, float]  # "capability:outcome" -> value per outcome, as the user gave it

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat() if self.until else None,
            "capabilities": [c.to_dict() for c in self.capabilities],
            "reuse": [r.to_dict() for r in self.reuse],
            "assumptions": {
                "values": self.assumptions,
                "note": "values per outcome are the user's assumptions, not measured",
            },
        }


def parse_values(texts: Iterable[str], where: str) -> dict[tuple[str, str], float]:
    """`CAPABILITY:OUTCOME=AMOUNT` texts (an amount of up to 15 digits and 6 decimals) as
    {(capability, outcome): amount}; invalid_argument naming `where` otherwise."""
    values: dict[tuple[str, str], float] = {}
    for text in texts:
        match = _VALUE.match(text.strip())
        if match is None:
            raise ZhongtaiError(
                "invalid_argument",
                f"{where}: {text!r} is not CAPABILITY:OUTCOME=AMOUNT",
                "e.g. churn-risk:retained=120 (¥120 per retained customer)",
            )
        values[(match["capability"], match["outcome"])] = float(match["amount"])
    return values


def roi_report(
    store: MetadataStore,
    since: datetime,
    until: datetime | None = None,
    values: dict[tuple[str, str], float] | None = None,
    visible: Callable[[str, str], bool] = lambda name, kind: True,
) -> RoiReport:
    """The ROI report of the decisions made in [since, until) for every registered capability `visible`
    allows (`visible(name, kind)`); not_found when a value names an unknown capability, invalid_argument
    when it names an outcome the capability's task has not."""
    specs = {
        name: CapabilitySpec.model_validate(spec)
        for name, spec in store.registered("capabilities").items()
        if visible(name, "capabilities")
    }
    models = store.registered("models")
    tasks = {name: str(models.get(s.model, {}).get("task", "")) for name, s in specs.items()}
    _check_values(values or {}, tasks)
    calls: dict[str, list[CallGroup]] = defaultdict(list)
    for group in call_groups(store, since, until):
        calls[group.capability].append(group)
    outcomes: dict[str, list[OutcomeGroup]] = defaultdict(list)
    for found in outcome_groups(store, since, until):
        outcomes[found.capability].append(found)
    rows = [
        _capability(
            store, name, specs[name], tasks[name], calls[name], outcomes[name], (since, until), values
        )
        for name in sorted(specs)
    ]
    per_capability = {row.capability: row.calls for row in rows}
    assumed = {f"{c}:{o}": v for (c, o), v in (values or {}).items()}
    return RoiReport(since, until, rows, reuse(store, per_capability, visible), assumed)


def _check_values(values: dict[tuple[str, str], float], tasks: dict[str, str]) -> None:
    for capability, outcome in values:
        if capability not in tasks:
            raise ZhongtaiError(
                "not_found",
                f"value {capability}:{outcome}: no capability {capability!r} in the report",
                "zhongtai catalog search TEXT finds the registered capabilities",
            )
        allowed = VALUED.get(tasks[capability], ())
        if outcome not in allowed:
            task = tasks[capability] or "an unknown task"
            raise ZhongtaiError(
                "invalid_argument",
                f"value {capability}:{outcome}: {capability} ({task}) has no outcome {outcome!r}",
                f"outcomes with a value: {', '.join(allowed) or 'none for this task'}",
            )


def _capability(
    store: MetadataStore,
    name: str,
    spec: CapabilitySpec,
    task: str,
    calls: list[CallGroup],
    outcomes: list[OutcomeGroup],
    window: tuple[datetime, datetime | None],
    values: dict[tuple[str, str], float] | None,
) -> CapabilityRoi:
    total = sum(g.calls for g in calls)
    callers: dict[str, int] = defaultdict(int)
    for group in calls:
        callers[group.principal] += group.calls
    attributed = attribute(store, name, spec, task, calls, outcomes, window)
    money = {
        outcome: round(attributed.get(outcome, 0) * amount, 2)
        for (capability, outcome), amount in (values or {}).items()
        if capability == name
    }
    return CapabilityRoi(
        capability=name, task=task, calls=total,
        callers=dict(sorted(callers.items(), key=lambda item: (-item[1], item[0]))),
        fallbacks=sum(g.calls for g in calls if g.fallback),
        **latency_percentiles(store, name, total, *window),
        compute_seconds=round(sum(g.latency_ms for g in calls) / 1000, 3),
        outcomes=attributed, value=money,
    )  # fmt: skip


def attribute(
    store: MetadataStore,
    name: str,
    spec: CapabilitySpec,
    task: str,
    calls: list[CallGroup],
    outcomes: list[OutcomeGroup],
    window: tuple[datetime, datetime | None],
) -> dict[str, Any]:
    """The outcomes attributed to one capability's decisions, by its task."""
    if task in NOT_MEASURABLE:
        return {"measurable": False, "note": NOT_MEASURABLE[task]}
    if task == "binary_classification":
        return _retention(spec, calls, outcomes)
    if task == "recommendation":
        return _conversions(store, name, calls, outcomes, window)
    if task == "text_classification":
        return _routing(calls, outcomes)
    return {"with_feedback": _decisions_with_feedback(outcomes), "note": f"no business outcome for {task}"}


def _retention(spec: CapabilitySpec, calls: list[CallGroup], outcomes: list[OutcomeGroup]) -> dict[str, Any]:
    at_risk = {rule.decision for rule in spec.decisions if rule.min_score > 0}
    flagged = [g for g in calls if not g.fallback and g.decision in at_risk]
    churn = [
        (truth(o.value), o.decisions)
        for o in outcomes
        if o.kind == "churned" and not o.fallback and o.decision in at_risk
    ]
    retained = sum(n for churned, n in churn if churned is False)
    lost = sum(n for churned, n in churn if churned is True)
    return {
        "flagged": sum(g.calls for g in flagged),
        "retained": retained,
        "lost": lost,
        "retention_rate": _share(retained, retained + lost),
    }


def _conversions(
    store: MetadataStore,
    name: str,
    calls: list[CallGroup],
    outcomes: list[OutcomeGroup],
    window: tuple[datetime, datetime | None],
) -> dict[str, Any]:
    counts = {"clicked": 0, "bought": 0}
    named = False
    for found in outcomes:
        if found.kind in counts:
            if isinstance(found.value, str) and truth(found.value) is None:
                named = True  # an item's id: checked against the answer below
            elif truth(found.value):
                counts[found.kind] += found.decisions
    if named:
        for kind, item, answer in named_outcomes(store, name, ("clicked", "bought"), *window):
            if truth(item) is None and _answered(item, answer):
                counts[kind] += 1
    total = sum(g.calls for g in calls)
    return {
        "clicks": counts["clicked"],
        "conversions": counts["bought"],
        "click_share": _share(counts["clicked"], total),
        "conversion_share": _share(counts["bought"], total),
    }


def _answered(item: str, answer: dict[str, Any] | None) -> bool:
    entries = (answer or {}).get("items") or []
    return any(item in {str(v) for v in entry.values()} for entry in entries if isinstance(entry, dict))


def _routing(calls: list[CallGroup], outcomes: list[OutcomeGroup]) -> dict[str, Any]:
    auto = sum(g.calls for g in calls if g.route == "auto")
    reviewed = sum(g.calls for g in calls if g.route == "human_review")
    known = [(truth(o.value), o.decisions) for o in outcomes if o.kind == "resolved" and o.route == "auto"]
    resolved = sum(n for ok, n in known if ok is True)
    return {
        "auto": auto,
        "human_review": reviewed,
        "auto_share": _share(auto, sum(g.calls for g in calls)),
        "resolved": resolved,
        "resolved_share": _share(resolved, sum(n for ok, n in known if ok is not None)),
    }


def _decisions_with_feedback(outcomes: list[OutcomeGroup]) -> int:
    """Outcomes reported (a decision with two kinds counts twice: the groups do not say)."""
    return sum(o.decisions for o in outcomes)


def truth(value: Any) -> bool | None:
    """An outcome read as true or false (None: neither, e.g. an item's id)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0 if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in TRUE_TEXT else (False if text in FALSE_TEXT else None)
    return None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
