"""Lineage and search over a registered project."""

from __future__ import annotations

import pytest

from zhongtai.catalog.entries import entry, search
from zhongtai.catalog.lineage import LineageGraph
from zhongtai.errors import ZhongtaiError
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {name: crm, type: sql, url: "sqlite:///crm.db", description: Customer master}
  - {name: erp, type: sql, url: "sqlite:///erp.db"}
datasets:
  - {name: customers, source: crm, table: customers, description: CRM customers, owner: crm-team,
     fields: [{name: mobile, pii: phone, description: mobile as typed}]}
  - {name: orders, source: erp, table: orders}
  - {name: stores, source: erp, table: stores}
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: customer_orders
    entity: customer
    sql: "WITH o AS (SELECT * FROM orders) SELECT o.customer_id, o.ts, count(*) AS n FROM o JOIN customers c USING (customer_id) GROUP BY ALL"
    features: [{name: n, type: int64}]
models:
  - name: churn
    entity: customer
    label: {sql: "SELECT customer_id, ts, 0 AS label FROM customers"}
    feature_views: [customer_orders]
capabilities:
  - name: churn-risk
    model: churn
    input: customer_id
    decisions: [{decision: none}]
    fallback: {decision: none}
    write_back: {source: crm, table: zt_scores}
"""


@pytest.fixture
def store(tmp_path, metadata_url):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "specs.yaml").write_text(SPECS)
    opened = MetadataStore(metadata_url)
    apply_plan(build_plan(load_project(tmp_path / "p"), opened), opened)
    yield opened
    opened.close()


def _names(edges: list[dict]) -> set[tuple[str, str, str]]:
    return {(e["from"]["name"], e["to"]["name"], e["relation"]) for e in edges}


def test_lineage_from_capability_back_to_source_tables(store):
    described = LineageGraph.from_store(store).describe("churn-risk")
    assert _names(described["upstream"]) == {
        ("churn", "churn-risk", "serves"),
        ("customer_orders", "churn", "trains"),
        ("customers", "churn", "labels"),
        ("orders", "customer_orders", "reads"),  # the CTE `o` is not mistaken for a dataset
        ("customers", "customer_orders", "reads"),
        ("crm", "customers", "feeds"),
        ("erp", "orders", "feeds"),
    }
    assert _names(described["downstream"]) == {("churn-risk", "crm", "writes back to")}


def test_lineage_downstream_of_a_source(store):
    described = LineageGraph.from_store(store).describe("erp")
    downstream = _names(described["downstream"])
    assert ("erp", "stores", "feeds") in downstream
    assert ("churn", "churn-risk", "serves") in downstream
    assert ("stores", "customer_orders", "reads") not in downstream  # stores feeds nothing


def test_unknown_and_ambiguous_names(store):
    graph = LineageGraph.from_store(store)
    with pytest.raises(ZhongtaiError, match="nothing named 'nope' is registered"):
        graph.find("nope")
    assert graph.find("dataset:orders").name == "orders"


def test_search_and_show(store):
    hits = search(store, "customer")
    assert hits[0]["name"] in ("customers", "customer")
    assert {"customers", "customer_orders", "customer"} <= {h["name"] for h in hits}
    assert [h["name"] for h in search(store, "mobile as typed")] == ["customers"]  # a field description
    shown = entry(store, "datasets", "customers").to_dict()
    assert (shown["owner"], shown["source"], shown["rows"]) == ("crm-team", "crm", None)
    model = entry(store, "models", "churn").to_dict()
    assert model["feature_views"] == ["customer_orders"] and model["versions"] == []
