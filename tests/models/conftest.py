"""A real synthetic training set, built by hand so model tests do not depend on the feature store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import Change, TrainingSet
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import ModelSpec, spec_payload

FEATURES = ["spend_90d", "visits_30d", "tenure_days", "complaints_90d", "is_member", "noise"]
MODEL = ModelSpec(
    name="churn",
    entity="customer",
    label={"sql": "SELECT customer_id, ts, churned AS label FROM churn_labels", "label": "label"},
    feature_views=["customer_activity"],
    params={"num_boost_round": 200},
    threshold=0.3,
)


def synthetic_table(rows: int = 5000, signal: bool = True, seed: int = 7, months: int = 12) -> pa.Table:
    """Customers with monthly label timestamps, six features (five with signal, one noise) and NULLs.

    With `signal=False` the labels are coin flips independent of every feature.
    """
    rng = np.random.default_rng(seed)
    month = rng.integers(0, months, rows)
    spend = rng.gamma(2.0, 150.0, rows)
    visits = rng.poisson(4, rows)
    tenure = rng.integers(1, 2000, rows)
    complaints = rng.poisson(0.4, rows)
    member = rng.random(rows) < 0.4
    noise = rng.normal(size=rows)
    logit = (
        -1.2 - 0.006 * (spend - 300) - 0.5 * (visits - 4) - 0.001 * (tenure - 1000) + 1.2 * complaints
    ) - 0.8 * member
    churned = rng.random(rows) < (1 / (1 + np.exp(-logit)) if signal else 0.3)
    spend_missing = rng.random(rows) < 0.08  # no activity inside the view's TTL
    tenure_missing = rng.random(rows) < 0.05
    return pa.table(
        {
            "customer_id": pa.array(rng.integers(1, 1500, rows), pa.int64()),
            "ts": pa.array([datetime(2024, 1 + m, 1, tzinfo=UTC) for m in month], pa.timestamp("us", "UTC")),
            "label": pa.array(churned.astype(np.int64)),
            "spend_90d": pa.array(spend, mask=spend_missing),
            "visits_30d": pa.array(visits, pa.int64()),
            "tenure_days": pa.array(tenure, pa.int64(), mask=tenure_missing),
            "complaints_90d": pa.array(complaints, pa.int64()),
            "is_member": pa.array(member),
            "noise": pa.array(noise),
        }
    )


def training_set_of(table: pa.Table, model: str = "churn") -> TrainingSet:
    """The TrainingSet record the feature store would hand over with `table`."""
    lineage = {
        "features": FEATURES,
        "join_keys": ["customer_id"],
        "timestamp": "ts",
        "label": "label",
        "datasets": {"churn_labels": 2, "orders": 5},
        "feature_views": {"customer_activity": 1},
    }
    return TrainingSet(str(uuid.uuid4()), model, datetime.now(UTC), table.num_rows, [], lineage)


def register_model_spec(store: MetadataStore, spec: ModelSpec = MODEL) -> None:
    store.apply([Change("models", "create", spec.name, spec_payload(spec))], actor="test")


@pytest.fixture
def store(metadata_url: str) -> Iterator[MetadataStore]:
    opened = MetadataStore(metadata_url)
    register_model_spec(opened)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[MetadataStore]:
    opened = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    register_model_spec(opened)
    yield opened
    opened.close()


@pytest.fixture
def storage(tmp_path) -> LakeStorage:
    return LakeStorage(str(tmp_path / "lake"))


@pytest.fixture(scope="session")
def signal_table() -> pa.Table:
    return synthetic_table()
