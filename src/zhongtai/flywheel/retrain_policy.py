"""What a retrain policy reads: its triggers, the champion's quality floor, and the holdout comparison.

Every function here only reads (the decision log, feedback, drift reports, the registry) and returns the
evidence it found, so the state machine (flywheel/retrain.py) can record exactly what it acted on. No value
of an input or a feature ever enters the evidence: counts, measures, versions and times only.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.flywheel.quality import _threshold, live_quality, measure
from zhongtai.meta.time import now
from zhongtai.models.predictor import load_predictor
from zhongtai.spec.base import duration_seconds
from zhongtai.spec.models import CapabilitySpec, ModelSpec

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.flywheel import FlywheelRun
    from zhongtai.meta.records import ModelVersion
    from zhongtai.meta.store import MetadataStore
    from zhongtai.spec.retrain import RetrainSpec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BY_IDS = 1_000  # decisions read per query when the holdout joins their logged features


@dataclass(frozen=True)
class Policy:
    """A model's retrain policy with what it is read against: its spec and its capability's."""

    model: ModelSpec
    retrain: RetrainSpec
    capability: CapabilitySpec

    @property
    def holdout_start(self) -> datetime:
        """The start of the recent window: the holdout, live quality and replay read decisions since."""
        return now() - timedelta(seconds=duration_seconds(self.retrain.holdout))


def read_policy(store: MetadataStore, model: str, required: bool = True) -> Policy | None:
    """The model's retrain policy; None when it has none and `required` is false (refused otherwise)."""
    spec = ModelSpec.model_validate(store.spec("models", model))
    if spec.retrain is not None:
        return Policy(spec, spec.retrain, _capability(store, spec))
    if not required:
        return None
    raise ZhongtaiError(
        "invalid_argument",
        f"model '{model}' has no retrain policy",
        "add a `retrain:` block to its spec (docs/flywheel.md#retrain-policy)",
    )


def _capability(store: MetadataStore, spec: ModelSpec) -> CapabilitySpec:
    """The capability judging the model: the policy's, or the one serving the model's champion."""
    named = spec.retrain.capability if spec.retrain is not None else None
    if named is not None:
        return CapabilitySpec.model_validate(store.spec("capabilities", named))
    serving = [
        CapabilitySpec.model_validate(body)
        for body in store.registered("capabilities").values()
        if body.get("model") == spec.name and body.get("alias", "champion") == "champion"
    ]
    if len(serving) != 1:
        raise ZhongtaiError(
            "invalid_argument",
            f"model '{spec.name}': {len(serving)} capabilities serve its champion, so its retrain policy "
            "cannot tell whose decisions judge it",
            "name one with `retrain.capability`",
        )
    return serving[0]


def trigger(store: MetadataStore, policy: Policy, last: FlywheelRun | None) -> dict[str, Any] | None:
    """The first trigger that fires since the last run (drift, quality drop, new labels, schedule), with its
    evidence; None when none does."""
    triggers, since = policy.retrain.triggers, last.created_at if last is not None else None
    name = policy.capability.name
    if triggers.drift is not None:
        reports = store.drift.reports(name, limit=1)
        if reports and (since is None or reports[0].at > since) and reports[0].results:
            share = reports[0].drifted / len(reports[0].results)
            if share > triggers.drift.max_share_drifted:
                return {"kind": "drift", "report": reports[0].id, "share_drifted": round(share, 4),
                        "max_share_drifted": triggers.drift.max_share_drifted}  # fmt: skip
    if triggers.quality is not None and triggers.quality.drop is not None:
        found = _quality_drop(store, policy)
        if found is not None:
            return found
    if triggers.new_labels is not None:
        labelled = len(store.feedback.labelled(name, since or _EPOCH))
        if labelled >= triggers.new_labels:
            return {"kind": "new_labels", "labelled": labelled, "new_labels": triggers.new_labels,
                    "since": since.isoformat() if since else None}  # fmt: skip
    if triggers.every is not None:
        base = since or store.models.by_alias(policy.model.name, "champion").created_at
        if (now() - base).total_seconds() >= duration_seconds(triggers.every):
            return {"kind": "schedule", "every": triggers.every, "since": base.isoformat()}
    return None


