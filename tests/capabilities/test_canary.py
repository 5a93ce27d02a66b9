"""Canary ramps: weights by step, guards that roll back at once with the reason, steps that move on."""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import pytest

from tests.capabilities.world import (
    FEATURES,
    KNOWN_IDS,
    _synthetic,
    build_world,
    register_model,
    train_booster,
)
from zhongtai.capabilities.canary import (
    ERROR,
    OK,
    ROLLED_BACK,
    ArmWindow,
    CanaryController,
    CanaryState,
    judge,
    psi,
    ramped,
)
from zhongtai.capabilities.serving import Capabilities, RegistryWatcher
from zhongtai.capabilities.traffic import checked_policy, set_split
from zhongtai.meta.time import now
from zhongtai.monitor.alerts import AlertCenter
from zhongtai.spec.traffic import CanarySpec

GUARDS = {"min_requests": 10, "window": "5m", "max_error_rate": 0.05, "max_score_psi": 0.25}


def _policy(steps=(50, 100), every="1h", complete="hold", **guards):
    return checked_policy(
        {
            "arms": [{"name": "champion", "weight": 100}, {"name": "challenger", "weight": 0}],
            "canary": {
                "arm": "challenger",
                "steps": list(steps),
                "step_every": every,
                "complete": complete,
                "guards": {**GUARDS, **guards},
            },
        }
    )


def test_the_canary_gets_the_step_share_and_the_others_share_the_rest():
    policy = checked_policy(
        {
            "arms": [{"name": "a", "weight": 30}, {"name": "b", "weight": 10}, {"name": "c", "weight": 0}],
            "canary": {"arm": "c", "steps": [5, 25]},
        }
    )
    weights = {a.name: a.weight for a in ramped(policy, CanaryState(0, now())).arms}
    assert weights == pytest.approx({"a": 71.25, "b": 23.75, "c": 5})
    assert {a.name: a.weight for a in ramped(policy, CanaryState(1, now())).arms}["c"] == 25
    assert {a.name: a.weight for a in ramped(policy, CanaryState(1, now(), ROLLED_BACK)).arms}["c"] == 0


def test_steps_must_rise_and_the_arm_must_exist():
    with pytest.raises(Exception, match="must rise"):
        CanarySpec(arm="x", steps=[25, 5])
    with pytest.raises(Exception, match="not one of the arms"):
        checked_policy(
            {"arms": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}], "canary": {"arm": "z"}}
        )


def _windows(canary_rows, other_rows):
    windows = {"champion": ArmWindow(), "challenger": ArmWindow()}
    for outcome, ms, score in other_rows:
        windows["champion"].record(outcome, ms, score)
    for outcome, ms, score in canary_rows:
        windows["challenger"].record(outcome, ms, score)
    return windows


def test_judge_holds_until_enough_requests_then_rolls_back_on_errors_or_shift():
    canary = _policy().canary
    rng = np.random.default_rng(1)
    champion = [(OK, 1.0, s) for s in rng.beta(2, 5, 300)]
    state = CanaryState(0, now())
    few = judge(canary, state, _windows([(OK, 1.0, 0.3)] * 5, champion), now())
    assert few.action == "hold" and "5 canary requests" in few.reason
    errors = judge(canary, state, _windows([(ERROR, 1.0, None)] * 3 + [(OK, 1.0, 0.3)] * 30, champion), now())
    assert errors.action == "rollback" and errors.reason.startswith("error rate 9.1%")
    shifted = judge(canary, state, _windows([(OK, 1.0, s) for s in rng.beta(5, 2, 300)], champion), now())
    assert shifted.action == "rollback" and "score PSI" in shifted.reason
    same = [(OK, 1.0, s) for s in rng.beta(2, 5, 300)]
    assert judge(canary, state, _windows(same, champion), now()).action == "hold"  # not an hour yet
    later = now() + timedelta(hours=1, seconds=1)
    assert judge(canary, state, _windows(same, champion), later).action == "step"
    assert judge(canary, CanaryState(1, now()), _windows(same, champion), later).action == "complete"


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(2)
    base = rng.normal(0, 1, 5000)
    assert psi(base, rng.normal(0, 1, 5000)) < 0.02
    assert psi(base, rng.normal(1, 1, 5000)) > 0.25


def _flipped_booster():
    import lightgbm

    x, y = _synthetic(np.random.default_rng(3), 3000)
    params = {"objective": "binary", "num_leaves": 8, "verbose": -1, "num_threads": 1}
    return lightgbm.train(params, lightgbm.Dataset(x, label=1 - y, feature_name=FEATURES), num_boost_round=25)


