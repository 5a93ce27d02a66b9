"""Write-back runs on each SQL dialect a source system may live on: a rerun changes nothing, a new version
updates in place, a failure midway leaves the table as it was, a dry run writes nothing, a recommendation's
shorter answer removes its old ranks, and a table made for other scores is refused by name."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
import sqlalchemy as sa

from zhongtai.capabilities.batch import BatchScores, decide_all
from zhongtai.errors import ZhongtaiError
from zhongtai.integrate import writeback
from zhongtai.integrate.writeback import write_scores
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
        "write_back": {"source": "crm", "table": "zt_runs"},
    }
)
RECOMMEND = CapabilitySpec.model_validate(
    {
        "name": "recommend",
        "model": "recommender",
        "input": "customer_id",
        "fallback": {"decision": "popular"},
        "write_back": {"source": "crm", "table": "zt_recs"},
    }
)


def _model(version: int, name: str = "churn") -> ModelVersion:
    return ModelVersion(
        name, version, datetime.now(UTC), "a", "lightgbm-text", [], {}, {}, None, "t", "registered"
    )


def _scores(values: list[float], version: int) -> BatchScores:
    table = pa.table({"customer_id": pa.array(range(len(values)), pa.int64()), "score": values})
    table = table.append_column("decision", pa.array(decide_all(CAPABILITY, np.array(values))))
    return BatchScores(CAPABILITY, ["customer_id"], _model(version), table)


def _recommendations(answers: dict[int, list[int]], version: int = 1) -> BatchScores:
    rows = [(person, rank, item) for person, items in answers.items() for rank, item in enumerate(items, 1)]
    table = pa.table(
        {
            "customer_id": pa.array([r[0] for r in rows], pa.int64()),
            "rank": pa.array([r[1] for r in rows], pa.int64()),
            "item": pa.array([r[2] for r in rows], pa.int64()),
            "score": pa.array([1.0 / r[1] for r in rows], pa.float64()),
            "decision": ["personalised"] * len(rows),
            "reason": ["bought with a kettle"] * len(rows),
        }
    )
    groups = pa.table({"customer_id": pa.array(list(answers), pa.int64())})
    return BatchScores(RECOMMEND, ["customer_id", "rank"], _model(version, "recommender"), table, groups)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def crm(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.db'}"
    else:
        url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "mariadb_url")
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    store.apply([Change("sources", "create", "crm", {"name": "crm", "type": "sql", "url": url})], "t")
    engine = sa.create_engine(url)
    yield store, engine
    engine.dispose()
    store.close()


def _rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql)).all()]


def test_a_rerun_changes_nothing_and_a_new_version_updates_in_place(crm):
    store, engine = crm
    first = write_scores(store, _scores([0.9, 0.1, 0.65], version=1))
    assert (first.inserted, first.updated, first.unchanged, first.rows) == (3, 0, 0, 3)
    everything = (
        "SELECT customer_id, score, decision, model_version, run_id, scored_at FROM zt_runs ORDER BY 1"
    )
    before = _rows(engine, everything)
    again = write_scores(store, _scores([0.9, 0.1, 0.65], version=1))
    assert (again.inserted, again.updated, again.unchanged, again.written) == (0, 0, 3, 0)
    assert _rows(engine, everything) == before  # same rows, same values, same run id and time
    assert {row[4] for row in before} == {first.run_id}

    newer = write_scores(store, _scores([0.2, 0.1, 0.65, 0.7], version=2))
    assert (newer.inserted, newer.updated, newer.unchanged) == (1, 3, 0)
    after = _rows(engine, "SELECT customer_id, decision, model_version, run_id FROM zt_runs ORDER BY 1")
    assert after == [
        (0, "none", 2, newer.run_id),
        (1, "none", 2, newer.run_id),
        (2, "retain_offer", 2, newer.run_id),
        (3, "retain_offer", 2, newer.run_id),
    ]


def test_a_failure_midway_leaves_the_table_as_it_was(crm, monkeypatch):
    store, engine = crm
    write_scores(store, _scores([0.9, 0.1, 0.65, 0.3], version=1))
    before = _rows(engine, "SELECT customer_id, score, model_version, run_id FROM zt_runs ORDER BY 1")
    monkeypatch.setattr(writeback, "BATCH_ROWS", 2)
    chunks = []

    def stop_after_first_chunk(rows: int) -> None:
        chunks.append(rows)
        if len(chunks) == 1:
            raise KeyboardInterrupt  # the operator stops the run after the first chunk was upserted

    with pytest.raises(KeyboardInterrupt):
        write_scores(store, _scores([0.1, 0.9, 0.2, 0.8, 0.5], version=2), on_progress=stop_after_first_chunk)
    assert chunks == [2]
    assert _rows(engine, "SELECT customer_id, score, model_version, run_id FROM zt_runs ORDER BY 1") == before


def test_a_dry_run_counts_and_writes_nothing(crm):
    store, engine = crm
    planned = write_scores(store, _scores([0.9, 0.1], version=1), dry_run=True)
    assert (planned.inserted, planned.dry_run) == (2, True)
    assert not sa.inspect(engine).has_table("zt_runs")
    write_scores(store, _scores([0.9, 0.1], version=1))
    planned = write_scores(store, _scores([0.9, 0.3, 0.2], version=1), dry_run=True)
    assert (planned.inserted, planned.updated, planned.unchanged) == (1, 1, 1)
    assert _rows(engine, "SELECT customer_id, score FROM zt_runs ORDER BY 1") == [(0, 0.9), (1, 0.1)]


def test_a_shorter_recommendation_removes_the_old_ranks(crm):
    store, engine = crm
    write_scores(store, _recommendations({1: [10, 11, 12], 2: [20, 21], 3: [30]}))
    done = write_scores(store, _recommendations({1: [10, 13], 2: [20, 21], 3: []}))
    assert (done.unchanged, done.updated, done.removed) == (3, 1, 2)  # 1: rank 3 gone; 3: got nothing
    assert _rows(engine, "SELECT customer_id, rank, item FROM zt_recs ORDER BY 1, 2") == [
        (1, 1, 10),
        (1, 2, 13),
        (2, 1, 20),
        (2, 2, 21),
    ]


def test_a_table_made_for_other_scores_is_refused_by_name(crm):
    store, engine = crm
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE zt_runs (customer_id BIGINT PRIMARY KEY, score FLOAT)"))
    with pytest.raises(
        ZhongtaiError, match="table zt_runs in source 'crm' has no column decision, model_name"
    ):
        write_scores(store, _scores([0.9], version=1))


def test_repeated_keys_are_refused_before_writing(crm):
    store, engine = crm
    scores = _scores([0.9, 0.2], version=1)
    twice = BatchScores(
        CAPABILITY, ["customer_id"], scores.model, pa.concat_tables([scores.table, scores.table])
    )
    with pytest.raises(ZhongtaiError, match=r"the scored rows repeat a key \(customer_id\)"):
        write_scores(store, twice)
    assert not sa.inspect(engine).has_table("zt_runs")


def test_time_keys_are_stored_as_times_and_a_rerun_finds_them_unchanged(crm):
    store, engine = crm
    at = [datetime(2026, 3, day, 8, 30, 15, 250_000, tzinfo=UTC) for day in (1, 2)]
    table = pa.table(
        {
            "customer_id": pa.array([7, 7], pa.int64()),
            "ts": pa.array(at, pa.timestamp("us", tz="UTC")),
            "score": [0.9, 0.1],
            "decision": ["retain_offer", "none"],
        }
    )
    scores = BatchScores(CAPABILITY, ["customer_id", "ts"], _model(1), table)
    first, again = write_scores(store, scores), write_scores(store, scores)
    assert (first.inserted, again.unchanged, again.written) == (2, 2, 0)
    stored = _rows(engine, "SELECT ts FROM zt_runs ORDER BY ts")
    assert [str(row[0])[:26] for row in stored] == [
        "2026-03-01 08:30:15.250000",
        "2026-03-02 08:30:15.250000",
    ]
