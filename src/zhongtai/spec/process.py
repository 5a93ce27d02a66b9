"""How a capability answers a process engine's decision node (BPMN service task, RPA bot): outcomes by score
bands, the outcome of a case a person must look at, and the deadline a job is given."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from zhongtai.spec.base import Duration, Spec

Outcome = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,62}$")]


class OutcomeBand(Spec):
    """Scores at or above `min_score` get `outcome`; the bands are tried highest first."""

    outcome: Outcome = Field(description="The outcome a process branches on, like AUTO_APPROVE.")
    min_score: float = Field(default=0.0, ge=0, le=1, description="The lowest score that gets it.")


class ProcessSpec(Spec):
    """The decision-node contract of a capability (docs/integration.md#process-engines)."""

    outcomes: list[OutcomeBand] = Field(
        default=[], description="Score bands and their outcomes; without them the decision, in capitals."
    )
    review_outcome: Outcome = Field(
        default="HUMAN_REVIEW", description="The outcome of a fallback or of a confidence below the floor."
    )
    min_confidence: float = Field(
        default=0.0, ge=0, le=1, description="Below this confidence the case goes to review."
    )
    deadline: Duration = Field(
        default="1d", description="How long the process may take to act on the answer."
    )
