"""Window aggregations: the offline history (generated SQL on DuckDB over the lake) and the online fold of the
same events agree at every moment, and the spec rejects what it cannot compute."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.features.offline import build_view
from zhongtai.features.online import open_online_store
from zhongtai.features.windows import WindowView, apply_events, event_seconds
from zhongtai.lake import engine
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import FeatureViewSpec, spec_payload
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

SPECS = """\
sources:
  - {name: tracking, type: files, url: "EVENTS_DIR"}
datasets:
  - name: clicks
    source: tracking
    path: "events.jsonl"
    format: jsonl
    primary_key: [event_id]
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: activity
    entity: customer
    ttl: 3650d
    windows:
      dataset: clicks
      keys: {customer_id: user_id}
      aggregations:
        - {name: events_1h, function: count, window: 1h}
        - {name: clicks_1d, function: count, window: 1d, where: {event_type: click}}
        - {name: views_or_carts_7d, function: count, window: 7d, where: {event_type: [view, cart]}}
        - {name: spend_1d, function: sum, column: price, window: 1d}
        - {name: avg_price_7d, function: avg, column: price, window: 7d}
        - {name: min_price_7d, function: min, column: price, window: 7d}
        - {name: max_price_1h, function: max, column: price, window: 1h}
        - {name: products_1d, function: distinct, column: product_id, window: 1d}
