"""A model's retrain policy: what triggers a challenger, how it is judged, and how it reaches champion.

The flywheel (flywheel/retrain.py) reads it: a trigger (drift, a drop in live quality, N new labels or a
schedule) trains a challenger, which is compared with the champion on the same recent holdout, replayed on
logged traffic, scored in the shadow and ramped through a canary before it becomes champion; a champion whose
live quality falls below `quality.floor` is rolled back.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from zhongtai.spec.base import Duration, Spec
from zhongtai.spec.traffic import CanarySpec


class DriftTrigger(Spec):
    """Retrain when the capability's latest drift report flags too many of its columns."""

    max_share_drifted: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description="Share of the checked columns (features and score) a drift report may flag before a "
        "retrain is triggered.",
    )


class QualityTrigger(Spec):
    """Live quality of the champion (flywheel/quality.py), read over the policy's holdout window."""

    measure: Literal["auc", "precision", "recall"] = Field(
        default="auc", description="The live measure watched, of the champion's own decisions."
    )
    drop: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Retrain when the live measure is this much below the champion's validation measure.",
    )
    floor: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Roll the champion back to the version before it when its live measure falls below this.",
    )
    min_decisions: int = Field(
        default=30, ge=1, description="Labelled decisions the live measure needs before it is believed."
    )


class TriggersSpec(Spec):
    """What starts a retrain; any one of them does. At least one must be given."""

    drift: DriftTrigger | None = Field(default=None, description="Drift of the served features or scores.")
    quality: QualityTrigger | None = Field(
        default=None, description="A drop of live quality (and the floor that rolls the champion back)."
    )
    new_labels: int | None = Field(
        default=None,
        ge=1,
        description="Retrain once this many decisions made since the last run have an outcome "
        "(e.g. 1000: 当更新超过1000条时).",
    )
    every: Duration | None = Field(default=None, description="Retrain on a schedule, like 7d.")

    @model_validator(mode="after")
    def _some(self) -> TriggersSpec:
        if self.drift is None and self.quality is None and self.new_labels is None and self.every is None:
            raise ValueError("give at least one trigger: drift, quality, new_labels or every")
        return self


class ShadowStage(Spec):
    """How long the challenger is scored in the shadow of live traffic before its canary starts."""

    window: Duration = Field(default="1h", description="How long the shadow runs.")
    sample: float = Field(default=1.0, gt=0, le=1, description="Share of the requests the shadow scores.")


class RetrainSpec(Spec):
    """When a model retrains and how a challenger earns promotion (docs/flywheel.md#retrain-policy)."""

    capability: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")] | None = Field(
        default=None,
        description="The capability whose decisions judge the model; by default the one capability "
        "serving the model's champion.",
    )
    triggers: TriggersSpec = Field(description="What starts a retrain.")
    holdout: Duration = Field(
        default="7d",
        description="The recent window of labelled decisions both champion and challenger are scored on, "
        "and over which live quality and replay are read.",
    )
    min_improvement: float = Field(
        default=0.0,
        ge=-1,
        le=1,
        description="How much higher the challenger's AUC on the holdout must be than the champion's.",
    )
    min_holdout: int = Field(
        default=30, ge=1, description="Labelled decisions the holdout needs before a comparison is believed."
    )
    shadow: ShadowStage = Field(default=ShadowStage(), description="The shadow stage.")
    canary: CanarySpec | None = Field(
        default=None,
        description="The canary ramp of the challenger (its `arm` must be `challenger`); without it the "
        "challenger is promoted after its shadow.",
    )
    require_approval: bool = Field(
        default=True,
        description="A second principal approves the challenger (`zhongtai flywheel approve`) before it "
        "serves live traffic; a model spec requiring approval always does.",
    )

    @model_validator(mode="after")
    def _canary_arm(self) -> RetrainSpec:
        if self.canary is not None and self.canary.arm != "challenger":
            raise ValueError(
                f"canary.arm must be 'challenger' (the arm the flywheel ramps), not {self.canary.arm!r}"
            )
        return self
