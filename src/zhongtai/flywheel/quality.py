"""Live quality: logged decisions joined with the outcomes reported for them, per model version and arm.

The measure follows the capability's task, from the outcome each decision got:
- binary classification: AUC of the scores against the outcome, and precision and recall at the decision threshold (the
  lowest `min_score` of the capability's rules); the outcome is the first of `label`, `verdict`, `churned`,
  `bought`, `clicked`, `resolved` a decision has, read as true or false;
- multiclass and text classification: accuracy — the answer against a `label` (the true class) or a reviewer's
  `verdict` (`accept`/`approve`/true: the answer was right; `reject`/false: wrong; another text: the true class);
- recommendation: hit rate — a `clicked` or `bought` outcome that is true or names one of the items answered;
- regression and forecast: mean absolute error and mean absolute percentage error against a numeric `label`
  (a forecast's predicted value is its horizon total).

Decisions with no outcome yet are not counted (late feedback fills them in on the next reading); the count of
labelled decisions is always reported beside the measure, so a figure from ten outcomes reads as such.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from zhongtai.meta.feedback import LabelledDecision
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import CapabilitySpec, ModelSpec

BINARY_KINDS = ("label", "verdict", "churned", "bought", "clicked", "resolved")
CLASS_KINDS = ("label", "verdict")
HIT_KINDS = ("clicked", "bought")
RIGHT = frozenset({"accept", "accepted", "approve", "approved", "correct", "yes", "true"})
WRONG = frozenset({"reject", "rejected", "wrong", "incorrect", "no", "false"})
MEASURES = {
    "binary_classification": ("auc", "precision", "recall"),
    "multiclass_classification": ("accuracy",),
    "text_classification": ("accuracy",),
    "recommendation": ("hit_rate",),
    "regression": ("mae", "mape"),
    "forecast": ("mae", "mape"),
}


@dataclass(frozen=True)
class QualityRow:
    """The live quality of one model version and arm (over one period when read by period)."""

    model_version: int | None
    arm: str
    period: str | None
    decisions: int  # decisions with an outcome
    measures: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.__dict__}


@dataclass(frozen=True)
class LiveQuality:
    """A capability's live quality: its task, what is measured, and one row per version, arm (and period)."""

    capability: str
    task: str
    measures: tuple[str, ...]
    rows: list[QualityRow]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "capability": self.capability,
            "task": self.task,
            "measures": list(self.measures),
            "rows": [r.to_dict() for r in self.rows],
        }


def live_quality(
    store: MetadataStore,
    capability: str,
    since: datetime,
    until: datetime | None = None,
    by_day: bool = False,
) -> LiveQuality:
    """The live quality of a capability's decisions made in [since, until), per model version and arm (and
    day); NotFound when the capability is not registered."""
    spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
    task = ModelSpec.model_validate(store.spec("models", spec.model)).task
    labelled = store.feedback.labelled(capability, since, until)
    groups: dict[tuple[int | None, str, str | None], list[LabelledDecision]] = defaultdict(list)
    for item in labelled:
        period = item.at.date().isoformat() if by_day else None
        groups[(item.model_version, item.arm or "champion", period)].append(item)
    threshold = _threshold(spec)
    rows = []
    for (version, arm, period), items in sorted(groups.items(), key=_order):
        measured = measure(task, items, threshold)
        if measured is not None:
            count, measures = measured
            rows.append(QualityRow(version, arm, period, count, measures))
    return LiveQuality(capability, task, MEASURES.get(task, ()), rows)


def measure(
    task: str, items: Sequence[LabelledDecision], threshold: float = 0.5
) -> tuple[int, dict[str, float | None]] | None:
    """(labelled decisions, measures) of decisions of one task; None when none has a usable outcome."""
    if task == "binary_classification":
        return _binary(items, threshold)
    if task in ("multiclass_classification", "text_classification"):
        return _accuracy(items)
    if task == "recommendation":
        return _hit_rate(items)
    if task in ("regression", "forecast"):
        return _errors(items)
    return None


