"""The scheduler: claim each due run by lease, run it, record the outcome; once, or until told to stop.

Any number of schedulers (processes, or threads of serving processes) may run the same jobs against one
metadata store: a due run is claimed by compare-and-set (meta/jobs.py), so exactly one of them runs it.
While a run goes on its holder renews the lease every third of the lease's length; if the holder dies the
lease expires and the next scheduler to look takes the run over.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.jobs import JobRecords
from zhongtai.meta.time import now
from zhongtai.scheduler.jobs import CommandFailed
from zhongtai.scheduler.timing import latest_due, upcoming
from zhongtai.spec.base import duration_seconds
from zhongtai.spec.schedule import ScheduleSpec

Runner = Callable[[ScheduleSpec], None]


@dataclass(frozen=True)
class Outcome:
    """How one claimed run ended."""

    job: str
    slot: datetime
    trigger: str  # schedule | manual
    status: str  # succeeded | failed
    error_kind: str | None
    error: str | None  # the platform's own message for the operator's console; never stored


def default_owner() -> str:
    """A name unique to this scheduler: host, process and a random suffix (two threads of one process differ)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def error_kind(exc: BaseException) -> str:
    """What is recorded of a failure: an error code or an exception type, never the message (it may quote data)."""
    if isinstance(exc, CommandFailed):
        return f"exit_{exc.status}"
    if isinstance(exc, ZhongtaiError):
        return exc.code.value
    return type(exc).__name__


class Scheduler:
    """Runs the given jobs when due, each due run once across every scheduler sharing the store."""

    def __init__(
        self,
        jobs: Mapping[str, ScheduleSpec],
        records: JobRecords,
        runner: Runner,
        owner: str | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.jobs = dict(jobs)
        self.records = records
        self.runner = runner
        self.owner = owner or default_owner()
        self._say = on_event or (lambda _message: None)

    def tick(self, at: datetime | None = None) -> list[Outcome]:
        """Run every job whose newest due time has not run yet and that no other scheduler holds."""
        at = at or now()
        done = {job: lease.done_slot for job, lease in self.records.leases().items()}
        outcomes = []
        for name, job in sorted(self.jobs.items()):
            slot = latest_due(job, at)
            finished = done.get(name)
            if finished is not None and finished >= slot:
                continue
            if self.records.claim(name, self.owner, slot, _lease(job)):
                outcomes.append(self._execute(job, slot, "schedule"))
        return outcomes

    def trigger(self, name: str) -> Outcome:
        """Run a job now, outside its schedule; refused while another scheduler holds it."""
        job = self.jobs.get(name)
        if job is None:
            known = ", ".join(sorted(self.jobs)) or "none declared"
            raise ZhongtaiError("not_found", f"no scheduled job '{name}' (known: {known})")
        slot = now()
        if not self.records.claim(name, self.owner, slot, _lease(job)):
            raise ZhongtaiError(
                "conflict",
                f"job '{name}' is running under another scheduler",
                "wait for it to finish (`zhongtai scheduler list` shows the holder)",
            )
        return self._execute(job, slot, "manual")

    def next_wake(self, at: datetime, poll: float) -> datetime:
        """When the soonest job is due next. Called right after a tick, a job due but not done is held by
        another scheduler: look again after `poll` rather than at once."""
        done = {job: lease.done_slot for job, lease in self.records.leases().items()}
        later = at + timedelta(seconds=poll)
        wakes = (upcoming(job, done.get(name), at) for name, job in self.jobs.items())
        return min((wake if wake > at else later for wake in wakes), default=later)

    def serve(self, stop: threading.Event, poll: float = 30.0) -> None:
        """Tick until `stop` is set; sleeps until the next due time, but at most `poll` seconds, since another
        scheduler's run may finish or a lease expire in between."""
        while not stop.is_set():
            try:
                self.tick()
                wait = (self.next_wake(now(), poll) - now()).total_seconds()
            except Exception as exc:  # the store unreachable for a moment must not end the scheduler
                self._say(f"scheduler: tick failed ({error_kind(exc)}); trying again")
                wait = poll
            stop.wait(min(max(wait, 0.05), poll))

    def _execute(self, job: ScheduleSpec, slot: datetime, trigger: str) -> Outcome:
        run_id = self.records.start_run(job.name, self.owner, slot, trigger)
        self._say(f"{job.name}: started ({job.job}{' ' + job.target if job.target else ''})")
        finished = threading.Event()
        keeper = threading.Thread(target=self._keep_lease, args=(job, finished), daemon=True)
        keeper.start()
        try:
            self.runner(job)
        except Exception as exc:
            kind = error_kind(exc)
            message = exc.message if isinstance(exc, ZhongtaiError) else None
            self.records.finish_run(run_id, "failed", kind)
            self._say(f"{job.name}: failed ({kind}){': ' + message if message else ''}")
            return Outcome(job.name, slot, trigger, "failed", kind, message)
        finally:
            finished.set()
            keeper.join()
            self.records.release(job.name, self.owner, slot)
        self.records.finish_run(run_id, "succeeded")
        self._say(f"{job.name}: succeeded")
        return Outcome(job.name, slot, trigger, "succeeded", None, None)

    def _keep_lease(self, job: ScheduleSpec, finished: threading.Event) -> None:
        ttl = _lease(job)
        while not finished.wait(ttl.total_seconds() / 3):
            try:
                kept = self.records.renew(job.name, self.owner, ttl)
            except Exception as exc:  # the store away for a moment: try again at the next third
                self._say(f"{job.name}: lease renewal failed ({error_kind(exc)})")
                continue
            if not kept:
                self._say(f"{job.name}: lease lost to another scheduler")
                return


def _lease(job: ScheduleSpec) -> timedelta:
    return timedelta(seconds=duration_seconds(job.lease))


def in_background(scheduler: Scheduler, poll: float = 30.0) -> Callable[[], None]:
    """Run the scheduler in a daemon thread of this process (`zhongtai serve --scheduler`); the function
    returned stops it, waiting for a running job to finish so its run is recorded and its lease released."""
    stop = threading.Event()
    thread = threading.Thread(
        target=scheduler.serve, args=(stop, poll), name="zhongtai-scheduler", daemon=True
    )
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join()

    return halt
