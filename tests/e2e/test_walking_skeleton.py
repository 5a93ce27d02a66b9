"""The whole flow once: CRM and order data to a governed churn-risk decision over HTTP and back into the CRM."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from zhongtai.capabilities.batch import score_all
from zhongtai.catalog.lineage import LineageGraph
from zhongtai.config import Settings
from zhongtai.features.keys import materialize_keys
from zhongtai.features.materialize import materialize
from zhongtai.features.offline import build_view
from zhongtai.features.online import open_online_store
from zhongtai.identity.run import identity_spec, run_oneid
from zhongtai.integrate.writeback import write_back
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.models.train import train_model
from zhongtai.scenarios.retail.generate import generate
from zhongtai.scenarios.retail.project import APP_ROLE
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project
from zhongtai.spec.references import ingest_order

pytestmark = pytest.mark.e2e

VIEWS = ("customer_orders", "customer_service", "customer_profile")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def world(tmp_path, pg_url):
    home = tmp_path / "home"
    settings = Settings(
        home=home,
        metadata_url=f"sqlite:///{home / 'metadata.db'}",
        lake_url=str(home / "lake"),
        offline_engine="duckdb",
        online_url=f"sqlite:///{home / 'online.db'}",
        bus_url=f"sqlite:///{home / 'bus.db'}",
    )
    report = generate(tmp_path / "retail", 1500, seed=3, crm_url=pg_url)
    store = MetadataStore(settings.metadata_url)
    lake = LakeStorage(settings.lake_url)
    apply_plan(build_plan(load_project(report.project_dir), store), store)
    for name in ingest_order(store.registered("datasets")):
        ingest(store, lake, name)
    run_oneid(store, lake, identity_spec(store))
    yield settings, store, lake, sa.create_engine(pg_url)
    store.close()


def test_churn_risk_from_sources_to_decision(world):
    settings, store, lake, crm = world
    chain = {
        (e["from"]["name"], e["relation"], e["to"]["name"])
        for e in LineageGraph.from_store(store).describe("churn-risk")["upstream"]
    }
    assert {
        ("crm", "feeds", "crm_customers"),
        ("crm_customers", "resolves", "person"),
        ("person", "produces", "person_crosswalk"),
        ("person_crosswalk", "reads", "customer_orders"),
        ("customer_orders", "trains", "churn"),
        ("churn", "serves", "churn-risk"),
        ("person_crosswalk", "looks up", "churn-risk"),
    } <= chain
    online = open_online_store(settings.online_url)
    for view in VIEWS:
        assert build_view(store, lake, view).rows > 0
        assert materialize(store, lake, online, view) > 0
    keys = materialize_keys(store, lake, online)  # the CRM calls with its customer_id
    assert keys["person_crosswalk:crm_customers"] == store.current_version("crm_customers").rows
    online.close()

    version = train_model(store, lake, "churn")
    validation, baseline = version.metrics["validation"], version.metrics["baseline"]
    assert validation["auc"] > baseline["auc"] + 0.05  # clearly better than the trivial baseline
    assert validation["log_loss"] < baseline["log_loss"]
    store.models.set_alias("churn", version.version, "champion")

    scores = score_all(store, lake, "churn-risk")
    written = write_back(store, scores)
    assert written == scores.table.num_rows > 100
    assert write_back(store, scores) == written  # idempotent: upserts, no duplicates
    with crm.connect() as conn:
        count, decisions = conn.execute(
            sa.text("SELECT count(*), count(DISTINCT decision) FROM zt_churn_scores")
        ).one()
    assert count == written and decisions >= 2

    import uvicorn

    from zhongtai.gateway.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gateway did not become healthy"
            time.sleep(0.1)
        key = store.access.create_key("e2e", [APP_ROLE])  # the retail policy lets its apps call
        rows = scores.table.to_pylist()
        customer = max(rows, key=lambda r: r["score"])
        answer = httpx.post(
            f"{base}/v1/capabilities/churn-risk/decide",
            json={"customer_id": customer["customer_id"]},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["decision"] == customer["decision"]
        assert body["score"] == pytest.approx(customer["score"], abs=1e-9)  # online and batch agree
        assert body["model"] == {"name": "churn", "version": version.version}
        assert len(body["factors"]) == 5 and all("contribution" in f for f in body["factors"])
        unknown = httpx.post(
            f"{base}/v1/capabilities/churn-risk/decide",
            json={"customer_id": 1},
            headers={"Authorization": f"Bearer {key}"},
        ).json()
        assert unknown["fallback"] is True and unknown["decision"] == "watch"
    finally:
        server.should_exit = True
        thread.join(10)
