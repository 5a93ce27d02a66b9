"""A capability's traffic policy: the arms that answer (A/B weights) and the shadows scored beside them.

An arm is a model version reached through an alias (`champion`, `challenger`) or pinned by number. Who gets
which arm is decided by a hash of the request's entity key, so the same person keeps the same arm while the
weights stand. Shadows are scored after the answer has left and are only logged.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from zhongtai.spec.base import AliasName, Spec

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


class TrafficSpec(Spec):
    """Arms with weights (sticky by the entity key) and shadows. Without it the capability's `alias` takes
    all the traffic as one arm of that name."""

    arms: list[ArmSpec] = Field(min_length=1, max_length=10, description="The arms that answer.")
    shadows: list[ShadowSpec] = Field(default=[], max_length=5, description="Versions scored in the shadow.")

    @model_validator(mode="after")
    def _consistent(self) -> TrafficSpec:
        names = [a.name for a in self.arms] + [s.name for s in self.shadows]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"arm and shadow names must differ: {', '.join(repeated)} repeated")
        if sum(a.weight for a in self.arms) <= 0:
            raise ValueError("at least one arm needs a weight above 0")
        return self
