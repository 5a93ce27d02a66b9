"""When a job is due. Interval jobs are aligned to the UNIX epoch, cron jobs follow their expression in UTC.

A scheduler runs a job's newest due time that has not run yet: after downtime it runs once, not once for
every missed time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zhongtai.spec.base import duration_seconds
from zhongtai.spec.schedule import ScheduleSpec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def latest_due(job: ScheduleSpec, at: datetime) -> datetime:
    """The newest due time at or before `at`."""
    if job.every is not None:
        step = duration_seconds(job.every)
        elapsed = int((at - _EPOCH).total_seconds())
        return _EPOCH + timedelta(seconds=elapsed - elapsed % step)
    from croniter import croniter

    # croniter's get_prev is strictly before its start; one microsecond on makes "at or before".
    prev: datetime = croniter(job.cron, at + timedelta(microseconds=1)).get_prev(datetime)
    return prev.astimezone(UTC)


def next_due(job: ScheduleSpec, after: datetime) -> datetime:
    """The first due time strictly after `after`."""
    if job.every is not None:
        return latest_due(job, after) + timedelta(seconds=duration_seconds(job.every))
    from croniter import croniter

    following: datetime = croniter(job.cron, after).get_next(datetime)
    return following.astimezone(UTC)


def upcoming(job: ScheduleSpec, done: datetime | None, at: datetime) -> datetime:
    """When the job runs next: its newest due time if that has not run yet, else the one after `at`."""
    due = latest_due(job, at)
    if done is None or done < due:
        return due
    return next_due(job, at)
