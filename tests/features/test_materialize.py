"""Materialize: each entity's latest in-TTL values from the newest build, into every online store backend."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.features.materialize import materialize, publish_latest
from zhongtai.features.offline import build_view
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import FeatureBuild
from zhongtai.spec.models import FeatureSpec, FeatureViewSpec

from .conftest import REDIS_URL, SPECS

pytestmark = pytest.mark.integration


def test_materialize_writes_latest_values_within_ttl(shop, online):
    build_view(shop.store, shop.lake, "spend")
    build_view(shop.store, shop.lake, "profile")
    seen: list[int] = []
    # spend's newest event is 2024-02-20 12:00; customer 2's only order (01-12) is beyond the 30d TTL then.
    assert materialize(shop.store, shop.lake, online, "spend", on_progress=seen.append) == 1
    assert sum(seen) == 1
    assert materialize(shop.store, shop.lake, online, "profile") == 3
    assert online.read("1", ["spend", "profile"]) == {
        "spend": {"last_amount": 30.0, "orders_so_far": 2},
        "profile": {"tier": "gold"},
    }
    assert online.read("2", ["spend", "profile"]) == {"spend": None, "profile": {"tier": "silver"}}
    assert online.read("4", ["spend", "profile"]) == {"spend": None, "profile": None}
    assert shop.store.features.latest_build("spend").materialized_at is not None


def test_entities_that_left_the_ttl_window_disappear(shop, online):
    build_view(shop.store, shop.lake, "spend")
    online.write("spend", [("2", {"last_amount": 5.0, "orders_so_far": 1})])  # from an earlier run
    materialize(shop.store, shop.lake, online, "spend")
    assert online.read("2", ["spend"]) == {"spend": None}
    assert online.read("1", ["spend"]) == {"spend": {"last_amount": 30.0, "orders_so_far": 2}}


def test_unbuilt_view_is_named(shop, online):
    with pytest.raises(ZhongtaiError, match="feature view 'spend' has not been built"):
        materialize(shop.store, shop.lake, online, "spend")


def test_offline_only_view_is_refused(shop, online):
    shop.apply(SPECS.replace("ttl: 365d", "ttl: 365d\n    online: false"))
    build_view(shop.store, shop.lake, "profile")
    with pytest.raises(ZhongtaiError, match=r"feature view 'profile' is offline only \(online: false\)"):
        materialize(shop.store, shop.lake, online, "profile")


# -- materializing while serving, and crashing halfway -------------------------------------------------------

ENTITIES = 25_000  # more than two of materialize's batches of 10,000
VIEW = FeatureViewSpec(
    name="activity", entity="customer", ttl="30d", sql="SELECT 1", features=[FeatureSpec(name="x")]
)

READER = """
import json, sys
from zhongtai.features.online import open_online_store
store = open_online_store(sys.argv[1])
counts = {"none": 0, "1": 0, "2": 0, "wrong": 0}
print("ready", flush=True)
while True:
    for key in ("0", "12345", "24999"):
        values = store.read(key, ["activity"])["activity"]
        if values is None:
            counts["none"] += 1
        else:
            generation, entity = divmod(int(values["x"]), 1_000_000)
            counts[str(generation) if entity == int(key) else "wrong"] += 1
    if counts["2"] >= 30:
        break
print(json.dumps(counts), flush=True)
"""

CRASH = """
import os, signal, sys
from zhongtai.features.materialize import publish_latest
from zhongtai.features.online import open_online_store
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import FeatureBuild
from zhongtai.spec.models import FeatureViewSpec
view = FeatureViewSpec.model_validate_json(sys.argv[2])
build = FeatureBuild("activity", 2, None, 0, [sys.argv[3]], [], {}, "2024-03-01T00:00:00")
# A real crash halfway: the process dies after the first batch is handed to the store, nothing cleans up.
publish_latest(LakeStorage(sys.argv[4]), open_online_store(sys.argv[1]), view, ["customer_id"], build,
               on_progress=lambda rows: os.kill(os.getpid(), signal.SIGKILL))
"""


def _history_build(tmp_path, generation: int) -> FeatureBuild:
    """Every entity once, x = generation * 1,000,000 + entity id, all inside the TTL."""
    path = tmp_path / f"activity_{generation}.parquet"
    ids = list(range(ENTITIES))
    pq.write_table(
        pa.table(
            {
                "customer_id": pa.array(ids, pa.int64()),
                "ts": pa.array([dt.datetime(2024, 3, 1)] * ENTITIES, pa.timestamp("us")),
                "x": pa.array([float(generation * 1_000_000 + i) for i in ids]),
            }
        ),
        path,
    )
    return FeatureBuild("activity", generation, None, ENTITIES, [str(path)], [], {}, "2024-03-01T00:00:00")


def _url(online) -> str:
    if hasattr(online, "prefix"):
        return f"{REDIS_URL}?prefix={online.prefix}"
    return f"sqlite:///{online.path}"


def test_readers_in_another_process_keep_answering_during_a_materialization(tmp_path, online):
    lake = LakeStorage(str(tmp_path / "lake"))
    publish_latest(lake, online, VIEW, ["customer_id"], _history_build(tmp_path, 1))
    reader = subprocess.Popen([sys.executable, "-c", READER, _url(online)], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # the reader is reading generation 1

        midway_reads: list[dict] = []

        def midway(rows: int) -> None:
            # Halfway: a read from another thread still sees the old values; the other process keeps reading.
            thread = threading.Thread(target=lambda: midway_reads.append(online.read("24999", ["activity"])))
            thread.start()
            thread.join()
            time.sleep(0.2)

        assert (
            publish_latest(
                lake, online, VIEW, ["customer_id"], _history_build(tmp_path, 2), on_progress=midway
            )
            == ENTITIES
        )
        out, _ = reader.communicate(timeout=60)
    finally:
        reader.kill()
    assert len(midway_reads) >= 2
    assert all(read == {"activity": {"x": 1_024_999.0}} for read in midway_reads)
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["none"] == 0 and counts["wrong"] == 0
    assert counts["1"] > 30 and counts["2"] >= 30


def test_a_materialization_killed_halfway_leaves_the_previous_values(tmp_path, online):
    lake = LakeStorage(str(tmp_path / "lake"))
    publish_latest(lake, online, VIEW, ["customer_id"], _history_build(tmp_path, 1))
    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASH,
            _url(online),
            VIEW.model_dump_json(),
            _history_build(tmp_path, 2).files[0],
            str(tmp_path / "lake"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    if hasattr(online, "prefix"):  # the crash really left half a generation behind
        assert any(k.endswith(b"@2") for k in online.client.scan_iter(match=f"{online.prefix}:{{*}}:*"))
    for key in range(0, ENTITIES, 997):
        assert online.read(str(key), ["activity"]) == {"activity": {"x": float(1_000_000 + key)}}
    # The next materialization succeeds (no lock left behind) and removes what the crash left.
    assert publish_latest(lake, online, VIEW, ["customer_id"], _history_build(tmp_path, 3)) == ENTITIES
    assert online.read("7", ["activity"]) == {"activity": {"x": 3_000_007.0}}
    if hasattr(online, "prefix"):
        left = {
            k.decode().rsplit(":", 1)[1] for k in online.client.scan_iter(match=f"{online.prefix}:{{*}}:*")
        }
        assert left == {f"activity@{online.client.hget(online.prefix + ':generations', 'activity').decode()}"}
