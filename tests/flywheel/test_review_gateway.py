"""The review queue through a real gateway and the CLI, on the ticket desk's intent capability: decisions
routed to `human_review` become items in their queue, reviewers claim and resolve them, the verdict is
feedback that live quality reads, the explanation is masked for a reviewer without `see_explanation`, pages
cover the queue, and overdue items are escalated."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from typer.testing import CliRunner

from tests.capabilities.world import grant_test_roles
from tests.gateway.conftest import RunningGateway, start_gateway
from tests.models.text_world import make_desk
from zhongtai.cli import context
from zhongtai.cli.app import app as zhongtai_cli
from zhongtai.config import Settings
from zhongtai.features.materialize import materialize
from zhongtai.features.online.base import open_online_store
from zhongtai.meta.records import Change, DecisionRecord
from zhongtai.meta.time import now
from zhongtai.models.train import train_model
from zhongtai.spec.models import spec_payload
from zhongtai.spec.policy import PolicySpec

pytestmark = pytest.mark.integration
DECIDE = "/v1/capabilities/intent/decide"
ITEMS = "/v1/review/items"
COMPLAINT = "你们的服务太差了，打了三次电话都没人处理，我要投诉！"
REFUND = "订单已经取消了，钱什么时候退回来？请尽快退款"
REVIEWERS = {
    "name": "reviewers",
    "rules": [
        {"name": "leads", "principals": ["role:case_lead"], "actions": ["review", "see_explanation"]},
        {"name": "juniors", "principals": ["role:case_junior"], "actions": ["review"]},
    ],
}


@dataclasses.dataclass
class Desk:
    gateway: RunningGateway
    settings: Settings
    clients: dict[str, httpx.Client]


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[Desk]:
    tmp_path = tmp_path_factory.mktemp("review_desk")
    made = make_desk(tmp_path)
    version = train_model(made.store, made.lake, "intent")
    made.store.models.set_alias("intent", version.version, "champion")
    online_url = f"sqlite:///{tmp_path / 'online.db'}"
    online = open_online_store(online_url)
    materialize(made.store, made.lake, online, "profile")
    settings = Settings(
        home=tmp_path / "home",
        metadata_url=f"sqlite:///{tmp_path / 'metadata.db'}",  # the desk's store
        lake_url=made.lake.url,
        offline_engine="duckdb",
        online_url=online_url,
        bus_url=f"sqlite:///{tmp_path / 'bus.db'}",
    )
    grant_test_roles(made.store)
    policy = spec_payload(PolicySpec.model_validate(REVIEWERS))
    made.store.apply([Change("policies", "create", "reviewers", policy)], "test")
    keys = {
        "caller": made.store.access.create_key("desk", ["caller"]),
        "lead": made.store.access.create_key("lead", ["case_lead"]),
        "junior": made.store.access.create_key("junior", ["case_junior"]),
    }
    running = start_gateway(settings, SimpleNamespace(store=made.store), keys["caller"])  # type: ignore[arg-type]
    clients = {
        who: httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        for who, key in keys.items()
    }
    try:
        yield Desk(running, settings, clients)
    finally:
        for client in clients.values():
            client.close()
        running.stop()
        online.close()
        made.store.close()


def _decide(desk: Desk, customer: int, text: str) -> dict:
    answer = desk.clients["caller"].post(DECIDE, json={"customer_id": customer, "text": text})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _logged(desk: Desk, decision_id: str) -> None:
    """Wait for the decision log's writer (it writes within a second of the answer)."""
    deadline = time.monotonic() + 15
    while not desk.gateway.world.store.decisions.by_ids([decision_id]):
        assert time.monotonic() < deadline, f"decision {decision_id} was not logged"
        time.sleep(0.05)


def _review_decision(desk: Desk, text: str = COMPLAINT) -> str:
    answer = _decide(desk, 3, text)  # an angry high-value customer: escalated to vip_care
    assert (answer["route"], answer["queue"]) == ("human_review", "vip_care")
    _logged(desk, answer["decision_id"])
    return answer["decision_id"]


