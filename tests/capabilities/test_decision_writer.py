"""The writer process: what the gateway submits is written once, by another process, and never lost on the
way when the writer stops as asked, is interrupted, or dies."""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest

from tests.capabilities.test_decision_log import _record, _wait_for
from zhongtai.capabilities.decision_writer import DecisionWriter
from zhongtai.config import Settings
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.audit_verify import verify
from zhongtai.meta.store import MetadataStore

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(metadata_url, tmp_path) -> Settings:
    return Settings.from_env({"ZT_HOME": str(tmp_path / "home"), "ZT_METADATA_URL": metadata_url})


@pytest.fixture
def store(settings):
    opened = MetadataStore.from_settings(settings)
    yield opened
    opened.close()


def test_every_record_is_written_once_by_another_process(settings, store):
    writer = DecisionWriter(settings).start()
    assert writer.writer_pid not in (None, os.getpid())
    records = [_record(i) for i in range(3000)]
    for record in records:
        writer.submit(record)
    writer.close()  # waits until the writer has written everything it was sent
    assert store.decisions.count("churn-risk") == 3000
    stored = {r.id: r for r in store.decisions.recent("churn-risk", limit=5)}
    last = records[-1]
    assert stored[last.id].inputs == last.inputs and stored[last.id].features == last.features
    assert stored[last.id].at == last.at
    # Each batch the writer wrote carries its audit record: the chain verifies over them all.
    assert verify(store, store.audit_head.path).ok


def test_records_reach_the_store_while_the_gateway_runs(settings, store):
    writer = DecisionWriter(settings).start()
    try:
        for i in range(10):
            writer.submit(_record(i))
        _wait_for(lambda: store.decisions.count("churn-risk") == 10, timeout_s=30)
    finally:
        writer.close()


def _writing(settings: Settings, store: MetadataStore) -> tuple[DecisionWriter, int]:
    """A started writer that has written one record (so it is past its start), and its process id."""
    writer = DecisionWriter(settings).start()
    writer.submit(_record(0))
    _wait_for(lambda: store.decisions.count("churn-risk") == 1, timeout_s=30)
    pid = writer.writer_pid
    assert pid is not None
    return writer, pid


def test_an_interrupt_of_the_process_group_does_not_stop_the_writer_early(settings, store):
    writer, pid = _writing(settings, store)
    os.kill(pid, signal.SIGINT)
    os.kill(pid, signal.SIGTERM)
    time.sleep(0.3)
    for i in range(1, 200):
        writer.submit(_record(i))
    writer.close()
    assert store.decisions.count("churn-risk") == 200


def test_a_stop_signal_while_the_writer_is_still_starting_is_ignored_too(settings, store, caplog):
    writer = DecisionWriter(settings).start()
    pid = writer.writer_pid
    assert pid is not None
    os.kill(pid, signal.SIGTERM)  # at once: the writer is still importing
    os.kill(pid, signal.SIGINT)
    writer.submit(_record(0))
    time.sleep(0.2)  # a sender turn or more: a writer killed by the signal would be noticed by now
    with caplog.at_level(logging.WARNING, logger="zhongtai.capabilities.decision_writer"):
        writer.close()
    assert store.decisions.count("churn-risk") == 1
    assert not caplog.records  # the writer process wrote it: nothing failed over


def test_a_writer_that_dies_is_replaced_by_writing_in_process(settings, store, caplog):
    writer, pid = _writing(settings, store)
    os.kill(pid, signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="zhongtai.capabilities.decision_writer"):
        _wait_for(lambda: writer.writer_pid is None or _exited(pid), timeout_s=10)
        for i in range(1, 300):
            writer.submit(_record(i))
        writer.close()
    assert store.decisions.count("churn-risk") == 300
    assert writer.writer_pid is None
    assert any("writing in this process from now on" in r.getMessage() for r in caplog.records)


def _exited(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_writer_process_that_cannot_start_leaves_the_writing_to_this_process(
    settings, store, caplog, monkeypatch
):
    def refused(self) -> None:
        raise OSError("no more processes")

    monkeypatch.setattr("multiprocessing.process.BaseProcess.start", refused)
    with caplog.at_level(logging.WARNING, logger="zhongtai.capabilities.decision_writer"):
        writer = DecisionWriter(settings).start()
    assert writer.writer_pid is None
    for i in range(50):
        writer.submit(_record(i))
    writer.close()
    assert store.decisions.count("churn-risk") == 50
    assert "could not start (OSError)" in caplog.text


@pytest.mark.unit
def test_the_writer_is_chosen_by_zt_decision_writer():
    assert Settings.from_env({"ZT_HOME": "/tmp/zt"}).decision_writer == "process"
    assert (
        Settings.from_env({"ZT_HOME": "/tmp/zt", "ZT_DECISION_WRITER": " Thread "}).decision_writer
        == "thread"
    )
    with pytest.raises(ZhongtaiError, match="ZT_DECISION_WRITER must be one of process, thread, got 'disk'"):
        Settings.from_env({"ZT_HOME": "/tmp/zt", "ZT_DECISION_WRITER": "disk"})
