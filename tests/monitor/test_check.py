"""A trained version's profile, and the drift check of a capability's logged answers against it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.models.conftest import FEATURES, register_model_spec, synthetic_table, training_set_of
from zhongtai.errors import ZhongtaiError
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import Change, DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.models.artifacts import sibling
from zhongtai.models.train import train_model
from zhongtai.monitor.check import check_capability
from zhongtai.monitor.reference import load_profile

pytestmark = pytest.mark.integration
CAPABILITY = {
    "name": "churn-risk",
    "model": "churn",
    "input": "customer_id",
    "fallback": {"decision": "none"},
}


@pytest.fixture
def trained(metadata_url, tmp_path):
    store = MetadataStore(metadata_url)
    register_model_spec(store)
    store.apply([Change("capabilities", "create", "churn-risk", CAPABILITY)], actor="test")
    storage = LakeStorage(str(tmp_path / "lake"))
    table = synthetic_table(rows=3000)
    version = train_model(store, storage, "churn", training=(training_set_of(table), table))
    yield store, storage, version, table
    store.close()


def _decisions(table, version: int, rows: int, seed: int, shift_spend: float = 0.0) -> list[DecisionRecord]:
    """Logged answers whose features are drawn from the training table (spend moved by `shift_spend`)."""
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, table.num_rows, rows)
    columns = {name: table[name].to_pylist() for name in FEATURES}
    at = datetime.now(UTC) - timedelta(hours=1)
    found = []
    for i in picked:
        features = {name: columns[name][i] for name in FEATURES}
        if features["spend_90d"] is not None:
            features["spend_90d"] += shift_spend
        found.append(
            DecisionRecord(
                id=str(uuid.uuid4()), at=at, capability="churn-risk", principal="test", model_name="churn",
                model_version=version, decision="watch", score=float(rng.beta(2, 5)), fallback=False,
                inputs={"customer_id": int(i)}, features=features, latency_ms=1.0,
            )
        )  # fmt: skip
    return found


def test_training_saves_the_profile_beside_the_artifact_and_records_it(trained):
    store, storage, version, table = trained
    entry = store.drift.profile("churn", version.version)
    assert entry is not None and entry.location == sibling(version.artifact, "profile.json")
    assert entry.rows == table.num_rows and entry.features == FEATURES
    profile = load_profile(store, storage, "churn", version.version)
    assert list(profile.columns) == FEATURES and profile.columns["is_member"].kind == "discrete"
    assert profile.columns["spend_90d"].missing == table["spend_90d"].null_count
    assert profile.score is not None and profile.score.rows == version.metrics["validation_rows"]


def test_a_shifted_feature_is_found_and_the_report_is_stored(trained):
    store, storage, version, table = trained
    store.decisions.append(_decisions(table, version.version, 4000, seed=1, shift_spend=150.0))
    [checked] = check_capability(store, storage, "churn-risk", timedelta(days=1))
    assert checked.report is not None and checked.decisions == 4000
    flagged = {r["name"] for r in checked.report.results if r["verdict"] in ("drift", "major")}
    assert "spend_90d" in flagged and not flagged & {"visits_30d", "tenure_days", "is_member", "noise"}
    [stored] = store.drift.reports("churn-risk")
    assert stored.id == checked.report.id and stored.verdict == checked.report.verdict
    assert stored.model_version == version.version and stored.results == checked.report.results


def test_answers_like_the_training_data_are_not_flagged(trained):
    store, storage, version, table = trained
    store.decisions.append(_decisions(table, version.version, 4000, seed=2))
    [checked] = check_capability(store, storage, "churn-risk", timedelta(days=1))
    assert checked.report is not None
    feature_verdicts = {r["name"]: r["verdict"] for r in checked.report.results if r["name"] != "score"}
    assert set(feature_verdicts.values()) == {"ok"}


def test_a_version_trained_before_profiles_says_so(trained):
    store, storage, version, table = trained
    old = store.models.register(
        "churn", version.artifact, version.artifact_format, FEATURES, {}, {}, None, "t"
    )
    store.decisions.append(_decisions(table, old.version, 50, seed=3))
    [checked] = check_capability(store, storage, "churn-risk", timedelta(days=1))
    assert checked.report is None and checked.missing == (
        f"model 'churn' v{old.version} has no reference profile: it was trained before profiles were saved "
        "(or by a task that has none)"
    )
    assert store.drift.reports("churn-risk") == []


def test_the_window_and_the_capability_are_checked(trained):
    store, storage, _, _ = trained
    with pytest.raises(ZhongtaiError, match="capability 'nope' is not registered"):
        check_capability(store, storage, "nope", timedelta(days=1))
    with pytest.raises(ZhongtaiError, match=r"window 0:00:00 must be longer than zero"):
        check_capability(store, storage, "churn-risk", timedelta(0))
