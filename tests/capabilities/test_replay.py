"""Decision replay: logged answers re-scored with another version, from the feature values they saw."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.capabilities.world import KNOWN_IDS, build_world, register_model, train_booster
from zhongtai.capabilities.replay import replay
from zhongtai.capabilities.serving import Capabilities
from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.time import now

pytestmark = pytest.mark.integration


def _log_answers(world) -> None:
    runtime = Capabilities.load_all(world.store, world.storage, world.online).get("churn-risk")
    records = []
    for key in [*KNOWN_IDS, "999999"]:  # the last one is unknown: a fallback
        d = runtime.decide({"customer_id": key})
        records.append(
            DecisionRecord(
                id=d.decision_id, at=now(), capability=d.capability, principal="crm", model_name=d.model_name,
                model_version=d.model_version, decision=d.decision, score=d.score, fallback=d.fallback,
                inputs={"customer_id": key}, features=d.features, latency_ms=0.1, arm=d.arm,
            )
        )  # fmt: skip
    world.store.decisions.append(records)


def test_the_serving_version_replayed_agrees_with_itself(metadata_url, tmp_path):
    world = build_world(tmp_path, metadata_url, f"sqlite:///{tmp_path / 'online.db'}")
    try:
        _log_answers(world)
        report = replay(world.store, world.storage, "churn-risk", "champion", now() - timedelta(hours=1))
        assert (report.decisions, report.fallbacks, report.replayed) == (41, 1, 40)
        assert report.agreement == 1.0 and report.mean_abs_diff == 0.0 and report.flips == {}
        assert report.by_version == {"v1": 40}
    finally:
        world.online.close()
        world.store.close()


def test_another_version_shows_its_shift_and_flips(metadata_url, tmp_path):
    world = build_world(tmp_path, metadata_url, f"sqlite:///{tmp_path / 'online.db'}")
    try:
        _log_answers(world)
        v2 = register_model(world.store, world.storage, train_booster(seed=11), alias="challenger")
        report = replay(world.store, world.storage, "churn-risk", str(v2), now() - timedelta(hours=1))
        assert report.candidate == v2 and report.replayed == 40
        assert report.mean_abs_diff > 0
        assert sum(report.flips.values()) == round((1 - report.agreement) * 40)
        later = replay(world.store, world.storage, "churn-risk", "challenger", now() + timedelta(minutes=1))
        assert later.decisions == 0 and later.agreement is None
        with pytest.raises(ZhongtaiError, match="not registered"):
            replay(world.store, world.storage, "churn-risk", "nothing", now())
    finally:
        world.online.close()
        world.store.close()
