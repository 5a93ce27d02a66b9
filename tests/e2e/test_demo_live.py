"""`zhongtai demo --live`: the clickstream and stock replayed as streams into the served demo reach the window
features online, the freshness metric and the lake."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from zhongtai.config import Settings
from zhongtai.features.online import open_online_store
from zhongtai.meta.store import MetadataStore

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_demo_live_streams_into_features_metrics_and_lake(tmp_path):
    port = _free_port()
    env = {**os.environ, "ZT_HOME": str(tmp_path / "home")}
    for var in ("ZT_METADATA_URL", "ZT_LAKE_URL", "ZT_ONLINE_URL", "ZT_BUS_URL"):
        env.pop(var, None)
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "zhongtai", "demo", "--customers", "400", "--port", str(port)]
    demo = subprocess.Popen(
        [*command, "--live", "--rate", "3000"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    settings = Settings.from_env(env)
    try:
        deadline = time.monotonic() + 600
        while "replay done" not in log.read_text():
            assert demo.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        clicks = int(re.search(r"replay done \(([\d,]+) clicks\)", log.read_text()).group(1).replace(",", ""))
        metrics = ""
        while 'path="stream",view="product_activity"' not in metrics or _lake_rows_added(settings) < clicks:
            assert time.monotonic() < deadline, "the consumer did not catch up"
            time.sleep(0.5)
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(60)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait(10)
    counted = re.search(
        r'zt_feature_freshness_seconds_count\{path="stream",view="product_activity"\} (\S+)', metrics
    )
    assert counted and float(counted.group(1)) >= clicks
    online = open_online_store(settings.online_url)
    try:
        store_ids = _store_ids(settings)
        stock = [online.read(str(s), ["store_stock"])["store_stock"] for s in store_ids]
    finally:
        online.close()
    assert any(v and v["units_sold_7d"] > 0 for v in stock)


def _lake_rows_added(settings: Settings) -> int:
    """Click rows appended by the stream (versions in append mode)."""
    store = MetadataStore(settings.metadata_url)
    try:
        return sum(v.rows_added for v in store.versions("click_events") if v.mode == "append")
    finally:
        store.close()


def _store_ids(settings: Settings) -> list[int]:
    from zhongtai.lake import engine
    from zhongtai.lake.storage import LakeStorage

    store = MetadataStore(settings.metadata_url)
    lake = LakeStorage(settings.lake_url)
    con = engine.connect(lake)
    try:
        files = store.current_version("inventory_stock").files
        return [r[0] for r in engine.run(con, f"SELECT DISTINCT store_id FROM {engine.scan(lake, files)}")]
    finally:
        con.close()
        store.close()
