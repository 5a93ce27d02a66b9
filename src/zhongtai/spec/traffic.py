"""A capability's traffic policy: the arms that answer (A/B weights) and the shadows scored beside them.

An arm is a model version reached through an alias (`champion`, `challenger`) or pinned by number. Who gets
which arm is decided by a hash of the request's entity key, so the same person keeps the same arm while the
weights stand. Shadows are scored after the answer has left and are only logged.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from zhongtai.spec.base import AliasName, Duration, Spec

ArmName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]


class ArmSpec(Spec):
    """One arm: a name for answers and logs, the version it serves (by alias or number), its weight."""

    name: ArmName = Field(description="The arm's name, returned in every answer (`arm`) and logged.")
    alias: AliasName | None = Field(
        default=None, description="The model alias it serves; defaults to its name."
    )
    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="A model version it serves instead of an alias."
    )
    weight: float = Field(ge=0, le=100, description="Its share of the traffic, relative to the other arms'.")

    @model_validator(mode="after")
    def _one_target(self) -> ArmSpec:
        if self.alias is not None and self.version is not None:
            raise ValueError(f"arm '{self.name}': give alias or version, not both")
        return self

    @property
    def serves(self) -> str:
        """What it serves, as the registry names it: an alias, or `v<number>`."""
        return f"v{self.version}" if self.version is not None else self.alias or self.name


class ShadowSpec(Spec):
    """A version scored off the response path on a sample of requests, logged but never returned."""

    name: ArmName = Field(description="The shadow's name in the decision log.")
    alias: AliasName | None = Field(
        default=None, description="The model alias it serves; defaults to its name."
    )
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="A model version instead.")
    sample: float = Field(default=1.0, gt=0, le=1, description="Share of the requests it scores.")

    @property
    def serves(self) -> str:
        """What it serves, as the registry names it: an alias, or `v<number>`."""
        return f"v{self.version}" if self.version is not None else self.alias or self.name


class GuardsSpec(Spec):
    """What rolls a canary back at once: each limit is checked over the sliding window, on the canary arm's
    own requests, once it has `min_requests` of them."""

    window: Duration = Field(default="5m", description="The sliding window the guards look at.")
    min_requests: int = Field(default=100, ge=10, description="Canary requests in the window before judging.")
    max_error_rate: float = Field(
        default=0.01, ge=0, le=1, description="Share of canary answers that failed."
    )
    max_fallback_increase: float = Field(
        default=0.05, ge=0, le=1, description="Fallback share allowed above the other arms' in the window."
    )
    max_p99_ms: float | None = Field(
        default=None, gt=0, description="p99 decide time of the canary arm, in milliseconds."
    )
    max_score_psi: float = Field(
        default=0.25, gt=0, description="PSI of the canary's scores against the other arms' in the window."
    )


class CanarySpec(Spec):
    """A ramp for one arm: its weight steps up (percent of all traffic) while the guards hold, and drops to
    0 at once when one trips. At the last step it is promoted (its version becomes `champion`) or held for a
    person to promote, as `complete` says."""

    arm: str = Field(description="The arm being ramped (one of `arms`).")
    steps: list[float] = Field(
        default=[5, 25, 50, 100], min_length=1, description="Percent of traffic at each step, rising."
    )
    step_every: Duration = Field(default="10m", description="How long each step must hold before the next.")
    guards: GuardsSpec = Field(default=GuardsSpec(), description="What rolls the canary back.")
    complete: Literal["promote", "hold"] = Field(
        default="hold",
        description="At the last step: `promote` moves champion to the canary's version by itself; `hold` "
        "waits for `zhongtai capabilities promote`.",
    )

    @model_validator(mode="after")
    def _rising(self) -> CanarySpec:
        if any(b <= a for a, b in zip(self.steps, self.steps[1:], strict=False)) or not self.steps[0] > 0:
            raise ValueError("canary steps must rise, each above 0")
        if self.steps[-1] > 100:
            raise ValueError("canary steps are percents: at most 100")
        return self


class TrafficSpec(Spec):
    """Arms with weights (sticky by the entity key) and shadows. Without it the capability's `alias` takes
    all the traffic as one arm of that name."""

    arms: list[ArmSpec] = Field(min_length=1, max_length=10, description="The arms that answer.")
    shadows: list[ShadowSpec] = Field(default=[], max_length=5, description="Versions scored in the shadow.")
    canary: CanarySpec | None = Field(default=None, description="A guarded ramp of one of the arms.")

    @model_validator(mode="after")
    def _consistent(self) -> TrafficSpec:
        names = [a.name for a in self.arms] + [s.name for s in self.shadows]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"arm and shadow names must differ: {', '.join(repeated)} repeated")
        if sum(a.weight for a in self.arms) <= 0:
            raise ValueError("at least one arm needs a weight above 0")
        if self.canary is not None:
            if self.canary.arm not in [a.name for a in self.arms]:
                raise ValueError(f"canary.arm '{self.canary.arm}' is not one of the arms")
            if len(self.arms) < 2:
                raise ValueError("a canary needs another arm to compare with and fall back to")
        return self