"""
START = datetime(2026, 3, 1, tzinfo=UTC)


def _events(seed: int, count: int) -> list[dict]:
    rng = random.Random(seed)
    events = []
    for i in range(count):
        at = START + timedelta(seconds=rng.randint(0, 10 * 86400))
        zone = rng.choice(["Z", "+08:00"])
        local = at.astimezone(
            UTC if zone == "Z" else datetime.fromisoformat("2026-01-01T00:00:00+08:00").tzinfo
        )
        events.append(
            {
                "event_id": f"E{i:05d}",
                "ts": local.strftime("%Y-%m-%dT%H:%M:%S") + zone,
                "user_id": rng.choice([1, 2, 3]),
                "event_type": rng.choice(["view", "click", "cart"]),
                "product_id": rng.randint(1, 6),
                "price": rng.choice([None, 5.0, 12.5, 99.0]),
            }
        )
    # A replayed event: the same id again must not count twice, offline or online.
    events.append(dict(events[3]))
    return events


@pytest.mark.integration
@pytest.mark.parametrize("seed", [1, 2])
def test_offline_value_at_t_equals_online_value_after_replaying_up_to_t(tmp_path, seed):
    events = _events(seed, 300)
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(SPECS.replace("EVENTS_DIR", str(folder)))
    store = MetadataStore(f"sqlite:///{tmp_path / 'meta.db'}")
    lake = LakeStorage(str(tmp_path / "lake"))
    apply_plan(build_plan(load_project(project), store), store)
    ingest(store, lake, "clicks")
    build = build_view(store, lake, "activity")
    view = FeatureViewSpec.model_validate(store.spec("feature_views", "activity"))
    con = engine.connect(lake)
    history = con.sql(
        f"SELECT * FROM {engine.scan(lake, build.files)} ORDER BY customer_id, ts"
    ).to_arrow_table()
    con.close()
    store.close()
    rows = history.to_pylist()
    window_view = WindowView.of(view)
    names = [f.name for f in view.features]
    moments = sorted({event_seconds(e["ts"]) for e in events})
    rng = random.Random(seed)
    moments += [m + rng.choice([1, 1800, 3600, 86400, 7 * 86400]) for m in rng.sample(moments, 60)]
    newest = max(moments[: len(events)])
    checked = 0
    for customer in (1, 2, 3):
        mine = [e for e in events if e["user_id"] == customer]
        first = min(event_seconds(e["ts"]) for e in mine)
        for at in sorted(m for m in set(moments) if first <= m <= newest):
            offline = _offline_at(rows, customer, at)
            state: dict = {}
            for event in mine:
                if event_seconds(event["ts"]) <= at:
                    window_view.add(state, event)
            online = window_view.values(state, at)
            assert offline is not None, f"no history row for customer {customer} at {at}"
            for name in names:
                assert online[name] == pytest.approx(offline[name]), (customer, at, name)
            checked += 1
    assert checked > 300


def _offline_at(rows: list[dict], customer: int, at: float) -> dict | None:
    """What a point-in-time join gives: the newest history row at or before `at`."""
    best = None
    for row in rows:
        if row["customer_id"] == customer and row["ts"].replace(tzinfo=UTC).timestamp() <= at:
            best = row
    return best


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_applying_events_twice_counts_them_once(tmp_path, backend):
    view = WindowView.of(FeatureViewSpec.model_validate(_view_payload()))
    if backend == "sqlite":
        online = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
    else:
        online = open_online_store(f"redis://127.0.0.1:6379/0?prefix=zt_test_windows_{tmp_path.name[-20:]}")
    try:
        events = _events(5, 50)
        clock = max(event_seconds(e["ts"]) for e in events)
        added, touched = apply_events(online, view, events, clock)
        assert added == 50  # 51 events, one a replay
        first = {key: online.read(key, ["activity"])["activity"] for key in touched}
        again, _ = apply_events(online, view, events[10:30], clock)
        assert again == 0
        assert {key: online.read(key, ["activity"])["activity"] for key in touched} == first
        assert sum(v["spend_30d"] > 0 for v in first.values()) == len(touched)
    finally:
        if backend == "sqlite":
            online.close()
        else:
            client = online.client  # type: ignore[attr-defined]
            for key in list(client.scan_iter(match=f"zt_test_windows_{tmp_path.name[-20:]}:*")):
                client.delete(key)
            online.close()


def _view_payload(**windows_changes) -> dict:
    windows = {
        "dataset": "clicks",
        "keys": {"customer_id": "user_id"},
        "aggregations": [
            {"name": "events_1h", "function": "count", "window": "1h"},
            {"name": "spend_30d", "function": "sum", "column": "price", "window": "30d"},
        ],
        **windows_changes,
    }
    return {"name": "activity", "entity": "customer", "windows": windows}


@pytest.mark.unit
def test_the_stored_spec_holds_the_declaration_and_regenerates_the_sql():
    view = FeatureViewSpec.model_validate(_view_payload())
    payload = spec_payload(view)
    assert "sql" not in payload and "features" not in payload
    again = FeatureViewSpec.model_validate(payload)
    assert again.sql == view.sql and 'FROM "clicks"' in view.sql
    assert [(f.name, f.type) for f in again.features] == [("events_1h", "int64"), ("spend_30d", "float64")]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sql": "SELECT 1"}, "has its sql and features generated: remove sql"),
        ({"windows": "x"}, "windows"),
    ],
)
def test_a_view_with_windows_rejects_hand_written_sql(change, message):
    payload = {**_view_payload(), **change}
    with pytest.raises(ValueError, match=message):
        FeatureViewSpec.model_validate(payload)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ({"aggregations": [{"name": "s", "function": "sum", "window": "1d"}]}, "sum needs a column"),
        (
            {"aggregations": [{"name": "c", "function": "count", "window": "7 days"}]},
            'expected a duration like "30d"',
        ),
        ({"aggregations": [{"name": "c", "function": "median", "window": "1d"}]}, "function"),
        (
            {"aggregations": [{"name": "c", "function": "count", "window": "1d"}] * 2},
            "aggregations named twice: c",
        ),
        ({"keys": {}}, "keys"),
    ],
)
def test_window_declarations_fail_with_a_clear_reason(windows, message):
    with pytest.raises(ValueError, match=message):
        FeatureViewSpec.model_validate(_view_payload(**windows))


@pytest.mark.unit
def test_event_times_without_a_zone_are_utc_and_bad_ones_are_named():
    assert event_seconds("2026-03-01T08:00:00+08:00") == event_seconds("2026-03-01T00:00:00")
    with pytest.raises(ZhongtaiError, match="is not ISO-8601"):
        event_seconds("yesterday")


@pytest.mark.integration
def test_materialize_seeds_the_window_state_so_the_stream_continues_the_history(tmp_path):
    from zhongtai.features.materialize import materialize

    events = sorted(_events(3, 200)[:-1], key=lambda e: event_seconds(e["ts"]))
    history, live = events[:120], events[120:]
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in history))
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(SPECS.replace("EVENTS_DIR", str(folder)))
    store = MetadataStore(f"sqlite:///{tmp_path / 'meta.db'}")
    lake = LakeStorage(str(tmp_path / "lake"))
    online = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
    try:
        apply_plan(build_plan(load_project(project), store), store)
        ingest(store, lake, "clicks")
        build_view(store, lake, "activity")
        materialize(store, lake, online, "activity")
        view = WindowView.of(FeatureViewSpec.model_validate(store.spec("feature_views", "activity")))
        clock = max(event_seconds(e["ts"]) for e in events)
        apply_events(online, view, live, clock)
        for customer in (1, 2, 3):
            state: dict = {}
            for event in events:
                if event["user_id"] == customer:
                    view.add(state, event)
            expected = view.values(state, clock)
            got = online.read(str(customer), ["activity"])["activity"]
            assert got == pytest.approx(expected), customer
    finally:
        online.close()
        store.close()


@pytest.mark.unit
def test_lineage_and_features_show_see_the_generated_view(tmp_path, zt_env):
    from typer.testing import CliRunner

    from zhongtai.catalog.lineage import LineageGraph
    from zhongtai.cli import context
    from zhongtai.cli.app import app

    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(SPECS.replace("EVENTS_DIR", str(tmp_path)))
    context.reset()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["apply", str(project)]).exit_code == 0
        shown = runner.invoke(app, ["features", "show", "activity"])
        assert shown.exit_code == 0, shown.output
        assert "clicks_1d" in shown.output and "int64" in shown.output
        upstream = LineageGraph.from_store(context.store()).describe("activity")["upstream"]
        assert ("clicks", "activity", "reads") in {
            (e["from"]["name"], e["to"]["name"], e["relation"]) for e in upstream
        }
    finally:
        context.reset()