def test_review_decisions_wait_in_their_queue_and_auto_ones_do_not(desk):
    review = _review_decision(desk)
    auto = _decide(desk, 40, REFUND)
    assert auto["route"] == "auto"
    _logged(desk, auto["decision_id"])
    item = desk.clients["lead"].get(f"{ITEMS}/{review}")
    assert item.status_code == 200, item.text
    body = item.json()
    assert (body["capability"], body["queue"], body["status"], body["assignee"]) == (
        "intent", "vip_care", "open", None,
    )  # fmt: skip
    assert body["overdue"] is False and body["decision"]["decision"] == "complaint"
    missing = desk.clients["lead"].get(f"{ITEMS}/{auto['decision_id']}")
    assert missing.status_code == 404 and "does not exist" in missing.json()["message"]
    denied = desk.clients["caller"].get(ITEMS)
    assert denied.status_code == 403 and "review" in denied.json()["message"]


def test_claim_resolve_and_the_verdict_shows_in_live_quality(desk):
    wrong, right = _review_decision(desk), _review_decision(desk)
    lead, junior = desk.clients["lead"], desk.clients["junior"]
    claimed = lead.post(f"{ITEMS}/{wrong}/claim")
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "lead", claimed.text
    taken = junior.post(f"{ITEMS}/{wrong}/claim")
    assert taken.status_code == 409 and f"review item {wrong} is assigned to lead" in taken.json()["message"]
    mine = lead.get(ITEMS, params={"mine": "true"}).json()
    assert [i["decision_id"] for i in mine["items"]] == [wrong]
    corrected = lead.post(
        f"{ITEMS}/{wrong}/resolve", json={"verdict": "correct", "value": "refund_request", "comment": "退款"}
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["new"] is True and corrected.json()["item"]["status"] == "done"
    assert junior.post(f"{ITEMS}/{right}/resolve", json={"verdict": "accept"}).status_code == 200
    again = lead.post(f"{ITEMS}/{wrong}/resolve", json={"verdict": "correct", "value": "refund_request"})
    assert again.status_code == 200 and again.json()["new"] is False
    other = lead.post(f"{ITEMS}/{wrong}/resolve", json={"verdict": "accept"})
    assert other.status_code == 409 and "already resolved (correct) by lead" in other.json()["message"]
    bad = lead.post(f"{ITEMS}/{right}/resolve", json={"verdict": "maybe"})
    assert bad.status_code == 422 and "verdict" in bad.json()["message"]
    store = desk.gateway.world.store
    assert store.feedback.get(wrong, "label").value == "refund_request"
    assert store.feedback.get(right, "verdict").value == "accept"
    quality = desk.clients["caller"].get("/v1/capabilities/intent/quality").json()
    [row] = quality["rows"]
    assert row["decisions"] == 2 and row["measures"]["accuracy"] == 0.5


def test_the_explanation_is_masked_for_a_reviewer_without_see_explanation(desk):
    # A process-node case with factor values and reasons (the intent model reads no person features), whose
    # inputs quote a phone number: a record an older writer may have left unscrubbed, masked on the way out.
    record = DecisionRecord(
        id=str(uuid.uuid4()), at=now(), capability="intent", principal="desk", model_name="intent",
        model_version=1, decision="complaint", score=0.55, fallback=False,
        inputs={"customer_id": 3, "text": COMPLAINT + " 我的电话13912345678"},
        features={"profile__spend_90d": 3200.0, "profile__orders_90d": 7}, latency_ms=1.0,
        output={"node": {"route": "human_review", "reasons": ["profile__spend_90d raised the score by 0.2"]}},
    )  # fmt: skip
    desk.gateway.world.store.decisions.append([record])
    full = desk.clients["lead"].get(f"{ITEMS}/{record.id}").json()["decision"]
    masked = desk.clients["junior"].get(f"{ITEMS}/{record.id}").json()["decision"]
    assert full["explanation"]["features"] == {"profile__spend_90d": 3200.0, "profile__orders_90d": 7}
    assert full["output"]["node"]["reasons"]
    assert "explanation" not in masked and "reasons" not in masked["output"]["node"]
    assert "3200" not in json.dumps(masked)
    for seen in (full, masked):  # neither may see_pii:phone
        text = seen["inputs"]["text"]
        assert "13912345678" not in json.dumps(seen, ensure_ascii=False) and "139****5678" in text


def test_a_logged_answer_with_a_phone_number_reaches_the_reviewer_scrubbed(desk):
    decision_id = _review_decision(desk, COMPLAINT + " 我的电话13912345678")
    shown = desk.clients["lead"].get(f"{ITEMS}/{decision_id}").json()["decision"]
    assert "13912345678" not in json.dumps(shown, ensure_ascii=False) and "[phone]" in shown["inputs"]["text"]
    assert shown["output"]["escalation"] == "angry_high_value"


def test_pages_cover_the_queue_once(desk):
    for _ in range(3):
        _review_decision(desk)
    lead = desk.clients["lead"]
    first = lead.get(ITEMS, params={"queue": "vip_care", "status": "open", "limit": 2}).json()
    total, seen, offset = first["total"], [], 0
    assert total >= 3
    while offset < total:
        page = lead.get(ITEMS, params={"queue": "vip_care", "status": "open", "limit": 2, "offset": offset})
        seen += [i["decision_id"] for i in page.json()["items"]]
        offset += 2
    assert len(seen) == len(set(seen)) == total
    deadlines = [i["deadline"] for i in lead.get(ITEMS, params={"limit": 500}).json()["items"]]
    assert deadlines == sorted(deadlines)
    assert lead.get(ITEMS, params={"limit": 0}).status_code == 422


def _overdue_decision(desk: Desk) -> str:
    """A review decision logged five hours ago: past the default four-hour deadline."""
    record = DecisionRecord(
        id=str(uuid.uuid4()), at=now() - timedelta(hours=5), capability="intent", principal="desk",
        model_name="intent", model_version=1, decision="complaint", score=0.9, fallback=False,
        inputs={"customer_id": 3}, features={}, latency_ms=1.0,
        output={"intent": "complaint", "route": "human_review", "queue": "vip_care"},
    )  # fmt: skip
    desk.gateway.world.store.decisions.append([record])
    return record.id


def test_overdue_items_are_escalated_over_the_api(desk):
    late = _overdue_decision(desk)
    lead = desk.clients["lead"]
    overdue = lead.get(ITEMS, params={"overdue": "true"}).json()
    assert late in [i["decision_id"] for i in overdue["items"]]
    escalated = lead.post("/v1/review/escalate", json={"targets": {"vip_care": "care.lead"}})
    assert escalated.status_code == 200, escalated.text
    [item] = [i for i in escalated.json()["items"] if i["decision_id"] == late]
    assert (item["status"], item["assignee"]) == ("escalated", "care.lead")
    assert late not in [i["decision_id"] for i in lead.post("/v1/review/escalate").json()["items"]]
    [audit] = desk.gateway.world.store.audit.records(kind="review_escalate", principal="lead", limit=1)
    assert late in audit.body and audit.rule == "reviewers.leads"


def test_the_cli_lists_claims_corrects_and_escalates(desk, monkeypatch):
    s = desk.settings
    for name, value in {
        "ZT_HOME": str(s.home), "ZT_METADATA_URL": s.metadata_url, "ZT_LAKE_URL": s.lake_url,
        "ZT_ONLINE_URL": s.online_url, "ZT_BUS_URL": s.bus_url, "ZT_PRINCIPAL": "cli.lead",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    context.reset()
    runner = CliRunner()
    try:
        decision_id = _review_decision(desk)
        listed = runner.invoke(
            zhongtai_cli, ["review", "list", "--queue", "vip_care", "--status", "open", "--json"]
        )
        assert listed.exit_code == 0, listed.output
        assert decision_id in [i["decision_id"] for i in json.loads(listed.stdout)["items"]]
        assert runner.invoke(zhongtai_cli, ["review", "claim", decision_id]).exit_code == 0
        mine = json.loads(runner.invoke(zhongtai_cli, ["review", "list", "--mine", "--json"]).stdout)
        assert [i["decision_id"] for i in mine["items"]] == [decision_id]
        shown = json.loads(runner.invoke(zhongtai_cli, ["review", "show", decision_id, "--json"]).stdout)
        assert shown["assignee"] == "cli.lead" and "explanation" in shown["decision"]
        fixed = runner.invoke(
            zhongtai_cli, ["review", "correct", decision_id, "--value", "delivery", "--json"]
        )
        assert fixed.exit_code == 0, fixed.output
        assert json.loads(fixed.stdout)["verdict"] == "correct"
        accepted = runner.invoke(zhongtai_cli, ["review", "accept", decision_id])
        assert accepted.exit_code != 0 and "already resolved (correct) by cli.lead" in accepted.output
        bad = runner.invoke(zhongtai_cli, ["review", "list", "--status", "lost"])
        assert bad.exit_code != 0 and "--status 'lost' is not one of" in bad.output
        late = _overdue_decision(desk)
        escalated = runner.invoke(
            zhongtai_cli, ["review", "escalate", "--to", "vip_care=care.lead", "--json"]
        )
        assert escalated.exit_code == 0, escalated.output
        assert late in [i["decision_id"] for i in json.loads(escalated.stdout)["items"]]
    finally:
        context.reset()