def champion_quality(store: MetadataStore, policy: Policy) -> dict[str, Any] | None:
    """The champion's live measure over the holdout window, from its own decisions; None before it has
    `min_decisions` labelled decisions."""
    quality = policy.retrain.triggers.quality
    if quality is None:
        return None
    champion = store.models.by_alias(policy.model.name, "champion")
    report = live_quality(store, policy.capability.name, policy.holdout_start)
    rows = [r for r in report.rows if r.model_version == champion.version]
    decisions = sum(r.decisions for r in rows)
    if decisions < quality.min_decisions:
        return None
    best = max(rows, key=lambda r: r.decisions)  # the arm that served most of the champion's answers
    value = best.measures.get(quality.measure)
    if value is None:
        return None
    return {"version": champion.version, "measure": quality.measure, "value": round(value, 4),
            "decisions": best.decisions, "since": policy.holdout_start.isoformat()}  # fmt: skip


def _quality_drop(store: MetadataStore, policy: Policy) -> dict[str, Any] | None:
    quality = policy.retrain.triggers.quality
    live = champion_quality(store, policy)
    if quality is None or quality.drop is None or live is None:
        return None
    champion = store.models.get(policy.model.name, live["version"])
    trained = (champion.metrics.get("validation") or {}).get(quality.measure)
    if not isinstance(trained, int | float) or live["value"] > trained - quality.drop:
        return None
    return {"kind": "quality_drop", **live, "validation": round(float(trained), 4), "drop": quality.drop}


def below_floor(store: MetadataStore, policy: Policy) -> dict[str, Any] | None:
    """The champion's live measure when it is below the policy's floor (with its evidence), else None."""
    quality = policy.retrain.triggers.quality
    live = champion_quality(store, policy)
    if quality is None or quality.floor is None or live is None or live["value"] >= quality.floor:
        return None
    return {**live, "floor": quality.floor}


def compare(
    store: MetadataStore, storage: LakeStorage, policy: Policy, champion: int, challenger: int
) -> dict[str, Any]:
    """Champion and challenger re-scored on the same recent holdout — the capability's answered decisions
    of the holdout window that have an outcome, from their logged feature values — and measured against the
    outcomes (AUC, precision and recall at the capability's threshold)."""
    since = policy.holdout_start
    labelled = store.feedback.labelled(policy.capability.name, since)
    features = _logged_features(store, [item.decision_id for item in labelled])
    holdout = [item for item in labelled if item.decision_id in features]
    evidence: dict[str, Any] = {"holdout_since": since.isoformat(), "holdout_decisions": len(holdout)}
    for role, version in (("champion", champion), ("challenger", challenger)):
        found = store.models.get(policy.model.name, version)
        scores = _scores(storage, found, [features[item.decision_id] for item in holdout])
        rescored = [
            dataclasses.replace(item, score=float(s)) for item, s in zip(holdout, scores, strict=True)
        ]
        measured = measure("binary_classification", rescored, _threshold(policy.capability))
        measures = measured[1] if measured is not None else {}
        evidence[role] = {"version": version, **{k: _round(v) for k, v in measures.items()}}
    return evidence


def _logged_features(store: MetadataStore, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Logged feature values of the decisions that were not fallbacks, by decision id."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _BY_IDS):
        for record in store.decisions.by_ids(ids[start : start + _BY_IDS]):
            if not record.fallback and record.features:
                found[record.id] = record.features
    return found


def _scores(storage: LakeStorage, version: ModelVersion, rows: list[dict[str, Any]]) -> np.ndarray:
    if not rows:
        return np.empty(0)
    model = load_predictor(storage, version.artifact, version.artifact_format)
    matrix = np.array([[_number(row.get(f)) for f in version.features] for row in rows], dtype=np.float64)
    return np.asarray(model.predict(matrix), dtype=np.float64)


def _number(value: Any) -> float:
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
