"""How a capability's review queue runs: how long an item may wait for a verdict, and who takes a queue's
overdue items (docs/review.md)."""

from __future__ import annotations

from pydantic import Field

from zhongtai.spec.base import Duration, Spec


class ReviewSpec(Spec):
    """The review queue of a capability: its items' deadline (SLA) and escalation targets per queue."""

    sla: Duration = Field(
        default="4h",
        description="How long an item may wait for a verdict after its decision; a process node's own "
        "deadline, when it gives one, comes first.",
    )
    escalate_to: dict[str, str] = Field(
        default={},
        description="Who takes a queue's overdue items when they are escalated: queue → reviewer, e.g. "
        "`{vip_care: care.lead}`; other queues keep their assignee.",
    )
