"""The retrain flywheel on the small churn world: a trigger by new labels trains a challenger that is compared,
replayed, approved by a second principal, shadowed, ramped and promoted; a worse challenger is discarded with
the reason; a champion below the quality floor is rolled back; drift triggers; one run per model, one
process per run.

The challenger is trained by the platform's training (models/train.py) on a fresh synthetic training set,
registered and handed over (the world has no lake datasets for the feature store to join). The canary is
judged by the gateway's canary controller on requests served through the capability's real arms.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.capabilities.world import FEATURES, KNOWN_IDS, World, _synthetic, build_world
from zhongtai.capabilities.canary import CanaryController
from zhongtai.capabilities.serving import Capabilities
from zhongtai.errors import ZhongtaiError
from zhongtai.flywheel.retrain import approve, check, history
from zhongtai.meta.drift import DriftReport
from zhongtai.meta.flywheel import FlywheelRecords
from zhongtai.meta.records import Change, DecisionRecord, ModelVersion
from zhongtai.meta.time import now
from zhongtai.models import aliases
from zhongtai.models.artifacts import ARTIFACT_FORMAT, save_booster
from zhongtai.models.policy import ModelAction
from zhongtai.models.review import review
from zhongtai.models.train import train_model

pytestmark = pytest.mark.integration

POLICY: dict[str, Any] = {
    "triggers": {"new_labels": 100, "quality": {"measure": "auc", "floor": 0.6, "min_decisions": 50}},
    "holdout": "1d",
    "min_improvement": -0.05,
    "min_holdout": 50,
    "shadow": {"window": "0s"},
    "canary": {
        "arm": "challenger",
        "steps": [50, 100],
        "step_every": "1s",
        # Two dozen people split by a hash: the arms' score samples differ by who is in them, so the
        # shift guard is relaxed as in the canary's own tests.
        "guards": {"window": "1m", "min_requests": 10, "max_score_psi": 50},
    },
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = build_world(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}", f"sqlite:///{tmp_path / 'online.db'}")
    _set_policy(built, POLICY)
    yield built
    built.online.close()
    built.store.close()


def _set_policy(world: World, policy: dict[str, Any]) -> None:
    spec = {**world.store.spec("models", "churn"), "retrain": policy}
    world.store.apply([Change("models", "update", "churn", spec)], "test")


def _log(
    world: World, version: int, booster: Any, rows: int = 200, seed: int = 3, inverted: bool = False
) -> None:
    """Answered decisions of `version` with their logged features and a churned outcome each (the outcome
    drawn as the world's churn is, or the opposite with `inverted`)."""
    x, y = _synthetic(np.random.default_rng(seed), rows)
    scores = booster.predict(x)
    at = now() - timedelta(minutes=30)
    records = [
        DecisionRecord(
            id=uuid.uuid4().hex,
            at=at,
            capability="churn-risk",
            principal="test",
            model_name="churn",
            model_version=version,
            decision="watch" if s >= 0.3 else "none",
            score=float(s),
            fallback=False,
            inputs={"customer_id": str(i)},
            features=dict(zip(FEATURES, map(float, row), strict=True)),
            latency_ms=1.0,
            arm="champion",
        )
        for i, (row, s) in enumerate(zip(x, scores, strict=True))
    ]
    world.store.decisions.append(records)
    for record, label in zip(records, y, strict=True):
        world.store.feedback.add(record.id, "churn-risk", "churned", bool(label) != inverted, "crm")


def _trainer(world: World, shuffled: bool = False):
    """The platform's training (models/train.py) on a fresh training set of the churn features; labels
    shuffled for a deliberately bad challenger. The training set is registered and handed over as the
    feature store would, because the world has no lake datasets for it to join."""

    def train(model: str) -> ModelVersion:
        import pyarrow as pa

        rng = np.random.default_rng(21)
        x, y = _synthetic(rng, 3000)
        if shuffled:
            y = rng.permutation(y)
        months = rng.integers(0, 12, len(y))
        table = pa.table(
            {
                "customer_id": pa.array([str(i) for i in range(len(y))]),
                "ts": pa.array(
                    [datetime(2026, 1 + m, 1, tzinfo=UTC) for m in months], pa.timestamp("us", "UTC")
                ),
                "label": pa.array(y.astype(np.int64)),
                **{name: pa.array(x[:, i]) for i, name in enumerate(FEATURES)},
            }
        )
        lineage = {"features": FEATURES, "join_keys": ["customer_id"], "timestamp": "ts", "label": "label",
                   "datasets": {}, "feature_views": {"customer_activity": 1, "customer_service": 1}}  # fmt: skip
        training = world.store.features.add_training_set(
            str(uuid.uuid4()), model, table.num_rows, [], lineage
        )
        return train_model(world.store, world.storage, model, training=(training, table))

    return train


def _step(world: World, trainer=None, principal: str = "scheduler") -> tuple[str | None, str]:
    [outcome] = [
        o for o in check(world.store, world.storage, principal, "churn", trainer) if o.state != "rolled_back"
    ]
    return outcome.state, outcome.reason


def _ramp(world: World) -> list[str]:
    """Serve requests through the capability's arms and let the gateway's canary controller judge them
    until the ramp is no longer ramping; its verdicts."""
    capabilities = Capabilities.load_all(world.store, world.storage, world.online)
    assert "churn-risk" not in capabilities.errors, capabilities.errors
    controller = CanaryController(capabilities, world.store)
    verdicts = []
    for _ in range(4):
        runtime = capabilities.get("churn-risk")
        time.sleep(1.1)  # each step holds for `step_every` (1s) before the next
        for _ in range(6):
            for key in KNOWN_IDS[:-1]:
                runtime.decide({"customer_id": key})
        verdict = controller.check().get("churn-risk")
        verdicts.append(verdict.action if verdict else "hold")
        capabilities.reload("churn-risk")  # as the registry watcher does on a changed split
        if verdicts[-1] in ("complete", "rollback"):
            break
    return verdicts


def test_new_labels_train_a_challenger_that_is_judged_approved_ramped_and_promoted(world):
    trainer = _trainer(world)
    assert _step(world, trainer) == (None, "no trigger fired")
    _log(world, 1, world.booster)
    states = [_step(world, trainer)[0] for _ in range(5)]
    assert states == ["triggered", "trained", "compared", "replayed", "awaiting_approval"]
    assert _step(world, trainer) == (None, "awaiting_approval: waiting")
    [run] = history(world.store, "churn")
    with pytest.raises(
        ZhongtaiError, match=r"scheduler triggered flywheel run \w+ and may not approve it too"
    ):
        approve(world.store, run.id, "scheduler")
    approve(world.store, run.id, "alice")
    assert _step(world, trainer)[0] == "shadowing"
    shadows = world.store.traffic.get("churn-risk").policy["shadows"]
    assert shadows == [{"name": "challenger-shadow", "version": 2}]
    assert _step(world, trainer)[0] == "canary"
    assert _step(world, trainer) == (None, "canary: waiting")  # the controller is still ramping
    assert _ramp(world) == ["step", "complete"]  # the gateway's canary controller on served traffic
    assert _step(world, trainer)[0] == "promoted"
    assert world.store.models.by_alias("churn", "champion").version == 2
    assert world.store.traffic.get("churn-risk") is None  # the spec's traffic stands again

    [run] = history(world.store, "churn")
    assert [s["state"] for s in run.steps] == [
        "triggered", "trained", "compared", "replayed", "awaiting_approval", "approved", "shadowing", "canary",
        "promoted",
    ]  # fmt: skip
    assert not run.open and run.champion_version == 1 and run.challenger_version == 2
    trigger, compared, replayed = run.steps[0]["evidence"], run.steps[2]["evidence"], run.steps[3]["evidence"]
    assert trigger["kind"] == "new_labels" and trigger["labelled"] == 200
    assert run.steps[1]["evidence"]["version"] == 2 and run.steps[1]["evidence"]["validation"]["auc"] > 0.6
    assert compared["holdout_decisions"] == 200 and compared["challenger"]["auc"] > 0.6
    assert compared["champion"]["version"] == 1 and compared["challenger"]["version"] == 2
    assert replayed["replayed"] == 200 and 0 <= replayed["agreement"] <= 1
    found = world.store.audit.records(limit=None, newest_first=False)
    kinds = [r.kind for r in found if r.kind.startswith("flywheel")]
    assert (
        kinds == ["flywheel_trigger"] + ["flywheel_step"] * 4 + ["flywheel_approve"] + ["flywheel_step"] * 3
    )


def test_a_worse_challenger_is_discarded_with_the_reason(world):
    _set_policy(world, {**POLICY, "min_improvement": 0.0})
    _log(world, 1, world.booster)
    trainer = _trainer(world, shuffled=True)
    states = [_step(world, trainer) for _ in range(3)]
    assert [s for s, _ in states] == ["triggered", "trained", "discarded"]
    assert "improvement" in states[2][1] and "below min_improvement 0.0" in states[2][1]
    [run] = history(world.store, "churn")
    assert not run.open and run.steps[-1]["evidence"]["improvement"] < 0
    assert world.store.models.by_alias("churn", "champion").version == 1
    assert _step(world, trainer) == (None, "no trigger fired")  # no new labels since that run


def test_a_canary_rolled_back_discards_the_challenger_and_clears_its_split(world):
    guards = {"window": "1m", "min_requests": 10, "max_score_psi": 0.001}  # any shift of scores trips it
    _set_policy(
        world, {**POLICY, "require_approval": False, "canary": {**POLICY["canary"], "guards": guards}}
    )
    spec = {**world.store.spec("models", "churn"), "require_approval": False}
    world.store.apply([Change("models", "update", "churn", spec)], "test")
    _log(world, 1, world.booster)
    trainer = _trainer(world)
    states = [_step(world, trainer)[0] for _ in range(6)]
    assert states == ["triggered", "trained", "compared", "replayed", "shadowing", "canary"]
    assert _ramp(world) == ["rollback"]
    state, reason = _step(world, trainer)
    assert state == "discarded" and reason.startswith("the canary rolled back: score PSI ")
    assert reason.endswith("> 0.001 against the other arms")
    assert world.store.traffic.get("churn-risk") is None
    assert world.store.models.by_alias("churn", "champion").version == 1


def test_a_champion_below_the_quality_floor_is_rolled_back(world):
    trainer = _trainer(world)
    v2 = trainer("churn").version
    for version in (1, v2):
        review(world.store, "churn", version, ModelAction.SUBMIT, "bob")
        review(world.store, "churn", version, ModelAction.APPROVE, "alice")
    aliases.move(world.store, "churn", v2, "champion", "alice", "promoted by hand")
    _set_policy(world, {**POLICY, "triggers": {"quality": {"floor": 0.6, "min_decisions": 50}}})
    _log(world, v2, world.booster, inverted=True)  # its answers turned out the other way round
    [outcome] = [
        o for o in check(world.store, world.storage, "scheduler", "churn") if o.state == "rolled_back"
    ]
    assert outcome.reason.startswith("live auc 0.") and outcome.reason.endswith("below the floor 0.6")
    assert world.store.models.by_alias("churn", "champion").version == 1
    [run] = history(world.store, "churn")
    assert run.state == "rolled_back" and run.steps[0]["evidence"]["to_version"] == 1
    last = aliases.history(world.store, "churn", "champion")[-1]
    assert last.action == "rollback" and last.principal == "scheduler"

    _log(world, 1, world.booster, inverted=True)  # the version rolled back to turns out badly too
    [again] = [o for o in check(world.store, world.storage, "scheduler", "churn") if o.state]
    assert again.state == "floor_breached" and "where the flywheel rolled back to" in again.reason
    assert world.store.models.by_alias("churn", "champion").version == 1  # no flip back: a person decides
    assert [o.state for o in check(world.store, world.storage, "scheduler", "churn")] == [None]  # said once


def test_drift_above_the_threshold_triggers_a_run(world):
    _set_policy(world, {**POLICY, "triggers": {"drift": {"max_share_drifted": 0.3}}})
    assert _step(world) == (None, "no trigger fired")
    at = now()
    results = [
        {"column": f, "verdict": "drift" if i < 2 else "ok"} for i, f in enumerate([*FEATURES, "score"])
    ]
    world.store.drift.add_report(
        DriftReport(
            id=0, capability="churn-risk", model_name="churn", model_version=1, at=at,
            window_start=at - timedelta(hours=1), window_end=at, decisions=500, verdict="drift", drifted=2,
            results=results, thresholds={},
        )
    )  # fmt: skip
    assert _step(world) == ("triggered", "trigger: drift")
    [run] = history(world.store, "churn")
    assert run.trigger["share_drifted"] == pytest.approx(2 / 6, abs=1e-4)


def test_one_open_run_per_model_and_one_process_per_run(world):
    _log(world, 1, world.booster)
    assert _step(world)[0] == "triggered"
    records = FlywheelRecords(world.store)
    [run] = history(world.store, "churn")
    assert (
        records.start(run.__class__(**{**run.__dict__, "id": "other"})) is None
    )  # the model has one open run
    assert records.claim(run.id, "process-a") and not records.claim(run.id, "process-b")
    assert _step(world) == (None, "another process is advancing this run")
    records.release(run.id, "process-a")
    assert records.claim(run.id, "process-b")


def test_a_policy_on_a_model_that_is_not_binary_is_refused():
    from pydantic import ValidationError

    from zhongtai.spec.models import ModelSpec

    with pytest.raises(ValidationError, match="retrain policies judge binary classification models"):
        ModelSpec.model_validate(
            {"name": "spend", "task": "regression", "entity": "customer", "label": {"sql": "SELECT 1"},
             "feature_views": ["v"], "retrain": {"triggers": {"new_labels": 10}}}
        )  # fmt: skip
    with pytest.raises(ValidationError, match="give at least one trigger"):
        ModelSpec.model_validate(
            {"name": "churn", "entity": "customer", "label": {"sql": "SELECT 1"}, "feature_views": ["v"],
             "retrain": {"triggers": {}}}
        )  # fmt: skip


@pytest.fixture
def cli_context() -> Iterator[None]:
    """The CLI opens its stores once per process: forget those of earlier tests, and ours after."""
    from zhongtai.cli import context

    context.reset()
    yield
    context.reset()


def test_the_cli_shows_the_timeline_and_approves(world, monkeypatch, cli_context):
    from zhongtai.cli.app import app

    s = world.settings
    env = {"ZT_HOME": str(s.home), "ZT_METADATA_URL": s.metadata_url, "ZT_LAKE_URL": s.lake_url,
           "ZT_ONLINE_URL": s.online_url, "ZT_BUS_URL": s.bus_url, "ZT_PRINCIPAL": "scheduler"}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _log(world, 1, world.booster)
    trainer = _trainer(world)
    for _ in range(5):
        _step(world, trainer)
    runner = CliRunner()
    [run] = history(world.store, "churn")
    refused = runner.invoke(app, ["flywheel", "approve", run.id])
    assert refused.exit_code != 0 and "may not approve it too" in refused.output
    monkeypatch.setenv("ZT_PRINCIPAL", "alice")
    approved = runner.invoke(app, ["flywheel", "approve", run.id])
    assert approved.exit_code == 0, approved.output
    checked = runner.invoke(app, ["flywheel", "check", "--model", "churn", "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)[0]["state"] == "shadowing"
    shown = runner.invoke(app, ["flywheel", "history", "churn"])
    assert shown.exit_code == 0, shown.output
    for state in ("triggered", "compared", "approved", "shadowing"):
        assert state in shown.output
    assert "holdout_decisions=200" in shown.output


def test_live_quality_well_below_the_validation_measure_triggers_a_run(world):
    artifact = save_booster(world.storage, "churn", world.booster)
    card = {"validation": {"auc": 0.99}}  # what the champion's validation promised
    v2 = world.store.models.register(
        "churn", artifact, ARTIFACT_FORMAT, FEATURES, {}, card, None, "t"
    ).version
    world.store.models.set_alias("churn", v2, "champion")
    _set_policy(world, {**POLICY, "triggers": {"quality": {"drop": 0.1, "min_decisions": 50}}})
    assert _step(world) == (None, "no trigger fired")  # no labelled decision of v2 yet
    _log(world, v2, world.booster)
    assert _step(world) == ("triggered", "trigger: quality_drop")
    [run] = history(world.store, "churn")
    assert (
        run.trigger["validation"] == 0.99 and run.trigger["value"] < 0.89 and run.trigger["decisions"] == 200
    )


def test_a_schedule_triggers_once_per_period(world):
    _set_policy(world, {**POLICY, "triggers": {"every": "1h"}})
    assert _step(world) == (None, "no trigger fired")  # the champion is seconds old
    _set_policy(world, {**POLICY, "triggers": {"every": "0s"}})
    assert _step(world) == ("triggered", "trigger: schedule")


def test_a_policy_that_cannot_be_read_is_reported_by_a_round_and_refused_for_its_model(world):
    spec = {**world.store.spec("capabilities", "churn-challenger"), "alias": "champion"}
    world.store.apply([Change("capabilities", "update", "churn-challenger", spec)], "test")
    [outcome] = check(world.store, world.storage, "scheduler")
    assert outcome.state is None and outcome.reason.startswith("not checked: model 'churn': 2 capabilities")
    with pytest.raises(
        ZhongtaiError, match="2 capabilities serve its champion, so its retrain policy cannot tell"
    ):
        check(world.store, world.storage, "scheduler", "churn")


@pytest.fixture
def pg_world(tmp_path: Path, pg_url: str) -> Iterator[World]:
    built = build_world(tmp_path, pg_url, f"sqlite:///{tmp_path / 'online.db'}")
    _set_policy(built, POLICY)
    yield built
    built.online.close()
    built.store.close()


def test_two_processes_checking_at_once_train_one_challenger_on_postgresql(pg_world):
    world = pg_world
    _log(world, 1, world.booster)
    assert _step(world)[0] == "triggered"
    training, other_done = threading.Event(), threading.Event()
    real = _trainer(world)
    calls: list[str] = []

    def slow_train(model: str) -> ModelVersion:
        calls.append(model)
        training.set()
        other_done.wait(timeout=60)  # hold the lease until the other checker has tried
        return real(model)

    outcomes: dict[str, Any] = {}
    first = threading.Thread(target=lambda: outcomes.update(a=_step(world, slow_train)))
    first.start()
    assert training.wait(timeout=60)
    outcomes["b"] = _step(world, slow_train)
    other_done.set()
    first.join(timeout=120)
    assert outcomes == {"a": ("trained", "trained v2"), "b": (None, "another process is advancing this run")}
    assert calls == ["churn"]
    [run] = history(world.store, "churn")
    assert [s["state"] for s in run.steps] == ["triggered", "trained"]
