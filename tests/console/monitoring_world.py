"""The churn world with something to monitor, built with the platform's own functions: a champion trained
with its drift reference, decisions logged in the last hour (some answered by the fallback, the spend of
every answered customer moved far off its training range), outcomes for some, a drift check and the alerts
it raises, a canary alert raised and resolved, a version waiting for approval, a flywheel run awaiting
approval, a review item past its deadline and a dataset never refreshed though it promises hourly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np

from tests.capabilities.world import FEATURES, World, _synthetic
from tests.gateway.conftest import RunningGateway, served_world
from zhongtai.meta.flywheel import FlywheelRecords, FlywheelRun, Step
from zhongtai.meta.records import Change, DecisionRecord
from zhongtai.meta.time import now
from zhongtai.models.artifacts import ARTIFACT_FILE, ARTIFACT_FORMAT, save_files
from zhongtai.models.policy import ModelAction
from zhongtai.models.review import review
from zhongtai.monitor.alert_formats import Alert
from zhongtai.monitor.alert_rules import canary_alert, drift_alerts
from zhongtai.monitor.alerts import AlertCenter
from zhongtai.monitor.check import check_capability
from zhongtai.monitor.profile import PROFILE_FILE
from zhongtai.monitor.reference import training_profile, with_profile

CAPABILITY = "churn-risk"
# Three batches of answers, hours apart, the spend moving further each time (none, some, far off).
BATCHES = ((timedelta(hours=5), 0.0), (timedelta(hours=3), 800.0), (timedelta(minutes=30), 5000.0))
ANSWERED = 20  # model answers per batch, latencies 1..60 ms over the three
FALLBACKS = 5  # fallback answers per batch, 100 ms each
CALLS = len(BATCHES) * (ANSWERED + FALLBACKS)
LAST_HOUR_CALLS = ANSWERED + FALLBACKS
P50_MS = 38.0  # nearest rank 38 of 75
P99_MS = 100.0  # nearest rank 75 of 75
LABELLED = 20
# Reads what the overview shows of churn-challenger only: neither churn-risk nor the churn model.
NARROW_POLICY = {
    "name": "narrow_readers",
    "rules": [{"name": "challenger_only", "principals": ["role:narrow"], "actions": ["read_models"],
               "objects": ["churn-challenger"]}],
}  # fmt: skip


@dataclass(frozen=True)
class Monitored:
    """What the world holds, for the tests to compare with what they are shown."""

    champion: int
    pending: int
    run: str
    drifted: list[str]


def _champion_with_profile(world: World) -> int:
    """The world's booster registered again with its training profile beside it, and made champion."""
    x, _ = _synthetic(np.random.default_rng(7), 3000)
    profile = training_profile(FEATURES, [x], world.booster.predict(x))
    files = {ARTIFACT_FILE: world.booster.model_to_string().encode(), PROFILE_FILE: profile.to_json()}
    artifact = save_files(world.storage, "churn", files, ARTIFACT_FILE)
    version = world.store.models.register(
        "churn", artifact, ARTIFACT_FORMAT, FEATURES, {}, {}, None, "test",
        within=with_profile(profile, "churn", artifact),
    ).version  # fmt: skip
    for action, who in ((ModelAction.SUBMIT, "modeler"), (ModelAction.APPROVE, "reviewer")):
        review(world.store, "churn", version, action, who)
    world.store.models.set_alias("churn", version, "champion")
    return version


def _decisions(version: int, batch: int) -> list[DecisionRecord]:
    ago, shift = BATCHES[batch]
    rng = np.random.default_rng(batch)
    x, _ = _synthetic(rng, ANSWERED)
    at = now() - ago
    found = []
    for i in range(ANSWERED + FALLBACKS):
        answered = i < ANSWERED
        features = {name: float(x[i % ANSWERED, j]) for j, name in enumerate(FEATURES)}
        features["spend_90d"] += shift
        found.append(
            DecisionRecord(
                id=str(uuid.uuid4()), at=at, capability=CAPABILITY, principal="crm",
                model_name="churn" if answered else None, model_version=version if answered else None,
                decision="watch" if answered else "new_customer", score=float(rng.random()) if answered else 0.5,
                fallback=not answered, inputs={"customer_id": str(5000 + 100 * batch + i)},
                features=features if answered else {},
                latency_ms=float(batch * ANSWERED + i + 1) if answered else 100.0,
                fallback_reason=None if answered else "features_missing",
            )
        )  # fmt: skip
    return found


def _overdue_review_item() -> DecisionRecord:
    return DecisionRecord(
        id=str(uuid.uuid4()), at=now() - timedelta(hours=10), capability="churn-challenger", principal="crm",
        model_name="churn", model_version=1, decision="watch", score=0.7, fallback=False,
        inputs={"customer_id": "1001"}, features={}, latency_ms=2.0,
        output={"route": "human_review", "queue": "retention"},
    )  # fmt: skip


