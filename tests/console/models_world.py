"""The churn world made richer for the Models, Review and Decisions pages and their API tests: roles with
the grants a real deployment gives them, training runs with cards and two more versions of `churn`, and a
decision log written by the store's own bulk path (some decisions routed to review, some fallbacks, a phone
number in the inputs for masking to hide)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.capabilities.world import World
from tests.gateway.conftest import RunningGateway, served_world
from zhongtai.meta.records import Change, DecisionRecord, RunOutcome
from zhongtai.spec.models import spec_payload
from zhongtai.spec.policy import PolicySpec

POLICY = {
    "name": "console_roles",
    "rules": [
        # Modelers may approve a colleague's version, never their own: four eyes is the registry's rule.
        {"name": "modelers", "principals": ["role:modeler"], "actions": ["read_models", "submit", "approve"]},
        {
            "name": "reviewers",
            "principals": ["role:reviewer"],
            "actions": ["read_models", "approve", "promote", "change_traffic", "review", "see_explanation"],
        },
        {"name": "stewards", "principals": ["role:steward"], "actions": ["read_catalog", "read_models"]},
        # An auditor of one capability: reads its log, sees no personal data in clear.
        {
            "name": "auditors",
            "principals": ["role:auditor"],
            "actions": ["read_audit"],
            "objects": ["churn-risk"],
        },
        # Everything but one capability: an allow on all and a deny on it.
        {"name": "wide_auditors", "principals": ["role:wide_auditor"], "actions": ["read_audit"]},
        {
            "name": "not_the_challenger",
            "principals": ["role:wide_auditor"],
            "actions": ["read_audit"],
            "objects": ["churn-challenger"],
            "effect": "deny",
        },
    ],
}
# The newest decision's time; the log runs back from it, several decisions sharing each instant so that
# paging must break ties by id.
NEWEST = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PHONE = "13812345678"
TIES = 7


def decisions(count: int, reviewed: int = 0) -> list[DecisionRecord]:
    """`count` decisions, newest first; the first `reviewed` routed to a person's review."""
    made = []
    for i in range(count):
        routed = i < reviewed
        made.append(
            DecisionRecord(
                id=str(uuid.uuid4()),
                at=NEWEST - timedelta(seconds=i // TIES),
                capability="churn-risk" if i % 3 else "churn-challenger",
                principal="crm",
                model_name="churn",
                model_version=1 + (i % 2),
                decision="retain_offer" if i % 4 == 0 else "watch",
                score=round((i % 100) / 100, 2),
                fallback=i % 10 == 9,
                inputs={"customer_id": str(1000 + i % 40), "note": f"call back on {PHONE}"},
                features={"orders_90d": i % 12, "spend_90d": float(i % 500)},
                latency_ms=1.5 + (i % 7),
                output={"route": "human_review", "queue": "retention"} if routed else None,
                arm="challenger" if i % 5 == 0 else "champion",
                fallback_reason="no_features" if i % 10 == 9 else None,
            )
        )
    return made


def log_decisions(world: World, records: list[DecisionRecord], batch: int = 2_000) -> None:
    """Write through `DecisionRecords.append`, the decision log writer's own bulk path."""
    for start in range(0, len(records), batch):
        world.store.decisions.append(records[start : start + batch])


def card(auc: float) -> dict[str, Any]:
    """A model card as a training run writes one (the fields the console shows)."""
    interval = {"value": auc, "low": round(auc - 0.03, 4), "high": round(auc + 0.03, 4)}
    return {
        "model": "churn",
        "task": "binary_classification",
        "description": "Who is about to leave",
        "purpose": "Rank customers for the retention team's calls",
        "owner": "retention-analytics",
        "not_for": ["credit decisions"],
        "algorithm": "lightgbm",
        "training_data": {"training_set": "ts-1", "rows": 4000, "datasets": {"customers": 3}},
        "metrics": {"model": {"auc": interval}, "constant": {"auc": {"value": 0.5, "low": 0.5, "high": 0.5}}},
        "top_features": [{"feature": "days_since_order", "mean_abs_contribution": 0.42}],
    }


def train_runs(world: World) -> list[str]:
    """Two finished runs registering churn v2 and v3 (their params, metrics and data differ in part) and a
    failed one; returns their ids, oldest first."""
    store, v1 = world.store, world.store.models.get("churn", 1)
    ids = []
    for rate, auc, customers in ((0.1, 0.81, 3), (0.05, 0.84, 4)):
        run_id = uuid.uuid4().hex
        store.training_runs.start(run_id, "churn", "modeler", "trainer-1", 1, "abc123")
        outcome = RunOutcome(
            duration_s=12.5,
            peak_memory_kb=204_800,
            params={"learning_rate": rate, "num_leaves": 31},
            metrics={"algorithm": "lightgbm", "validation": {"auc": auc, "log_loss": 0.41}},
            training_set_id=f"ts-{customers}",
            datasets={"customers": customers, "orders": 7},
            card=card(auc),
        )
        store.models.register(
            "churn", v1.artifact, v1.artifact_format, v1.features, outcome.params, outcome.metrics,
            outcome.training_set_id, "abc123", within=store.training_runs.completion(run_id, outcome),
        )  # fmt: skip
        ids.append(run_id)
    failed = uuid.uuid4().hex
    store.training_runs.start(failed, "churn", "modeler", "trainer-1", 1, "abc124")
    store.training_runs.fail(
        failed, RunOutcome(duration_s=1.0, peak_memory_kb=1000), "invalid_argument", "no rows"
    )
    return [*ids, failed]


def prepare(world: World, decision_count: int = 300, reviewed: int = 12) -> None:
    """Roles, runs and a decision log on the churn world, before its gateway starts."""
    payload = spec_payload(PolicySpec.model_validate(POLICY))
    world.store.apply([Change("policies", "create", POLICY["name"], payload)], "test")
    train_runs(world)
    log_decisions(world, decisions(decision_count, reviewed))


@contextmanager
def models_world(tmp_path: Path, decision_count: int = 300, reviewed: int = 12) -> Iterator[RunningGateway]:
    """The prepared world served by a real gateway (the admin key `ops`)."""
    with served_world(
        tmp_path,
        f"sqlite:///{tmp_path / 'online.db'}",
        key=("ops", ["admin"]),
        prepare=lambda world: prepare(world, decision_count, reviewed),
    ) as running:
        yield running


def role_keys(running: RunningGateway) -> dict[str, str]:
    """A key per role, named after the role (the admin's is the world's own)."""
    access = running.world.store.access
    keys = {"admin": running.key}
    for role in ("modeler", "reviewer", "steward", "auditor", "wide_auditor", "caller"):
        keys[role] = access.create_key(f"console-{role}", [role])
    return keys
