"""`POST /v1/features/{view}/push` and `/metrics` on a real gateway, on both online store backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from zhongtai.connect.streams import open_bus
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration

WINDOW_SPECS = """\
sources:
  - {name: tracking, type: files, url: "EVENTS_DIR"}
datasets:
  - name: clicks
    source: tracking
    path: "backfill.jsonl"
    format: jsonl
    stream: {name: clicks}
feature_views:
  - name: browsing
    entity: customer
    ttl: 30d
    windows:
      dataset: clicks
      keys: {customer_id: user_id}
      aggregations:
        - {name: views_1h, function: count, window: 1h, where: {event_type: view}}
        - {name: products_1d, function: distinct, column: product_id, window: 1d}
"""


@pytest.fixture(scope="module")
def pusher(gateway) -> str:
    """The window view applied beside the world's views, and a key allowed to push."""
    lake = Path(gateway.world.storage.url)
    project = lake.parent / "project"
    (project / "clicks.yaml").write_text(WINDOW_SPECS.replace("EVENTS_DIR", str(lake.parent)))
    apply_plan(build_plan(load_project(project), gateway.world.store), gateway.world.store)
    return gateway.world.store.access.create_key("tracker", ["push"])


def _post(gateway, key: str | None, view: str, body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{gateway.url}/v1/features/{view}/push", json=body, headers=headers, timeout=30)


def _events() -> list[dict]:
    now = datetime.now(UTC)
    return [
        {
            "event_id": f"P{i}",
            "ts": (now - timedelta(minutes=i)).isoformat(),
            "user_id": 7,
            "event_type": kind,
            "product_id": product,
        }
        for i, (kind, product) in enumerate([("view", 1), ("view", 2), ("cart", 2), ("view", 3)])
    ]


def test_pushed_values_are_what_a_decision_reads(gateway, pusher):
    row = {"customer_id": 424242, "orders_90d": 3, "spend_90d": 120.5, "days_since_order": 4}
    answer = _post(gateway, pusher, "customer_activity", {"rows": [row]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"view": "customer_activity", "rows": 1}
    stored = gateway.world.online.read("424242", ["customer_activity"])["customer_activity"]
    assert stored == {"orders_90d": 3, "spend_90d": 120.5, "days_since_order": 4}
    # JSON has one kind of number: an int64 feature sent as 5.0 is stored as the integer 5.
    whole = {**row, "customer_id": 424243, "days_since_order": 5.0}
    assert _post(gateway, pusher, "customer_activity", {"rows": [whole]}).status_code == 200
    stored = gateway.world.online.read("424243", ["customer_activity"])["customer_activity"]
    assert stored["days_since_order"] == 5 and isinstance(stored["days_since_order"], int)


def test_pushed_events_count_once_and_go_to_the_stream_for_the_lake(gateway, pusher):
    events = _events()
    first = _post(gateway, pusher, "browsing", {"events": events})
    assert first.status_code == 200, first.text
    assert first.json() == {
        "view": "browsing",
        "events": 4,
        "counted": 4,
        "entities": 1,
        "published_to": "clicks",
    }
    again = _post(gateway, pusher, "browsing", {"events": events[:2]})
    assert again.json()["counted"] == 0
    values = gateway.world.online.read("7", ["browsing"])["browsing"]
    assert values == {"views_1h": 3, "products_1d": 3}
    bus = open_bus(gateway.world.settings.bus_url)
    try:
        published = bus.consume("clicks", "check", "c1", 100, 0.5)
    finally:
        bus.close()
    assert [d.event["event_id"] for d in published] == ["P0", "P1", "P2", "P3", "P0", "P1"]


@pytest.mark.parametrize(
    ("view", "body", "status", "message"),
    [
        ("nothing", {"rows": [{}]}, 404, "feature view 'nothing' is not registered"),
        ("browsing", {"rows": [{"customer_id": 1}]}, 422, "is a window view: push raw events as `events`"),
        ("customer_activity", {"events": [{}]}, 422, "push feature values as `rows`"),
        ("customer_activity", {"rows": []}, 422, "`rows` must be a non-empty list"),
        ("customer_activity", [1, 2], 422, "must be a JSON object"),
        ("customer_activity", {"rows": [{"orders_90d": 1}]}, 422, "field 'rows[0].customer_id' is required"),
        (
            "customer_activity",
            {"rows": [{"customer_id": 1, "orders_90d": 1, "spend_90d": 1.0}]},
            422,
            "feature 'days_since_order' is missing",
        ),
        (
            "customer_activity",
            {"rows": [{"customer_id": 1, "orders_90d": "many", "spend_90d": 1.0, "days_since_order": 1}]},
            422,
            "orders_90d: expected int64, got a string",
        ),
        (
            "customer_activity",
            {"rows": [{"customer_id": 1, "orders_90d": 2**63, "spend_90d": 1.0, "days_since_order": 1}]},
            422,
            "orders_90d: out of the int64 range",
        ),
        (
            "customer_activity",
            {"rows": [{"customer_id": 1}] * 1025},
            422,
            "1,025 rows in one push; at most 1,024",
        ),
        (
            "customer_activity",
            {"rows": [{"customer_id": 1, "orders_90d": 1, "spend_90d": 1.0, "days_since_order": 1, "x": 2}]},
            422,
            "x not a join key or feature",
        ),
        ("browsing", {"events": [{"event_id": "E", "user_id": 1}]}, 422, "events[0]: 'ts' is missing"),
        (
            "browsing",
            {"events": [{"event_id": "E", "user_id": 1, "ts": "noon"}]},
            422,
            "events[0].ts: event time 'noon' is not ISO-8601",
        ),
    ],
)
def test_bad_pushes_get_a_4xx_json_error_naming_the_problem(gateway, pusher, view, body, status, message):
    answer = _post(gateway, pusher, view, body)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["message"]


def test_a_push_needs_a_key_with_the_push_role(gateway, pusher):
    assert _post(gateway, None, "browsing", {"events": _events()}).status_code == 401
    refused = _post(gateway, gateway.key, "browsing", {"events": _events()})
    assert refused.status_code == 403
    assert "may not push_features" in refused.json()["message"]


def test_metrics_export_the_freshness_of_pushed_features(gateway, pusher):
    assert _post(gateway, pusher, "browsing", {"events": _events()}).status_code == 200
    metrics = httpx.get(f"{gateway.url}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'zt_feature_freshness_seconds_count{path="push",view="browsing"}' in metrics.text