@pytest.mark.integration
def test_a_canary_with_shifted_scores_rolls_back_by_itself_with_the_reason(metadata_url, tmp_path):
    world = build_world(tmp_path, metadata_url, f"sqlite:///{tmp_path / 'online.db'}")
    try:
        register_model(world.store, world.storage, _flipped_booster(), alias="challenger")
        set_split(world.store, "churn-risk", _policy(), "alice", "canary of v2")
        capabilities = Capabilities.load_all(world.store, world.storage, world.online)
        watcher = RegistryWatcher(capabilities, world.store.serving_signal)
        watcher._seen = watcher._read()
        runtime = capabilities.get("churn-risk")
        assert {a.name: a.weight for a, _ in runtime.arms} == {"champion": 50, "challenger": 50}
        for _ in range(6):
            for key in KNOWN_IDS[:-1]:
                runtime.decide({"customer_id": key})
        alerts = AlertCenter(world.store, [])  # no receiver: the alert is only recorded
        verdicts = CanaryController(capabilities, world.store, alerts=alerts).check()
        assert verdicts["churn-risk"].action == "rollback" and "score PSI" in verdicts["churn-risk"].reason
        [alert] = alerts.listed()
        assert alert.name == "CanaryRolledBack" and alert.labels == {
            "capability": "churn-risk",
            "arm": "challenger",
        }
        assert "score PSI" in alert.summary
        live = world.store.traffic.get("churn-risk")
        assert live.state["status"] == ROLLED_BACK and live.principal == "canary-controller"
        assert world.store.traffic.history("churn-risk")[0]["action"] == "canary_rollback"
        assert "churn-risk" in watcher.check()
        after = capabilities.get("churn-risk")
        assert {after.decide({"customer_id": k}).arm for k in KNOWN_IDS} == {"champion"}
        assert CanaryController(capabilities, world.store).check() == {}  # rolled back: judged no more
    finally:
        world.online.close()
        world.store.close()


@pytest.mark.integration
def test_a_failing_canary_answers_with_the_fallback_and_rolls_back(metadata_url, tmp_path):
    world = build_world(tmp_path, metadata_url, f"sqlite:///{tmp_path / 'online.db'}")
    try:
        register_model(world.store, world.storage, train_booster(seed=8), alias="challenger")
        set_split(world.store, "churn-risk", _policy(), "alice")
        capabilities = Capabilities.load_all(world.store, world.storage, world.online)
        runtime = capabilities.get("churn-risk")
        (challenger,) = [r for a, r in runtime.arms if a.name == "challenger"]

        def broken(inputs):
            raise RuntimeError("the model cannot predict")

        challenger.decide = broken  # type: ignore[method-assign]
        answers = [runtime.decide({"customer_id": k}) for _ in range(3) for k in KNOWN_IDS[:-1]]
        failed = [d for d in answers if d.arm == "challenger"]
        assert failed and all(d.fallback and d.fallback_reason == "model_error" for d in failed)
        assert failed[0].to_dict()["fallback_reason"] == "model_error"
        verdicts = CanaryController(capabilities, world.store).check()
        assert verdicts["churn-risk"].reason.startswith("error rate 100.0%")
    finally:
        world.online.close()
        world.store.close()


@pytest.mark.integration
def test_a_canary_that_holds_steps_up_and_completes_by_promotion(metadata_url, tmp_path):
    world = build_world(tmp_path, metadata_url, f"sqlite:///{tmp_path / 'online.db'}")
    try:
        v2 = register_model(world.store, world.storage, train_booster(seed=7), alias="challenger")
        from zhongtai.models.policy import ModelAction
        from zhongtai.models.review import review

        review(world.store, "churn", v2, ModelAction.SUBMIT, "alice")
        review(world.store, "churn", v2, ModelAction.APPROVE, "bob")
        # Two dozen people split by a hash: the arms' score samples differ by who is in them, so the shift
        # guard is relaxed here; the test is about the steps.
        set_split(
            world.store, "churn-risk", _policy(every="1s", complete="promote", max_score_psi=50), "alice"
        )
        capabilities = Capabilities.load_all(world.store, world.storage, world.online)
        watcher = RegistryWatcher(capabilities, world.store.serving_signal)
        watcher._seen = watcher._read()
        controller = CanaryController(capabilities, world.store)
        for expected in ("step", "complete"):
            runtime = capabilities.get("churn-risk")
            time.sleep(1.1)  # each step holds for `step_every` (1s) before the next
            for _ in range(6):
                for key in KNOWN_IDS[:-1]:
                    runtime.decide({"customer_id": key})
            assert controller.check()["churn-risk"].action == expected
            watcher.check()
        assert world.store.models.by_alias("churn", "champion").version == v2
        assert world.store.traffic.get("churn-risk").state["status"] == "promoted"
    finally:
        world.online.close()
        world.store.close()
