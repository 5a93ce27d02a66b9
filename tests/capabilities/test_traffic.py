"""Traffic policy: sticky weighted arms, live splits recorded with who and why, shadows off the answer."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, build_world, register_model, train_booster
from tests.gateway.conftest import served_world
from zhongtai.capabilities.serving import Capabilities, RegistryWatcher
from zhongtai.capabilities.traffic import effective_policy, parse_split, set_split
from zhongtai.edge.arms import ArmChooser
from zhongtai.errors import ZhongtaiError
from zhongtai.spec.models import CapabilitySpec
from zhongtai.spec.traffic import TrafficSpec

PEOPLE = [str(100_000 + i) for i in range(2000)]


def test_a_50_50_split_is_balanced_and_sticky():
    chooser = ArmChooser("churn-risk", [50, 50])
    first = [chooser.choose(p) for p in PEOPLE]
    shares = Counter(first)
    assert set(shares) == {0, 1}
    assert all(abs(count / len(PEOPLE) - 0.5) <= 0.05 for count in shares.values())
    assert [ArmChooser("churn-risk", [50, 50]).choose(p) for p in PEOPLE] == first  # any process, same arm


def test_moving_weights_moves_only_the_people_between_the_old_and_new_bounds():
    before = [ArmChooser("churn-risk", [90, 10]).choose(p) for p in PEOPLE]
    after = [ArmChooser("churn-risk", [80, 20]).choose(p) for p in PEOPLE]
    assert all(a == 1 for b, a in zip(before, after, strict=True) if b == 1)  # challenger keeps its people
    moved = sum(b != a for b, a in zip(before, after, strict=True)) / len(PEOPLE)
    assert 0.05 < moved < 0.15


def test_an_arm_of_weight_zero_gets_nobody_and_capabilities_split_independently():
    assert {ArmChooser("churn-risk", [0, 100, 0]).choose(p) for p in PEOPLE} == {1}
    a = [ArmChooser("churn-risk", [50, 50]).choose(p) for p in PEOPLE]
    b = [ArmChooser("intent", [50, 50]).choose(p) for p in PEOPLE]
    assert a != b


def test_split_assignments_are_checked():
    current = TrafficSpec.model_validate({"arms": [{"name": "champion", "weight": 100}]})
    policy = parse_split(["champion=90", "v3=10"], current)
    assert [(a.name, a.serves, a.weight) for a in policy.arms] == [
        ("champion", "champion", 90),
        ("v3", "v3", 10),
    ]
    for bad, match in [
        (["champion"], "is not an arm assignment"),
        (["champion=-1"], "is not an arm assignment"),
        (["champion=0"], "at least one arm needs a weight above 0"),
        (["a=1", "a=2"], "repeated"),
    ]:
        with pytest.raises(ZhongtaiError, match=match):
            parse_split(bad, current)


@pytest.mark.integration
def test_a_split_must_name_servable_versions_and_is_recorded(metadata_url, tmp_path):
    world = build_world(tmp_path, metadata_url, f"sqlite:///{tmp_path / 'online.db'}")
    try:
        store = world.store
        spec = CapabilitySpec.model_validate(store.spec("capabilities", "churn-risk"))
        assert [a.name for a in effective_policy(store, spec).arms] == ["champion"]
        with pytest.raises(ZhongtaiError, match="challenger, which is not registered"):
            set_split(
                store,
                "churn-risk",
                parse_split(["champion=50", "challenger=50"], spec.traffic or effective_policy(store, spec)),
                "bob",
            )
        v2 = register_model(store, world.storage, train_booster(seed=8), alias="challenger")
        with pytest.raises(ZhongtaiError, match=rf"pins churn v{v2}, which is registered"):
            set_split(
                store,
                "churn-risk",
                parse_split(["champion=50", f"v{v2}=50"], effective_policy(store, spec)),
                "bob",
            )
        set_split(
            store,
            "churn-risk",
            parse_split(["champion=50", "challenger=50"], effective_policy(store, spec)),
            "bob",
            "A/B of v2",
        )
        assert [a.name for a in effective_policy(store, spec).arms] == ["champion", "challenger"]
        (change,) = store.traffic.history("churn-risk")
        assert (change["actor"], change["action"], change["reason"]) == ("bob", "split", "A/B of v2")
        assert change["from"] is None and [a["name"] for a in change["to"]["arms"]] == [
            "champion",
            "challenger",
        ]
        assert store.traffic.reset("churn-risk", "bob", "done") is True
        assert [a.name for a in effective_policy(store, spec).arms] == ["champion"]
        assert [c["action"] for c in store.traffic.history("churn-risk")] == ["reset", "split"]
    finally:
        world.online.close()
        world.store.close()


@pytest.mark.integration
def test_a_live_split_reaches_the_loaded_runtimes_at_the_next_poll(metadata_url, tmp_path):
    world = build_world(tmp_path, metadata_url, f"sqlite:///{tmp_path / 'online.db'}")
    try:
        capabilities = Capabilities.load_all(world.store, world.storage, world.online)
        watcher = RegistryWatcher(capabilities, world.store.serving_signal)
        watcher._seen = watcher._read()
        v2 = register_model(world.store, world.storage, train_booster(seed=8), alias="challenger")
        spec = CapabilitySpec.model_validate(world.store.spec("capabilities", "churn-risk"))
        set_split(
            world.store,
            "churn-risk",
            parse_split(["champion=50", "challenger=50"], effective_policy(world.store, spec)),
            "bob",
        )
        assert "churn-risk" in watcher.check()
        served = {capabilities.get("churn-risk").decide({"customer_id": k}).arm for k in KNOWN_IDS}
        assert served == {"champion", "challenger"}
        by_arm = {
            d.arm: d.model_version
            for d in (capabilities.get("churn-risk").decide({"customer_id": k}) for k in KNOWN_IDS[:-1])
        }
        assert by_arm == {"champion": 1, "challenger": v2}
    finally:
        world.online.close()
        world.store.close()


@pytest.mark.integration
def test_a_split_over_http_is_sticky_and_shadows_are_logged_never_answered(tmp_path):
    def prepare(world):
        register_model(world.store, world.storage, train_booster(seed=8), alias="challenger")
        register_model(world.store, world.storage, train_booster(seed=9), alias="candidate")

    with served_world(
        tmp_path,
        f"sqlite:///{tmp_path / 'online.db'}",
        key=("ops", ["admin"]),
        prepare=prepare,
        serving_poll_seconds=0.2,
    ) as gateway:
        headers = {"Authorization": f"Bearer {gateway.key}"}
        body = {
            "arms": [{"name": "champion", "weight": 50}, {"name": "challenger", "weight": 50}],
            "shadows": [{"name": "candidate", "sample": 1.0}],
            "reason": "try v2 and watch v3",
        }
        put = httpx.put(f"{gateway.url}/v1/capabilities/churn-risk/traffic", json=body, headers=headers)
        assert put.status_code == 200, put.text
        assert put.json()["origin"] == "live"
        deadline = time.monotonic() + 10
        while True:
            found = httpx.get(f"{gateway.url}/v1/capabilities", headers=headers).json()["capabilities"]
            (listed,) = [c for c in found if c["name"] == "churn-risk"]
            if len(listed["traffic"]) == 3 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [t.get("arm") or t.get("shadow") for t in listed["traffic"]] == [
            "champion",
            "challenger",
            "candidate",
        ]

        def arm_of(person: str) -> str:
            answer = httpx.post(
                f"{gateway.url}/v1/capabilities/churn-risk/decide",
                json={"customer_id": person},
                headers=headers,
            ).json()
            return answer["arm"]

        people = KNOWN_IDS[:-1] + PEOPLE[:160]
        first = {p: arm_of(p) for p in people}
        assert set(first.values()) == {"champion", "challenger"}  # the shadow never answers
        assert all(arm_of(p) == first[p] for p in people[:50])
        gateway.stop()  # flushes the decision log
        records = gateway.world.store.decisions.recent("churn-risk", limit=1000)
        shadows = [r for r in records if r.shadow_of is not None]
        answered = {r.id for r in records if r.shadow_of is None}
        assert shadows and {r.arm for r in shadows} == {"candidate"}
        assert {r.shadow_of for r in shadows} <= answered


@pytest.mark.integration
def test_traffic_routes_refuse_bad_policies_and_callers(tmp_path):
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}", key=("ops", ["admin"])) as gateway:
        url = f"{gateway.url}/v1/capabilities/churn-risk/traffic"
        headers = {"Authorization": f"Bearer {gateway.key}"}
        unknown = httpx.put(url, json={"arms": [{"name": "nobody", "weight": 1}]}, headers=headers)
        assert unknown.status_code == 422 and "not registered" in unknown.json()["message"]
        zero = httpx.put(url, json={"arms": [{"name": "champion", "weight": 0}]}, headers=headers)
        assert zero.status_code == 422 and "weight above 0" in zero.json()["message"]
        missing = httpx.put(
            f"{gateway.url}/v1/capabilities/nothing/traffic",
            json={"arms": [{"name": "champion", "weight": 1}]},
            headers=headers,
        )
        assert missing.status_code == 404
        caller = gateway.world.store.access.create_key("crm-caller", ["caller"])
        denied = httpx.get(url, headers={"Authorization": f"Bearer {caller}"})
        assert denied.status_code == 403
        assert httpx.delete(url, headers=headers).json()["origin"] == "alias"
