"""Leases by compare-and-set, and schedulers racing for one run, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from zhongtai.meta.store import MetadataStore
from zhongtai.scheduler.runner import Scheduler
from zhongtai.spec.schedule import ScheduleSpec

pytestmark = pytest.mark.integration

SLOT = datetime(2026, 12, 6, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def store(metadata_url):
    opened = MetadataStore(metadata_url)
    yield opened
    opened.close()


def test_one_claim_per_run(store):
    jobs = store.jobs
    assert jobs.claim("nightly", "a", SLOT, HOUR)
    assert not jobs.claim("nightly", "b", SLOT, HOUR)  # a holds it
    jobs.release("nightly", "a", SLOT)
    assert not jobs.claim("nightly", "b", SLOT, HOUR)  # that run is done
    assert jobs.claim("nightly", "b", SLOT + HOUR, HOUR)  # the next one is not
    assert jobs.leases()["nightly"].owner == "b"


def test_a_crashed_holders_lease_expires(store):
    jobs = store.jobs
    assert jobs.claim("nightly", "crashed", SLOT, timedelta(0))
    first = jobs.start_run("nightly", "crashed", SLOT, "schedule")
    assert not jobs.renew("nightly", "other", HOUR)
    assert jobs.claim("nightly", "other", SLOT, HOUR)
    second = jobs.start_run("nightly", "other", SLOT, "schedule")
    assert not jobs.renew("nightly", "crashed", HOUR)  # the lease moved on
    statuses = {run.id: run.status for run in jobs.runs("nightly")}
    assert statuses == {first: "abandoned", second: "running"}


def test_racing_claims_have_one_winner(store):
    won: list[str] = []
    start = threading.Barrier(6)

    def claim(owner: str) -> None:
        start.wait()
        if store.jobs.claim("nightly", owner, SLOT, HOUR):
            won.append(owner)

    threads = [threading.Thread(target=claim, args=(f"s{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert store.jobs.leases()["nightly"].owner == won[0]


def test_two_schedulers_run_a_due_job_once(metadata_url):
    jobs = {"hourly": ScheduleSpec(name="hourly", job="flywheel", every="1h")}
    ran: list[str] = []
    start = threading.Barrier(2)

    def tick(owner: str) -> None:
        opened = MetadataStore(metadata_url)  # its own connections, as a second process has
        try:
            scheduler = Scheduler(jobs, opened.jobs, lambda job: ran.append(owner), owner=owner)
            start.wait()
            scheduler.tick(SLOT + timedelta(minutes=5))
            scheduler.tick(SLOT + timedelta(minutes=50))  # the same due run: never again
        finally:
            opened.close()

    MetadataStore(metadata_url).close()  # migrate once before the race
    threads = [threading.Thread(target=tick, args=(owner,)) for owner in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ran) == 1
    store = MetadataStore(metadata_url)
    try:
        runs = store.jobs.runs("hourly")
    finally:
        store.close()
    assert [(r.status, r.owner, r.slot) for r in runs] == [("succeeded", ran[0], SLOT)]


def test_a_failure_records_its_kind_and_never_its_message(store):
    job = ScheduleSpec(name="hourly", job="flywheel", every="1h")

    def fails(_job: ScheduleSpec) -> None:
        raise ValueError("customer 13800138000 broke it")

    outcome = Scheduler({"hourly": job}, store.jobs, fails, owner="a").tick(SLOT)[0]
    assert (outcome.status, outcome.error_kind, outcome.error) == ("failed", "ValueError", None)
    [run] = store.jobs.runs("hourly")
    assert (run.status, run.error_kind) == ("failed", "ValueError")
    assert "13800138000" not in repr(run)
    assert store.jobs.leases()["hourly"].owner is None  # released: the next due run may go


def test_a_long_run_keeps_its_lease(store):
    job = ScheduleSpec(name="slow", job="flywheel", every="1h", lease="3s")
    seen: dict[str, object] = {}

    def slow(_job: ScheduleSpec) -> None:
        first = store.jobs.leases()["slow"].expires_at
        for _ in range(200):  # until the keeper has renewed (every third of the 3s lease)
            if store.jobs.leases()["slow"].expires_at != first:
                break
            time.sleep(0.05)
        seen["renewed"] = store.jobs.leases()["slow"].expires_at != first
        seen["rival"] = Scheduler({"slow": job}, store.jobs, lambda _j: None, owner="rival").tick(SLOT)

    [outcome] = Scheduler({"slow": job}, store.jobs, slow, owner="holder").tick(SLOT)
    assert outcome.status == "succeeded"
    assert seen == {"renewed": True, "rival": []}


def test_a_job_held_elsewhere_is_looked_at_again_after_the_poll(store):
    jobs = {"hourly": ScheduleSpec(name="hourly", job="flywheel", every="1h")}
    scheduler = Scheduler(jobs, store.jobs, lambda _job: None, owner="me")
    at = SLOT + timedelta(minutes=5)
    assert store.jobs.claim("hourly", "other", SLOT, HOUR)
    assert scheduler.tick(at) == []
    assert scheduler.next_wake(at, 30) == at + timedelta(seconds=30)
    store.jobs.release("hourly", "other", SLOT)
    assert scheduler.next_wake(at, 30) == SLOT + HOUR
