"""Candidates: spec errors at their line, one holdout for all, a deterministic winner, a servable logistic."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.models.artifacts import read_artifact
from zhongtai.models.candidates import compare, plan_trials
from zhongtai.models.predictor import LinearModel, LinearPredictor, load_predictor
from zhongtai.models.train import time_split, train_model
from zhongtai.spec.models import ModelSpec
from zhongtai.spec.project import SpecErrors, load_project

from .conftest import FEATURES, MODEL, register_model_spec, synthetic_table, training_set_of

PROJECT = """\
models:
  - name: churn
    entity: customer
    label: {{sql: "SELECT 1"}}
    feature_views: [customer_activity]
    candidates:
      metric: auc
      algorithms:
        - algorithm: lightgbm
          grid: {{num_leaves: [15, 31]}}
        - algorithm: {algorithm}
          params: {params}
"""


def _spec(candidates: dict, **extra) -> ModelSpec:
    return ModelSpec.model_validate({**MODEL.model_dump(), "candidates": candidates, **extra})


def _load_error(tmp_path, algorithm: str, params: str) -> str:
    (tmp_path / "churn.yaml").write_text(PROJECT.format(algorithm=algorithm, params=params))
    with pytest.raises(SpecErrors) as caught:
        load_project(tmp_path)
    return str(caught.value)


def test_an_unknown_algorithm_names_its_line_and_the_allowed_ones(tmp_path):
    message = _load_error(tmp_path, "xgboost", "{}")
    assert (
        "churn.yaml:11 models.churn.candidates.algorithms.1.algorithm: unknown algorithm 'xgboost'" in message
    )
    assert "(allowed: lightgbm, logistic, ridge)" in message


def test_an_unknown_logistic_parameter_names_its_line_and_the_signature(tmp_path):
    message = _load_error(tmp_path, "logistic", "{C: 1.0, alpha: 0.1}")
    assert (
        "churn.yaml:12 models.churn.candidates.algorithms.1.params: unknown logistic parameter 'alpha'"
        in message
    )
    assert "C, class_weight" in message and "max_iter" in message


def test_an_unknown_lightgbm_parameter_is_refused():
    with pytest.raises(ValueError, match=r"unknown lightgbm parameter 'num_leafs' \(allowed: .*num_leaves"):
        _spec({"algorithms": [{"algorithm": "lightgbm", "grid": {"num_leafs": [7]}}]})


def test_a_budget_must_be_a_duration_and_grids_must_stay_small():
    with pytest.raises(ValueError, match=r'expected a duration like "30d"'):
        _spec({"algorithms": [{"algorithm": "logistic"}], "budget": "soon"})
    huge = {"num_leaves": list(range(2, 10)), "learning_rate": [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4]}
    with pytest.raises(ValueError, match=r"56 trials in all; at most 50"):
        _spec({"algorithms": [{"algorithm": "lightgbm", "grid": huge}]})


def test_grids_expand_in_a_fixed_order_over_the_spec_params():
    spec = _spec(
        {
            "algorithms": [
                {"algorithm": "lightgbm", "grid": {"num_leaves": [15, 31], "learning_rate": [0.05, 0.1]}},
                {"algorithm": "logistic", "params": {"C": 0.5}},
            ]
        }
    )
    trials = plan_trials(spec)
    assert [(t.algorithm, t.params) for t in trials] == [
        ("lightgbm", {"num_boost_round": 200, "learning_rate": 0.05, "num_leaves": 15}),
        ("lightgbm", {"num_boost_round": 200, "learning_rate": 0.05, "num_leaves": 31}),
        ("lightgbm", {"num_boost_round": 200, "learning_rate": 0.1, "num_leaves": 15}),
        ("lightgbm", {"num_boost_round": 200, "learning_rate": 0.1, "num_leaves": 31}),
        ("logistic", {"C": 0.5}),
    ]
    assert [(t.algorithm, t.params) for t in plan_trials(MODEL)] == [("lightgbm", {"num_boost_round": 200})]


def _split(rows: int = 1500):
    split = time_split(synthetic_table(rows=rows), "ts", "label", FEATURES, 0.2)
    return (split.train_x, split.train_y), (split.valid_x, split.valid_y)


def test_every_candidate_is_judged_on_the_same_holdout_and_the_best_wins():
    train, valid = _split()
    spec = _spec(
        {
            "metric": "log_loss",
            "algorithms": [
                {"algorithm": "lightgbm", "params": {"num_boost_round": 3, "learning_rate": 0.01}},
                {"algorithm": "logistic", "grid": {"C": [0.01, 1.0]}},
            ],
        }
    )
    found = compare(spec, train, valid, FEATURES, lambda stage, detail: None)
    assert [r["status"] for r in found.records] == ["trained"] * 3
    losses = [r["metrics"]["log_loss"] for r in found.records]
    assert found.winner_index == int(np.argmin(losses))
    assert (
        found.records[found.winner_index]["winner"] is True and sum(r["winner"] for r in found.records) == 1
    )
    # a three-round LightGBM barely moves from the prior: a logistic model beats it on log loss
    assert found.winner is not None and found.winner.algorithm == "logistic"
    for record in found.records:
        assert record["score"] == record["metrics"]["log_loss"]


def test_a_candidate_the_library_refuses_is_recorded_and_the_others_go_on():
    train, valid = _split()
    spec = _spec({"algorithms": [{"algorithm": "logistic", "grid": {"C": [-1.0, 1.0]}}]})
    found = compare(spec, train, valid, FEATURES, lambda stage, detail: None)
    failed, trained = found.records
    assert failed["status"] == "failed" and "'C' parameter of LogisticRegression" in failed["error"]
    assert trained["status"] == "trained" and trained["winner"] is True


def test_when_every_candidate_fails_the_run_fails_with_the_first_error():
    train, valid = _split()
    spec = _spec({"algorithms": [{"algorithm": "logistic", "params": {"C": -1.0}}]})
    with pytest.raises(
        ZhongtaiError, match=r"every candidate failed to train \(first error: InvalidParameterError"
    ):
        compare(spec, train, valid, FEATURES, lambda stage, detail: None)


def test_candidates_not_started_within_the_budget_are_skipped():
    train, valid = _split()
    spec = _spec(
        {"budget": "15s", "algorithms": [{"algorithm": "logistic", "grid": {"C": [0.1, 1.0, 10.0]}}]}
    )
    ticks = itertools.count(step=4.0)  # a clock that moves 4 s on every reading
    found = compare(spec, train, valid, FEATURES, lambda stage, detail: None, clock=lambda: next(ticks))
    assert [r["status"] for r in found.records] == ["trained", "trained", "skipped"]
    assert found.records[2]["winner"] is False and "metrics" not in found.records[2]


@pytest.mark.integration
def test_same_seed_and_data_give_the_same_winner(sqlite_store, storage):
    spec = _spec(
        {
            "algorithms": [
                {"algorithm": "lightgbm", "grid": {"num_leaves": [7, 15]}, "params": {"num_boost_round": 40}},
                {"algorithm": "logistic", "params": {"C": 1.0}},
            ]
        },
        name="churn_auto",
    )
    register_model_spec(sqlite_store, spec)
    table = synthetic_table(rows=1500)
    first = train_model(
        sqlite_store, storage, "churn_auto", training=(training_set_of(table, "churn_auto"), table)
    )
    second = train_model(
        sqlite_store, storage, "churn_auto", training=(training_set_of(table, "churn_auto"), table)
    )
    one, two = (sqlite_store.training_runs.of_version("churn_auto", v) for v in (1, 2))
    assert one is not None and two is not None
    assert one.candidates == [
        {**c, "seconds": c2["seconds"]} for c, c2 in zip(two.candidates, one.candidates, strict=True)
    ]
    assert first.metrics == second.metrics and first.artifact_format == second.artifact_format
    assert storage.fs.cat(first.artifact) == storage.fs.cat(second.artifact)


@pytest.mark.integration
def test_a_logistic_winner_is_registered_as_linear_json_and_served(sqlite_store, storage):
    spec = _spec({"algorithms": [{"algorithm": "logistic", "params": {"C": 0.5}}]}, name="churn_linear")
    register_model_spec(sqlite_store, spec)
    table = synthetic_table(rows=1500)
    version = train_model(
        sqlite_store, storage, "churn_linear", training=(training_set_of(table, "churn_linear"), table)
    )
    assert version.artifact_format == "linear-json" and version.artifact.endswith("/model.json")
    assert version.params["C"] == 0.5 and version.metrics["algorithm"] == "logistic"
    assert "best_iteration" not in version.metrics
    predictor = load_predictor(storage, version.artifact, version.artifact_format)
    stored = LinearModel.from_json(read_artifact(storage, version.artifact), version.artifact)
    assert predictor.features == tuple(FEATURES)
    split = time_split(table, "ts", "label", FEATURES, 0.2)
    scores = predictor.predict(split.valid_x)
    assert np.allclose(scores, LinearPredictor.of(stored).predict(split.valid_x))
    from zhongtai.models.metrics import binary_metrics

    assert binary_metrics(split.valid_y, scores, 0.3) == version.metrics["validation"]


@pytest.mark.integration
def test_a_logistic_winner_decides_through_the_capability_runtime(tmp_path):
    from datetime import UTC, datetime

    import pyarrow as pa

    from tests.capabilities.world import FEATURES as WORLD_FEATURES
    from tests.capabilities.world import KNOWN_IDS, _synthetic, build_world, model_row, online_url
    from zhongtai.capabilities.serving import Capabilities
    from zhongtai.meta.records import Change
    from zhongtai.spec.models import spec_payload

    with online_url("sqlite", tmp_path) as url:
        world = build_world(tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", url)
        try:
            churn = ModelSpec.model_validate(world.store.spec("models", "churn"))
            linear = churn.model_copy(
                update={"candidates": _spec({"algorithms": [{"algorithm": "logistic"}]}).candidates}
            )
            world.store.apply([Change("models", "update", "churn", spec_payload(linear))], actor="test")
            x, y = _synthetic(np.random.default_rng(3), 2000)
            months = np.random.default_rng(4).integers(1, 13, 2000)
            table = pa.table(
                {
                    "customer_id": pa.array(np.arange(2000), pa.int64()),
                    "ts": pa.array([datetime(2024, int(m), 1, tzinfo=UTC) for m in months]),
                    "label": pa.array(y.astype(np.int64)),
                    **{name: pa.array(x[:, i]) for i, name in enumerate(WORLD_FEATURES)},
                }
            )
            lineage = {"features": WORLD_FEATURES, "timestamp": "ts", "label": "label"}
            training_set = world.store.features.add_training_set("ts-linear", "churn", 2000, [], lineage)
            version = train_model(world.store, world.storage, "churn", training=(training_set, table))
            assert version.artifact_format == "linear-json"
            world.store.models.set_alias("churn", version.version, "champion")

            runtime = Capabilities.load_all(world.store, world.storage, world.online).get("churn-risk")
            key = KNOWN_IDS[3]
            decision = runtime.decide({"customer_id": key})
            predictor = load_predictor(world.storage, version.artifact, version.artifact_format)
            expected = float(predictor.predict(model_row(world.rows[key]))[0])
            assert decision.model_version == version.version and not decision.fallback
            assert decision.score == pytest.approx(expected)
            assert decision.factors  # the linear model explains itself through the same protocol
        finally:
            world.online.close()
            world.store.close()
