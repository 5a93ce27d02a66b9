"""The text capability: a tiny intent model trained on the ticket desk, served in process and through a real
gateway; routing by confidence, `other` and escalation over the person's features; the text never in an error
and scrubbed in the decision log; the OpenAPI body lists the text field."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest

from tests.capabilities.world import grant_test_roles
from tests.gateway.conftest import RunningGateway, start_gateway
from tests.models.text_world import Desk, make_desk
from zhongtai.capabilities.runtime import build_runtime
from zhongtai.capabilities.text_runtime import TextRuntime
from zhongtai.config import Settings
from zhongtai.errors import ZhongtaiError
from zhongtai.features.materialize import materialize
from zhongtai.features.online.base import OnlineStore, open_online_store
from zhongtai.models.train import train_model

pytestmark = pytest.mark.integration
DECIDE = "/v1/capabilities/intent/decide"
COMPLAINT = "你们的服务太差了，打了三次电话都没人处理，我要投诉！"
REFUND = "订单已经取消了，钱什么时候退回来？请尽快退款"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Desk, OnlineStore, Settings]]:
    tmp_path = tmp_path_factory.mktemp("text_capability")
    desk = make_desk(tmp_path)
    version = train_model(desk.store, desk.lake, "intent")
    desk.store.models.set_alias("intent", version.version, "champion")
    online_url = f"sqlite:///{tmp_path / 'online.db'}"
    online = open_online_store(online_url)
    materialize(desk.store, desk.lake, online, "profile")
    settings = Settings(
        home=tmp_path / "home",
        metadata_url=f"sqlite:///{tmp_path / 'metadata.db'}",  # the desk's store
        lake_url=desk.lake.url,
        offline_engine="duckdb",
        online_url=online_url,
        bus_url=f"sqlite:///{tmp_path / 'bus.db'}",
    )
    yield desk, online, settings
    online.close()
    desk.store.close()


@pytest.fixture(scope="module")
def runtime(served) -> TextRuntime:
    desk, online, _ = served
    built = build_runtime("intent", desk.store, desk.lake, online)
    assert isinstance(built, TextRuntime)
    return built


def test_a_confident_answer_goes_to_its_queue_by_itself(runtime):
    answer = runtime.decide({"customer_id": 40, "text": REFUND}).to_dict()
    assert (answer["decision"], answer["intent"]) == ("refund_request", "refund_request")
    assert (answer["route"], answer["queue"], answer["escalation"]) == ("auto", "refunds", None)
    assert answer["confidence"] == answer["score"] >= 0.4
    assert answer["top_intents"][0]["intent"] == "refund_request" and len(answer["top_intents"]) == 3


def test_an_angry_high_value_customer_goes_to_a_person(runtime):
    high = runtime.decide({"customer_id": 3, "text": COMPLAINT}).to_dict()
    assert (high["intent"], high["route"], high["queue"], high["escalation"]) == (
        "complaint",
        "human_review",
        "vip_care",
        "angry_high_value",
    )
    low = runtime.decide({"customer_id": 45, "text": COMPLAINT}).to_dict()
    assert (low["intent"], low["route"], low["queue"]) == ("complaint", "auto", "care")


def test_an_unknown_customer_is_answered_from_the_text_alone(runtime):
    answer = runtime.decide({"customer_id": 99999, "text": REFUND})
    assert answer.decision == "refund_request" and not answer.fallback
    assert answer.features == {name: None for name in runtime._profile}


def test_under_the_calibrated_threshold_the_answer_is_other_for_review(runtime, monkeypatch):
    monkeypatch.setattr(runtime._model, "threshold", 1.01)
    answer = runtime.decide({"customer_id": 40, "text": REFUND}).to_dict()
    assert (answer["intent"], answer["route"], answer["queue"]) == ("other", "human_review", "triage")


@pytest.mark.parametrize(
    "body", [{"customer_id": 40}, {"customer_id": 40, "text": "  "}, {"customer_id": 40, "text": 5}]
)
def test_a_missing_text_is_named(runtime, body):
    with pytest.raises(ZhongtaiError, match="field 'text' must be a non-empty string"):
        runtime.decide(body)


def test_an_escalation_rule_over_an_unread_view_is_refused_at_build():
    from zhongtai.capabilities.text_runtime import _compile

    with pytest.raises(ZhongtaiError, match=r"escalate\[0\].when: view 'orders' is not read"):
        _compile("orders.spend_90d > 1", ("profile",), "capabilities.intent.routing.escalate[0].when")
    with pytest.raises(ZhongtaiError, match="unknown name 'spend'"):
        _compile("spend > 1", ("profile",), "capabilities.intent.routing.escalate[0].when")


@pytest.fixture(scope="module")
def gateway(served) -> Iterator[RunningGateway]:
    desk, _, settings = served
    grant_test_roles(desk.store)  # default deny: the caller role is granted by the test policy
    secret = desk.store.access.create_key("desk", ["caller"])
    world = SimpleNamespace(store=desk.store)
    running = start_gateway(dataclasses.replace(settings), world, secret)  # type: ignore[arg-type]
    yield running
    running.stop()


def test_the_gateway_answers_and_logs_the_text_scrubbed(gateway):
    headers = {"Authorization": f"Bearer {gateway.key}"}
    text = "订单还没退款，我的手机号13812345678，请尽快退钱"
    with httpx.Client(base_url=gateway.url, headers=headers) as client:
        answer = client.post(DECIDE, json={"customer_id": 3, "text": text})
        missing = client.post(DECIDE, json={"customer_id": 3})
        spec = client.get("/openapi.json").json()
    assert answer.status_code == 200, answer.text
    assert {"intent", "confidence", "top_intents", "route", "queue"} <= set(answer.json())
    assert missing.status_code == 422 and "field 'text'" in missing.text
    body = spec["paths"][DECIDE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["customer_id", "text"] and body["properties"]["text"]["type"] == "string"
    decision_id = answer.json()["decision_id"]
    deadline = time.monotonic() + 10
    logged = {}
    while decision_id not in logged and time.monotonic() < deadline:
        logged = {r.id: r for r in gateway.world.store.decisions.recent("intent", limit=100)}
        time.sleep(0.05)
    record = logged[decision_id]
    assert "13812345678" not in record.inputs["text"] and "[phone]" in record.inputs["text"]
    assert record.output["route"] in ("auto", "human_review")
