"""Files holding platform data are created 0600 whatever the umask: the metadata store, the online store
and the embedded bus (SQLite, with their -wal and -shm files), and the decision log's spill files."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhongtai.capabilities.decision_log import DecisionLog, spill_path
from zhongtai.connect.streams.base import open_bus
from zhongtai.features.online.base import open_online_store
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now

pytestmark = pytest.mark.integration


@pytest.fixture(params=[0o022, 0o000])
def umask(request) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}


def test_sqlite_files_and_their_wal_and_shm_are_private(tmp_path, umask) -> None:
    store = MetadataStore(f"sqlite:///{tmp_path / 'meta' / 'metadata.db'}")
    online = open_online_store(f"sqlite:///{tmp_path / 'online' / 'online.db'}")
    bus = open_bus(f"sqlite:///{tmp_path / 'bus' / 'bus.db'}")
    try:
        store.registered("datasets")
        online.write("view", [("k", {"x": 1.0})])
        bus.publish("orders", [{"event_id": "1"}])
        for folder, name in (("meta", "metadata.db"), ("online", "online.db"), ("bus", "bus.db")):
            modes = _modes(tmp_path / folder)
            assert {f"{name}-wal", f"{name}-shm", name} <= set(modes), modes
            assert set(modes.values()) == {0o600}, (folder, {k: oct(v) for k, v in modes.items()})
    finally:
        store.close()
        online.close()
        bus.close()


def test_an_existing_readable_database_file_is_tightened(tmp_path) -> None:
    path = tmp_path / "metadata.db"
    MetadataStore(f"sqlite:///{path}").close()
    path.chmod(0o644)
    MetadataStore(f"sqlite:///{path}").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


class _Refusing:
    def append(self, decisions):
        raise OSError("the store is down")


def test_decision_spill_and_rejected_files_are_private(tmp_path, umask) -> None:
    record = DecisionRecord(
        id=str(uuid.uuid4()), at=now(), capability="c", principal="p", model_name=None, model_version=None,
        decision="d", score=None, fallback=True, inputs={}, features={}, latency_ms=1.0,
    )  # fmt: skip
    log = DecisionLog(_Refusing(), spill_path(tmp_path), maxsize=1)
    log.submit(record)
    log.submit(record)  # the queue is full: spilled
    log.flush_spill()
    spill = spill_path(tmp_path)
    assert _modes(spill.parent) == {spill.name: 0o600, spill.with_suffix(".lock").name: 0o600}
