"""Decision replay: a challenger judged on real traffic before it serves any.

The decision log keeps every answer's model feature values. `replay` re-scores the answers a capability gave
over a period with another model version, from those logged values (the online store is not read: the
features are what the serving version saw), applies the capability's score bands, and reports how often the
decision stays the same, how the scores move (mean shift, mean absolute difference, PSI), and which decisions
flip to which. Fallback answers (no features) are counted, not re-scored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.capabilities.canary import psi
from zhongtai.capabilities.traffic import serving_version
from zhongtai.errors import ZhongtaiError
from zhongtai.models.predictor import load_predictor
from zhongtai.spec.models import SCORE_BAND_TASKS, CapabilitySpec, ModelSpec

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

MAX_DECISIONS = 1_000_000
_CHUNK = 10_000


@dataclass
class ReplayReport:
    """How another version would have answered the logged decisions of a period."""

    capability: str
    candidate: int
    since: str
    decisions: int = 0
    replayed: int = 0
    fallbacks: int = 0
    agreement: float | None = None
    mean_shift: float | None = None
    mean_abs_diff: float | None = None
    psi: float | None = None
    flips: dict[str, int] = field(default_factory=dict)  # "old -> new": count, for decisions that changed
    by_version: dict[str, int] = field(default_factory=dict)  # logged serving version: decisions replayed
    quality: str = "no feedback joined yet: agreement and score shift only"

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        return dict(self.__dict__)


def replay(
    store: MetadataStore,
    storage: LakeStorage,
    capability: str,
    candidate: str,
    since: datetime,
    limit: int = MAX_DECISIONS,
    on_progress: Callable[[int], None] | None = None,
    spec: CapabilitySpec | None = None,
) -> ReplayReport:
    """Re-score the capability's logged answers since `since` with `candidate` (an alias, `v<number>` or
    a number) and compare with what was answered. With `spec` (a composed, unapplied change of the
    capability) its model and score bands judge instead of the registered ones: the impact of the change."""
    if spec is None:
        spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
    task = ModelSpec.model_validate(store.spec("models", spec.model)).task
    if task not in SCORE_BAND_TASKS:
        raise ZhongtaiError(
            "invalid_argument",
            f"replay compares score bands: capability '{capability}' serves a {task} model",
            "replay a binary classification capability",
        )
    version = serving_version(store, spec.model, f"v{candidate}" if candidate.isdigit() else candidate)
    model = load_predictor(storage, version.artifact, version.artifact_format)
    features = list(version.features)
    rules = [(r.min_score, r.decision) for r in spec.ranked_decisions()]
    report = ReplayReport(capability, version.version, since.isoformat())
    logged = store.decisions.served_since(capability, since, limit)
    report.decisions = len(logged)
    scored = [r for r in logged if not r.fallback and r.score is not None]
    report.fallbacks = report.decisions - len(scored)
    if not scored:
        return report
    missing = sorted(set(features) - set().union(*(r.features.keys() for r in scored[:100])))
    if missing:
        raise ZhongtaiError(
            "invalid_argument",
            f"{spec.model} v{version.version} uses features the logged decisions lack: {', '.join(missing)}",
            "replay a version trained on the features the capability serves",
        )
    old_scores: list[float] = []
    new_scores: list[float] = []
    flips: Counter[str] = Counter()
    agree = 0
    for start in range(0, len(scored), _CHUNK):
        chunk = scored[start : start + _CHUNK]
        rows = np.array([[_number(r.features.get(f)) for f in features] for r in chunk], dtype=np.float64)
        for record, score in zip(chunk, model.predict(rows), strict=True):
            decision = next((d for floor, d in rules if score >= floor), spec.fallback.decision)
            old_scores.append(float(record.score or 0.0))
            new_scores.append(float(score))
            report.by_version[f"v{record.model_version}"] = (
                report.by_version.get(f"v{record.model_version}", 0) + 1
            )
            if decision == record.decision:
                agree += 1
            else:
                flips[f"{record.decision} -> {decision}"] += 1
        if on_progress is not None:
            on_progress(min(start + _CHUNK, len(scored)))
    old, new = np.asarray(old_scores), np.asarray(new_scores)
    report.replayed = len(scored)
    report.agreement = round(agree / len(scored), 4)
    report.mean_shift = round(float(np.mean(new - old)), 4)
    report.mean_abs_diff = round(float(np.mean(np.abs(new - old))), 4)
    report.psi = round(psi(old, new), 4) if len(scored) >= 20 else None
    report.flips = dict(flips.most_common())
    return report


def _number(value: Any) -> float:
    """A logged feature value as the runtime fed it to the model: a number, or missing (NaN)."""
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan
