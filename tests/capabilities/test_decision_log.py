from __future__ import annotations

import dataclasses
import json
import os
import time
import uuid

import pytest

from zhongtai.capabilities.decision_log import DecisionLog, spill_path
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now

pytestmark = pytest.mark.integration


def _record(index: int = 0) -> DecisionRecord:
    return DecisionRecord(
        id=str(uuid.uuid4()),
        at=now(),
        capability="churn-risk",
        principal="crm",
        model_name="churn",
        model_version=1,
        decision="watch",
        score=0.42 + index / 1000,
        fallback=False,
        inputs={"customer_id": str(index), "context": {"channel": "app", "名": "李"}},
        features={"orders_90d": index, "complained": None},
        latency_ms=0.5,
    )


@pytest.fixture
def store(metadata_url):
    opened = MetadataStore(metadata_url)
    yield opened
    opened.close()


def _wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


def test_decisions_are_written_in_batches_by_the_writer_thread(store, tmp_path):
    log = DecisionLog(store.decisions, spill_path(tmp_path), batch_size=50).start()
    records = [_record(i) for i in range(120)]
    for record in records:
        log.submit(record)
    _wait_for(lambda: store.decisions.count("churn-risk") == 120)
    log.close()
    stored = {r.id: r for r in store.decisions.recent("churn-risk", limit=200)}
    assert stored[records[7].id].inputs == records[7].inputs
    assert stored[records[7].id].features == records[7].features
    assert log.spilled == 0


def test_a_full_queue_spills_to_the_file_which_is_replayed(store, tmp_path):
    spill = spill_path(tmp_path)
    log = DecisionLog(store.decisions, spill, maxsize=3)  # not started yet: nothing drains the queue
    records = [_record(i) for i in range(10)]
    for record in records:
        log.submit(record)
    log.flush_spill()  # the spill thread appends them
    assert log.spilled == 7
    assert len(spill.read_text().splitlines()) == 7
    assert store.decisions.count() == 0

    log.start()
    _wait_for(lambda: store.decisions.count() == 10)
    _wait_for(lambda: not spill.exists() and not spill.with_suffix(".replaying").exists())
    log.close()
    assert {r.id for r in store.decisions.recent(limit=20)} == {r.id for r in records}


def test_close_flushes_everything_still_queued_or_spilled(store, tmp_path):
    log = DecisionLog(store.decisions, spill_path(tmp_path), maxsize=4)
    for index in range(9):
        log.submit(_record(index))
    log.close()
    assert store.decisions.count() == 9
    assert not spill_path(tmp_path).exists()


class FlakySink:
    """The store refuses the first `failures` batches (a database restart), then accepts."""

    def __init__(self, store: MetadataStore, failures: int) -> None:
        self.store, self.failures = store, failures

    def append(self, decisions):
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("database is restarting")
        return self.store.decisions.append(decisions)


def test_a_failing_store_loses_nothing(store, tmp_path):
    log = DecisionLog(FlakySink(store, failures=2), spill_path(tmp_path), interval_s=0.05).start()
    for index in range(25):
        log.submit(_record(index))
    _wait_for(lambda: store.decisions.count() == 25)
    log.close()
    assert store.decisions.count() == 25


def test_replaying_records_already_stored_skips_them(store, tmp_path):
    spill = spill_path(tmp_path)
    stored, new = _record(1), _record(2)
    store.decisions.append([stored])
    # A crash between writing a replayed batch and removing the file leaves stored records in it.
    log = DecisionLog(store.decisions, spill, maxsize=1)
    log.submit(_record(0))
    log.submit(stored)
    log.submit(new)
    log.close()
    assert store.decisions.count() == 3
    assert not spill.exists()


def test_a_record_the_store_can_never_take_is_set_aside_not_retried_forever(store, tmp_path):
    spill = spill_path(tmp_path)
    good = _record(1)
    bad = dataclasses.replace(_record(2), capability=None)  # violates NOT NULL
    log = DecisionLog(store.decisions, spill)
    log.submit(good)
    log.submit(bad)
    log.close()
    assert store.decisions.count() == 1
    rejected = spill.with_name("decisions.rejected.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in rejected] == [bad.id]
    assert not spill.exists()


class _Refusing:
    """A store that is down."""

    def append(self, decisions):
        raise ConnectionError("database is down")


def test_each_process_spills_to_a_file_of_its_own(tmp_path):
    assert spill_path(tmp_path) != spill_path(tmp_path, pid=1)
    assert spill_path(tmp_path).name == f"decisions.{os.getpid()}.jsonl"


def test_the_spill_of_a_process_that_is_gone_is_adopted_and_replayed(store, tmp_path):
    # A process whose store was down left its decisions in its own spill file, then exited.
    gone = DecisionLog(_Refusing(), spill_path(tmp_path, pid=999_999_991), maxsize=1)
    records = [_record(i) for i in range(3)]
    for record in records:
        gone.submit(record)
    gone.close(timeout_s=1)
    assert list((tmp_path / "spill").glob("decisions.999999991.*"))  # still there: never written

    log = DecisionLog(store.decisions, spill_path(tmp_path), interval_s=0.05).start()
    _wait_for(lambda: store.decisions.count() == 3)
    log.close()
    assert {r.id for r in store.decisions.recent(limit=10)} == {r.id for r in records}
    assert sorted(p.name for p in (tmp_path / "spill").iterdir()) == []


def test_the_spill_of_a_live_process_is_left_to_it(store, tmp_path):
    alive = DecisionLog(_Refusing(), spill_path(tmp_path, pid=999_999_992), maxsize=1)
    alive.submit(_record(1))
    alive.submit(_record(2))  # spilled by its spill thread; its lock is held while it lives
    alive.flush_spill()
    log = DecisionLog(store.decisions, spill_path(tmp_path), interval_s=0.05).start()
    log.close()
    assert store.decisions.count() == 0
    assert len(spill_path(tmp_path, pid=999_999_992).read_text().splitlines()) == 1
    alive.close(timeout_s=1)
