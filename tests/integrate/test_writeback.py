"""Write-back upserts into each SQL dialect a CRM may live on; re-running replaces rows, never duplicates."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
import sqlalchemy as sa

from zhongtai.capabilities.batch import BatchScores, decide_all
from zhongtai.errors import ZhongtaiError
from zhongtai.integrate.writeback import write_back
from zhongtai.meta.records import Change, ModelVersion
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import CapabilitySpec

pytestmark = pytest.mark.integration

CAPABILITY = CapabilitySpec.model_validate(
    {
        "name": "churn-risk",
        "model": "churn",
        "input": "customer_id",
        "decisions": [{"decision": "retain_offer", "min_score": 0.6}, {"decision": "none", "min_score": 0.0}],
        "fallback": {"decision": "watch"},
        "write_back": {"source": "crm", "table": "zt_scores"},
    }
)


def _model(version: int) -> ModelVersion:
    return ModelVersion(
        "churn", version, datetime.now(UTC), "a", "lightgbm-text", [], {}, {}, None, "t", "registered"
    )


def _scores(values: list[float], version: int) -> BatchScores:
    table = pa.table({"customer_id": pa.array(range(len(values)), pa.int64()), "score": values})
    table = table.append_column("decision", pa.array(decide_all(CAPABILITY, np.array(values))))
    return BatchScores(CAPABILITY, ["customer_id"], _model(version), table)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def crm_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crm.db'}"
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "mariadb_url")


def test_upsert_is_idempotent(tmp_path, crm_url):
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    store.apply([Change("sources", "create", "crm", {"name": "crm", "type": "sql", "url": crm_url})], "t")
    assert write_back(store, _scores([0.9, 0.1, 0.65], version=1)) == 3
    assert write_back(store, _scores([0.2, 0.1, 0.65], version=2)) == 3
    engine = sa.create_engine(crm_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT customer_id, decision, model_version FROM zt_scores ORDER BY customer_id")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(0, "none", 2), (1, "none", 2), (2, "retain_offer", 2)]
    store.close()


def test_capability_without_target_is_refused(tmp_path):
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    scores = _scores([0.5], 1)
    no_target = BatchScores(
        CAPABILITY.model_copy(update={"write_back": None}), ["customer_id"], scores.model, scores.table
    )
    with pytest.raises(ZhongtaiError, match="capability 'churn-risk' has no write_back target"):
        write_back(store, no_target)
    store.close()


def test_rules_fall_back_below_every_threshold():
    low = CAPABILITY.model_copy(update={"decisions": CAPABILITY.decisions[:1]})
    assert decide_all(low, np.array([0.7, 0.2])) == ["retain_offer", "watch"]
