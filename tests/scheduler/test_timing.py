"""When jobs are due, and what a schedule spec accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from zhongtai.scheduler.jobs import command_line
from zhongtai.scheduler.timing import latest_due, next_due, upcoming
from zhongtai.spec.project import SpecErrors, load_project
from zhongtai.spec.schedule import ScheduleSpec

pytestmark = pytest.mark.unit


def at(hour: int, minute: int = 0, day: int = 6) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def test_intervals_align_to_the_epoch():
    job = ScheduleSpec(name="j", job="flywheel", every="6h")
    assert latest_due(job, at(13, 5)) == at(12)
    assert latest_due(job, at(12)) == at(12)
    assert next_due(job, at(12)) == at(18)
    assert next_due(job, at(17, 59)) == at(18)


def test_cron_in_utc():
    job = ScheduleSpec(name="j", job="flywheel", cron="0 2 * * *")
    assert latest_due(job, at(2)) == at(2)
    assert latest_due(job, at(1, 59)) == at(2, day=5)
    assert next_due(job, at(2)) == at(2, day=7)


def test_upcoming_is_the_missed_run_until_it_ran():
    job = ScheduleSpec(name="j", job="flywheel", every="1h")
    assert upcoming(job, None, at(9, 30)) == at(9)
    assert upcoming(job, at(8), at(9, 30)) == at(9)
    assert upcoming(job, at(9), at(9, 30)) == at(10)
    assert upcoming(job, at(9, 20), at(9, 30)) == at(10)  # a manual run after the due time counts


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"job": "flywheel"}, "give exactly one of `every`"),
        ({"job": "flywheel", "every": "1h", "cron": "0 * * * *"}, "give exactly one of `every`"),
        ({"job": "flywheel", "cron": "61 * * * *"}, "expected five fields"),
        ({"job": "flywheel", "every": "often"}, 'expected a duration like "30d"'),
        ({"job": "ingest", "every": "1h"}, "a ingest job names its datasets entry"),
        ({"job": "flywheel", "every": "1h", "target": "x"}, "a flywheel job takes none"),
        ({"job": "build", "target": "v", "every": "1h", "write_back": True}, "only a score job writes back"),
        ({"job": "ingest", "target": "d", "every": "1h", "args": ["--full"]}, "only drift, flywheel"),
    ],
)
def test_bad_schedules_say_why(fields, message):
    with pytest.raises(ValidationError, match=message):
        ScheduleSpec(name="j", **fields)


def test_the_command_a_job_stands_for():
    score = ScheduleSpec(name="s", job="score", target="churn-risk", every="1d", write_back=True)
    drift = ScheduleSpec(name="d", job="drift", target="churn-risk", every="1d", args=["--window", "1d"])
    assert command_line(score) == ["score", "churn-risk", "--write-back"]
    assert command_line(drift) == ["monitor", "drift", "churn-risk", "--window", "1d"]
    assert command_line(ScheduleSpec(name="r", job="review_escalate", every="5m")) == ["review", "escalate"]


def test_an_unknown_target_is_named_at_its_line(tmp_path):
    (tmp_path / "jobs.yaml").write_text(
        "schedules:\n  - name: nightly\n    job: ingest\n    target: orders\n    every: 1d\n"
    )
    with pytest.raises(
        SpecErrors, match=r"jobs.yaml:4 schedules.nightly.target: unknown datasets entry 'orders'"
    ):
        load_project(tmp_path)
