"""The `schedules` spec kind: jobs the scheduler runs on a fixed interval or a cron expression.

A job names one platform command (ingest a dataset, build or materialize a feature view, check a
capability's drift, score a capability, run the flywheel's retrain policies, escalate overdue reviews) and
when it runs. Jobs are read from the project folder by `zhongtai scheduler` and `zhongtai export airflow`;
they are not registered in the metadata store, which holds only their leases and runs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from zhongtai.spec.base import Description, Duration, Name, Owner, Spec

JobType = Literal["ingest", "build", "materialize", "drift", "score", "flywheel", "review_escalate"]
# What `target` names for each job type; None: the job type takes no target.
TARGET_KIND: dict[str, str | None] = {
    "ingest": "datasets",
    "build": "feature_views",
    "materialize": "feature_views",
    "drift": "capabilities",
    "score": "capabilities",
    "flywheel": None,
    "review_escalate": None,
}
# Job types run as a `zhongtai` subprocess (their command takes options a schedule passes through `args`).
COMMAND_JOBS = ("drift", "flywheel", "review_escalate")


class ScheduleSpec(Spec):
    """One scheduled job: what it runs and when. Two scheduler processes never run the same due run twice."""

    name: Name = Field(
        description="The job's name, unique in the project (`zhongtai scheduler trigger NAME`)."
    )
    job: JobType = Field(
        description="What runs: `ingest` a dataset, `build` or `materialize` a feature view, `drift` or "
        "`score` a capability, `flywheel` (retrain policies) or `review_escalate` (overdue review items)."
    )
    target: str | None = Field(
        default=None,
        description="The dataset, feature view or capability the job works on; none for `flywheel` and "
        "`review_escalate`.",
    )
    every: Duration | None = Field(
        default=None,
        description='Run at this interval, aligned to UTC midnight of 1970 ("6h": 00:00, 06:00...).',
    )
    cron: str | None = Field(
        default=None,
        description='Run on this five-field cron expression, in UTC (`"0 2 * * *"`: 02:00 daily).',
    )
    write_back: bool = Field(
        default=False, description="`score` only: upsert the scores into the capability's write_back table."
    )
    args: list[str] = Field(
        default=[],
        description="`drift`, `flywheel` and `review_escalate` only: extra options for their command, "
        'like `["--window", "1d"]`.',
    )
    lease: Duration = Field(
        default="10m",
        description="How long a scheduler's claim on a run lasts without renewal; a crashed scheduler's "
        "claim expires after this and another one runs the job.",
    )
    description: Description = ""
    owner: Owner = None

    @model_validator(mode="after")
    def _check(self) -> ScheduleSpec:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of `every` (a duration) or `cron` (an expression)")
        if self.cron is not None:
            from croniter import croniter

            if len(self.cron.split()) != 5 or not croniter.is_valid(self.cron):
                raise ValueError(f'`cron`: expected five fields like "0 2 * * *", got {self.cron!r}')
        wants_target = TARGET_KIND[self.job] is not None
        if wants_target and not self.target:
            raise ValueError(f"`target`: a {self.job} job names its {TARGET_KIND[self.job]} entry")
        if not wants_target and self.target is not None:
            raise ValueError(f"`target`: a {self.job} job takes none")
        if self.write_back and self.job != "score":
            raise ValueError("`write_back`: only a score job writes back")
        if self.args and self.job not in COMMAND_JOBS:
            raise ValueError(f"`args`: only {', '.join(COMMAND_JOBS)} jobs take extra options")
        return self