def _flywheel_run(world: World, champion: int, challenger: int) -> str:
    records = FlywheelRecords(world.store)
    at = now()
    reason = "spend_90d drifted (major)"
    run = FlywheelRun(
        id=uuid.uuid4().hex, model_name="churn", capability=CAPABILITY, state="triggered", reason=reason,
        trigger={"drift": {"features": ["spend_90d"]}}, champion_version=champion, challenger_version=None,
        triggered_by="scheduler", steps=[{"state": "triggered", "at": at.isoformat(), "principal": "scheduler",
        "reason": reason, "evidence": {"drifted": 1}}], created_at=at, updated_at=at, open=True,
    )  # fmt: skip
    started = records.start(run)
    if started is None:
        raise RuntimeError("the model already had an open run")
    records.advance(run.id, None, Step("trained", "challenger trained", {"auc": 0.71}, "scheduler",
                                       challenger_version=challenger))  # fmt: skip
    records.advance(run.id, None, Step("awaiting_approval", "better on the holdout", {}, "scheduler"))
    return run.id


def _stale_dataset(world: World) -> None:
    source = {"name": "crm", "type": "sql", "url": "sqlite:///crm.db", "description": "The CRM"}
    dataset = {"name": "crm_customers", "source": "crm", "table": "customers", "update_frequency": "hourly",
               "primary_key": ["customer_id"], "fields": [{"name": "customer_id", "type": "int64"}]}  # fmt: skip
    world.store.apply(
        [Change("sources", "create", "crm", source), Change("datasets", "create", "crm_customers", dataset)],
        "test",
    )


def prepare(world: World) -> Monitored:
    """Fill the world (before its gateway starts) and say what it holds."""
    store = world.store
    champion = _champion_with_profile(world)
    center = AlertCenter(store, [])
    firing: list[Alert] = []
    for batch, (ago, _) in enumerate(BATCHES):
        logged = _decisions(champion, batch)
        store.decisions.append(logged)
        if batch == 0:
            for i, record in enumerate(logged[:LABELLED]):
                store.feedback.add(record.id, CAPABILITY, "churned", i % 2 == 0, "crm")
        until = now() - ago + timedelta(minutes=1)
        found = check_capability(store, world.storage, CAPABILITY, timedelta(minutes=30), until=until)
        firing, cleared = drift_alerts(CAPABILITY, found)
        center.fire(firing)
        center.resolve(cleared)
    store.decisions.append([_overdue_review_item()])
    old_canary = canary_alert("churn-challenger", "candidate", "error rate above its guard")
    center.fire([old_canary])
    center.resolve([old_canary])
    center.fire([canary_alert(CAPABILITY, "challenger", "p99 latency above its guard")])
    pending = _champion_with_profile_pending(world)
    run = _flywheel_run(world, champion, pending)
    _stale_dataset(world)
    store.apply([Change("policies", "create", NARROW_POLICY["name"], NARROW_POLICY)], "test")
    drifted = sorted(a.labels["feature"] for a in firing)
    return Monitored(champion, pending, run, drifted)


def _champion_with_profile_pending(world: World) -> int:
    """A challenger version submitted for review and not yet decided."""
    artifact = save_files(
        world.storage, "churn", {ARTIFACT_FILE: world.booster.model_to_string().encode()}, ARTIFACT_FILE
    )
    version = world.store.models.register(
        "churn", artifact, ARTIFACT_FORMAT, FEATURES, {}, {}, None, "test"
    ).version
    review(world.store, "churn", version, ModelAction.SUBMIT, "modeler")
    return version


@dataclass
class Served:
    """The monitored world behind a real gateway, what it holds, and a key per role the tests sign in with:
    admin; caller (no read_models); narrow (read_models on churn-challenger alone); models (read_models and
    change_traffic); catalog (read_models, no change_traffic)."""

    running: RunningGateway
    monitored: Monitored
    keys: dict[str, str]


@contextmanager
def served_monitoring(tmp_path: Path) -> Iterator[Served]:
    """Build the world, fill it with `prepare`, serve it, and make the keys."""
    found: list[Monitored] = []
    online = f"sqlite:///{tmp_path / 'online.db'}"
    with served_world(
        tmp_path, online, key=("ops", ["admin"]), prepare=lambda w: found.append(prepare(w))
    ) as running:
        access = running.world.store.access
        keys = {"admin": running.key}
        for role in ("caller", "narrow", "models", "catalog"):
            keys[role] = access.create_key(f"monitoring-{role}", [role])
        yield Served(running, found[0], keys)
