"""`POST /v1/features/online` on a real gateway, on SQLite and on Redis."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, SPECS
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration
ONLINE = "/v1/features/online"
VIEWS = ["customer_activity", "customer_service"]


def _error(response: httpx.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "hint"} and body["code"] == code
    assert message in body["message"]


def test_values_of_several_views_for_several_entities(gateway, client):
    rows = gateway.world.rows
    asked = [KNOWN_IDS[0], int(KNOWN_IDS[1]), [KNOWN_IDS[-1]], "404"]
    response = client.post(ONLINE, json={"entities": asked, "views": VIEWS})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "results": [
            {"entity": KNOWN_IDS[0], "values": rows[KNOWN_IDS[0]]},
            {"entity": KNOWN_IDS[1], "values": rows[KNOWN_IDS[1]]},
            # only the activity view knows the last customer; nobody knows 404
            {"entity": KNOWN_IDS[-1], "values": {**rows[KNOWN_IDS[-1]], "customer_service": None}},
            {"entity": "404", "values": dict.fromkeys(VIEWS)},
        ]
    }


def test_needs_a_valid_key(gateway):
    body = {"entities": [KNOWN_IDS[0]], "views": VIEWS}
    _error(httpx.post(gateway.url + ONLINE, json=body), 401, "unauthorized", "missing API key")
    wrong = httpx.post(gateway.url + ONLINE, json=body, headers={"X-API-Key": "nope"})
    _error(wrong, 401, "unauthorized", "unknown or revoked API key")


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ({"entities": ["1"], "views": ["nope"]}, 404, "not_found", "no feature view named 'nope'"),
        ({"entities": ["1"]}, 422, "invalid_argument", "field 'views' must be a non-empty list"),
        ({"entities": ["1"], "views": VIEWS * 2}, 422, "invalid_argument", "at most 20 distinct views"),
        (
            {"entities": [], "views": VIEWS},
            422,
            "invalid_argument",
            "field 'entities' must be a list of 1 to",
        ),
        ({"entities": ["1"] * 101, "views": VIEWS}, 422, "invalid_argument", "of 1 to 100 entity keys"),
        (
            {"entities": [True], "views": VIEWS},
            422,
            "invalid_argument",
            "field 'entities[0]' must be a string or an integer, not a boolean",
        ),
        (
            {"entities": ["1", ["1", "2"]], "views": VIEWS},
            422,
            "invalid_argument",
            "field 'entities[1]' needs 1 value(s) (customer_id), got 2",
        ),
        ({"entities": ["1"], "views": VIEWS, "as_of": 1}, 422, "invalid_argument", "unknown field(s) as_of"),
    ],
)
def test_bad_requests_are_4xx_json(client, body, status, code, message):
    _error(client.post(ONLINE, json=body), status, code, message)


def test_a_body_that_is_not_a_json_object_is_refused(client):
    _error(client.post(ONLINE, content=b"[1, 2"), 400, "invalid_json", "not valid JSON")
    _error(client.post(ONLINE, json=[1]), 422, "invalid_argument", "must be a JSON object")


def test_views_applied_after_start_are_served(gateway, client, tmp_path):
    more = SPECS.replace(
        "models:",
        """  - name: store_stock
    entity: store_product
    sql: SELECT store_id, product_id, ts, on_hand FROM stock
    features: [{name: on_hand, type: int64}]
  - name: customer_archive
    entity: customer
    online: false
    sql: SELECT customer_id, ts, first_order FROM orders_agg
    features: [{name: first_order, type: int64}]
models:""",
    ).replace(
        "entities:\n",
        "entities:\n  - {name: store_product, join_keys: [store_id, product_id], key_types: {store_id: int64}}\n",
    )
    (tmp_path / "churn.yaml").write_text(more)
    store = gateway.world.store
    apply_plan(build_plan(load_project(tmp_path), store), store)
    gateway.world.online.write("store_stock", [("7|A1", {"on_hand": 3})])
    time.sleep(1.1)  # the gateway reads the registered views again at most once a second

    # store_id is declared int64: 7, 7.0, "7" and "+7" are one store; 7.5 is refused, not quietly missed.
    entities = [[7.0, "A1"], ["+7", "B2"]]
    found = client.post(ONLINE, json={"entities": entities, "views": ["store_stock"]})
    assert found.status_code == 200, found.text
    assert found.json()["results"] == [
        {"entity": "7|A1", "values": {"store_stock": {"on_hand": 3}}},
        {"entity": "7|B2", "values": {"store_stock": None}},
    ]
    _error(
        client.post(ONLINE, json={"entities": [[7.5, "A1"]], "views": ["store_stock"]}),
        422,
        "invalid_argument",
        "field 'entities[0][0]' must be an integer, not a decimal number (join key store_id is declared int64)",
    )
    _error(
        client.post(ONLINE, json={"entities": [["7a", "A1"]], "views": ["store_stock"]}),
        422,
        "invalid_argument",
        "field 'entities[0][0]' must be an integer or a string of at most 18 digits",
    )
    _error(
        client.post(ONLINE, json={"entities": ["7"], "views": ["store_stock"]}),
        422,
        "invalid_argument",
        "field 'entities[0]' must be a list of 2 values (store_id, product_id)",
    )
    _error(
        client.post(ONLINE, json={"entities": ["1"], "views": ["customer_archive"]}),
        422,
        "invalid_argument",
        "feature view 'customer_archive' is offline only",
    )
    _error(
        client.post(ONLINE, json={"entities": ["1"], "views": ["customer_activity", "store_stock"]}),
        422,
        "invalid_argument",
        "customer_activity (customer), store_stock (store_product) describe different entities",
    )