def _binary(
    items: Iterable[LabelledDecision], threshold: float
) -> tuple[int, dict[str, float | None]] | None:
    pairs = [
        (item.score, label)
        for item in items
        if item.score is not None and (label := _truth(item.outcome(BINARY_KINDS))) is not None
    ]
    if not pairs:
        return None
    positives = [s for s, y in pairs if y]
    negatives = [s for s, y in pairs if not y]
    flagged = [y for s, y in pairs if s >= threshold]
    return len(pairs), {
        "auc": _auc(positives, negatives),
        "precision": sum(flagged) / len(flagged) if flagged else None,
        "recall": sum(1 for s in positives if s >= threshold) / len(positives) if positives else None,
    }


def _auc(positives: list[float], negatives: list[float]) -> float | None:
    """ROC AUC of the scores against the outcomes; None without both classes."""
    if not positives or not negatives:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([1] * len(positives) + [0] * len(negatives), positives + negatives))


def _accuracy(items: Iterable[LabelledDecision]) -> tuple[int, dict[str, float | None]] | None:
    right = [r for item in items if (r := _right(item)) is not None]
    return (len(right), {"accuracy": sum(right) / len(right)}) if right else None


def _right(item: LabelledDecision) -> bool | None:
    """Whether a classifying decision was right, by its label or a reviewer's verdict."""
    label = item.outcomes.get("label")
    if label is not None:
        return str(label) == item.decision
    verdict = item.outcomes.get("verdict")
    if verdict is None:
        return None
    if isinstance(verdict, bool):
        return verdict
    text = str(verdict).strip().lower()
    if text in RIGHT:
        return True
    if text in WRONG:
        return False
    return str(verdict) == item.decision  # a correction names the true class


def _hit_rate(items: Iterable[LabelledDecision]) -> tuple[int, dict[str, float | None]] | None:
    hits = [h for item in items if (h := _hit(item)) is not None]
    return (len(hits), {"hit_rate": sum(hits) / len(hits)}) if hits else None


def _hit(item: LabelledDecision) -> bool | None:
    value = item.outcome(HIT_KINDS)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    answered = (item.output or {}).get("items") or []
    return any(
        str(value) in {str(v) for v in entry.values()} for entry in answered if isinstance(entry, dict)
    )


def _errors(items: Iterable[LabelledDecision]) -> tuple[int, dict[str, float | None]] | None:
    pairs = [
        (predicted, actual)
        for item in items
        if (actual := _number(item.outcomes.get("label"))) is not None
        and (predicted := _predicted(item)) is not None
    ]
    if not pairs:
        return None
    scaled = [abs(p - a) / abs(a) for p, a in pairs if a != 0]
    return len(pairs), {
        "mae": sum(abs(p - a) for p, a in pairs) / len(pairs),
        "mape": sum(scaled) / len(scaled) if scaled else None,
    }


def _predicted(item: LabelledDecision) -> float | None:
    forecast = (item.output or {}).get("forecast")
    if isinstance(forecast, dict):
        return _number(forecast.get("total"))
    return item.score


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0 if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip().lower()
        return (
            True
            if text in RIGHT | {"1", "churned", "bought", "clicked", "resolved"}
            else (False if text in WRONG | {"0"} else None)
        )
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _threshold(spec: CapabilitySpec) -> float:
    """Where a binary capability's answers turn positive: its lowest rule above zero (0.5 without rules)."""
    floors = [rule.min_score for rule in spec.decisions if rule.min_score > 0]
    return min(floors) if floors else 0.5


def _order(entry: tuple[tuple[int | None, str, str | None], Any]) -> tuple[int, str, str]:
    (version, arm, period), _ = entry
    return (version if version is not None else -1, arm, period or "")


def window_start(since: str, where: str) -> datetime:
    """The start of a window given as a duration back from now (`7d`, `12h`); invalid_argument naming
    `where` (the option or parameter) otherwise."""
    from datetime import UTC, timedelta

    from zhongtai.errors import ZhongtaiError
    from zhongtai.meta.time import now
    from zhongtai.spec.base import duration_seconds

    try:
        return now() - timedelta(seconds=duration_seconds(since))
    except ValueError as exc:
        raise ZhongtaiError("invalid_argument", f"{where}: {exc}") from None
    except OverflowError:  # further back than any decision: the whole log
        return datetime.min.replace(tzinfo=UTC)
