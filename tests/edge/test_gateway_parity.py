"""A bundle answers as the gateway does: the churn world served by a real gateway, the same requests asked of
both, the answers compared field by field (all but the decision id and the latency)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, online_url, register_model, train_booster
from tests.edge.world_bundle import export
from tests.gateway.conftest import RunningGateway, served_world
from zhongtai.edge import EdgeError, check_for_update, load_bundle
from zhongtai.edge.__main__ import NEWER_EXIT, run

pytestmark = pytest.mark.integration
UNKNOWN = "no-such-customer"


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def served(request, tmp_path_factory) -> Iterator[RunningGateway]:
    """The churn world served by a real gateway, once per online store (the snapshot reads it too)."""
    tmp = tmp_path_factory.mktemp(f"edge_gateway_{request.param}")
    with online_url(request.param, tmp) as url, served_world(tmp, url) as running:
        yield running


def _gateway_answer(client: httpx.Client, body: dict) -> dict:
    response = client.post("/v1/capabilities/churn-risk/decide", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    del answer["decision_id"], answer["latency_ms"]
    return answer


def _edge_answer(bundle, body: dict, views=None) -> dict:
    answer = bundle.decide(body, views)
    del answer["decision_id"]
    return answer


def test_the_bundle_answers_every_entity_as_the_gateway(served, tmp_path):
    w = served.world
    exported = export(w.store, w.storage, w.online, "churn-risk", tmp_path / "b", [*KNOWN_IDS, UNKNOWN])
    assert (exported.entities, exported.known) == (len(KNOWN_IDS) + 1, len(KNOWN_IDS))
    bundle = load_bundle(exported.path)
    headers = {"Authorization": f"Bearer {served.key}"}
    seen = set()
    with httpx.Client(base_url=served.url, headers=headers) as client:
        for key in [*KNOWN_IDS, UNKNOWN]:
            gateway = _gateway_answer(client, {"customer_id": key})
            assert _edge_answer(bundle, {"customer_id": key}) == gateway
            seen.add((gateway["decision"], gateway["fallback"], len(gateway["factors"])))
    # The comparison covered model answers with three factors in several bands, and the fallback.
    assert ("new_customer", True, 0) in seen
    assert len({decision for decision, fallback, _ in seen if not fallback}) >= 2
    assert all(factors == 3 for _, fallback, factors in seen if not fallback)


def test_values_the_caller_passes_give_the_gateway_answer_without_a_snapshot(served, tmp_path):
    w = served.world
    bundle = load_bundle(export(w.store, w.storage, w.online, "churn-risk", tmp_path / "b").path)
    headers = {"Authorization": f"Bearer {served.key}"}
    with httpx.Client(base_url=served.url, headers=headers) as client:
        for key in (KNOWN_IDS[0], KNOWN_IDS[-1]):  # the last one: no values of its service view
            assert _edge_answer(bundle, {"customer_id": key}, w.rows[key]) == _gateway_answer(
                client, {"customer_id": key}
            )
    assert _edge_answer(bundle, {"customer_id": "x"}, {})["fallback"] is True
    with pytest.raises(EdgeError, match="holds no snapshot of feature values"):
        bundle.decide({"customer_id": KNOWN_IDS[0]})


@pytest.mark.parametrize("value", [True, 1.5, "   ", {"a": 1}, None])
def test_a_bad_key_is_refused_with_the_gateway_message(served, tmp_path, value):
    w = served.world
    bundle = load_bundle(export(w.store, w.storage, w.online, "churn-risk", tmp_path / "b").path)
    headers = {"Authorization": f"Bearer {served.key}"}
    response = httpx.post(
        f"{served.url}/v1/capabilities/churn-risk/decide", json={"customer_id": value}, headers=headers
    )
    assert response.status_code == 422
    with pytest.raises(EdgeError, match="field 'customer_id'") as refused:
        bundle.decide({"customer_id": value})
    assert refused.value.message == response.json()["message"]
    assert refused.value.code == response.json()["code"]


def _serving(served: RunningGateway) -> int:
    headers = {"Authorization": f"Bearer {served.key}"}
    listing = httpx.get(f"{served.url}/v1/capabilities", headers=headers).json()
    return next(c["model"]["version"] for c in listing["capabilities"] if c["name"] == "churn-risk")


def test_check_says_up_to_date_then_names_the_newer_version(tmp_path, capsys):
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}") as served:
        w = served.world
        folder = export(w.store, w.storage, w.online, "churn-risk", tmp_path / "b").path
        status = check_for_update(served.url, served.key, "churn-risk", "champion", 1)
        assert (status.newer, status.describe()) == (False, "churn-risk: up to date (version 1)")
        assert run(["check", str(folder), "--gateway", served.url, "--key", served.key]) == 0
        assert "churn-risk: up to date (version 1)" in capsys.readouterr().out
        assert register_model(w.store, w.storage, train_booster(8)) == 2
        deadline = time.monotonic() + 60
        while _serving(served) != 2:  # every gateway follows a moved alias within seconds
            assert time.monotonic() < deadline, "the gateway did not follow the moved alias"
            time.sleep(0.5)
        code = run(["check", str(folder), "--gateway", served.url, "--key", served.key])
        assert code == NEWER_EXIT
        assert "churn-risk: newer version 2 available (bundle has 1)" in capsys.readouterr().out
        with pytest.raises(EdgeError, match=r"answered 401 to GET /v1/capabilities"):
            check_for_update(served.url, "zt_not_a_key", "churn-risk", "champion", 1)
        with pytest.raises(EdgeError, match="lists no capability 'nope' this key may call"):
            check_for_update(served.url, served.key, "nope", "champion", 1)


def _split(world) -> None:
    """A second version as `challenger`, and a live 50/50 split between the two aliases."""
    from zhongtai.capabilities.traffic import checked_policy, set_split

    version = register_model(world.store, world.storage, train_booster(8), alias="challenger")
    assert version == 2
    arms = [{"name": alias, "alias": alias, "weight": 50} for alias in ("champion", "challenger")]
    policy = checked_policy({"arms": arms})
    set_split(world.store, "churn-risk", policy, "test", "edge parity under a split")


def test_under_a_split_each_entity_gets_the_arm_and_answer_the_gateway_gives(tmp_path):
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}", prepare=_split) as served:
        w = served.world
        exported = export(w.store, w.storage, w.online, "churn-risk", tmp_path / "b", [*KNOWN_IDS, UNKNOWN])
        assert [(a["name"], a["version"], a["weight"]) for a in exported.arms] == [
            ("champion", 1, 50),
            ("challenger", 2, 50),
        ]
        bundle = load_bundle(exported.path)
        assert [(a.name, a.model_version) for a in bundle.arms] == [("champion", 1), ("challenger", 2)]
        arms = set()
        with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {served.key}"}) as client:
            for key in [*KNOWN_IDS, UNKNOWN]:
                gateway = _gateway_answer(client, {"customer_id": key})
                assert _edge_answer(bundle, {"customer_id": key}) == gateway
                arms.add((gateway["arm"], gateway["model"]["version"]))
        assert {("champion", 1), ("challenger", 2)} <= arms
