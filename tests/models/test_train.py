"""Training on real synthetic data: the time split, signal against noise, clear errors."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.models import train as train_module
from zhongtai.models.boosting import effective_params
from zhongtai.models.train import code_version, time_split, train_model
from zhongtai.spec.models import ModelSpec

from .conftest import FEATURES, MODEL, register_model_spec, synthetic_table, training_set_of

pytestmark = pytest.mark.integration


def _train(store, storage, table, model="churn"):
    return train_model(store, storage, model, training=(training_set_of(table, model), table))


def test_no_validation_row_is_earlier_than_a_training_row(signal_table):
    split = time_split(signal_table, "ts", "label", FEATURES, fraction=0.2)
    times = signal_table["ts"]
    cut = pa.scalar(datetime.fromisoformat(split.split_timestamp), pa.timestamp("us", "UTC"))
    before = pc.sum(pc.less(times, cut)).as_py()
    assert split.train_y.size == before  # training is exactly the rows strictly before the cut
    assert split.train_y.size + split.valid_y.size == signal_table.num_rows
    # monthly timestamps: the cut falls on a month boundary and leaves about a fifth for validation
    assert 0.1 < split.valid_y.size / signal_table.num_rows < 0.3


def test_ties_at_the_cut_stay_on_one_side():
    table = synthetic_table(rows=600, months=2)
    split = time_split(table, "ts", "label", FEATURES, fraction=0.2)
    first_month = pc.sum(pc.equal(pc.month(table["ts"]), 1)).as_py()
    # 2 months: the cut cannot fall inside a month, so validation is the whole second month
    assert split.train_y.size == first_month
    assert split.split_timestamp.startswith("2024-02-01")


def test_the_split_keeps_feature_rows_aligned_with_labels():
    table = synthetic_table(rows=400)
    split = time_split(table, "ts", "label", FEATURES, fraction=0.25)
    ordered = table.take(pc.sort_indices(table, [("ts", "ascending")]))
    labels = np.concatenate([split.train_y, split.valid_y])
    assert labels.tolist() == ordered["label"].to_pylist()
    visits = np.concatenate([split.train_x[:, 1], split.valid_x[:, 1]])
    assert visits.tolist() == [float(v) for v in ordered["visits_30d"].to_pylist()]
    # NULL features reach LightGBM as NaN (missing), not as zero
    spend = np.concatenate([split.train_x[:, 0], split.valid_x[:, 0]])
    assert np.isnan(spend).sum() == table["spend_90d"].null_count > 0


def test_signal_beats_the_baseline(store, storage, signal_table):
    version = _train(store, storage, signal_table)
    validation, baseline = version.metrics["validation"], version.metrics["baseline"]
    assert baseline["auc"] == 0.5
    assert validation["auc"] > 0.75
    assert validation["log_loss"] < baseline["log_loss"]
    assert version.version == 1 and version.status == "registered"
    assert version.features == FEATURES
    assert version.metrics["train_rows"] + version.metrics["validation_rows"] == signal_table.num_rows
    assert 0 < version.metrics["best_iteration"] <= 200
    assert version.params["num_boost_round"] == 200 and version.params["learning_rate"] == 0.05
    assert version.artifact_format == "lightgbm-text"


def test_pure_noise_labels_stay_near_half(sqlite_store, storage):
    version = _train(sqlite_store, storage, synthetic_table(signal=False, seed=11))
    assert abs(version.metrics["validation"]["auc"] - 0.5) < 0.06


def test_the_same_training_set_gives_the_same_model(sqlite_store, storage, signal_table):
    first = _train(sqlite_store, storage, signal_table)
    second = _train(sqlite_store, storage, signal_table)
    assert (first.version, second.version) == (1, 2)
    assert first.metrics == second.metrics
    assert storage.fs.cat(first.artifact) == storage.fs.cat(second.artifact)


def test_progress_reports_every_stage(sqlite_store, storage):
    seen: list[str] = []
    table = synthetic_table(rows=1000)
    train_model(
        sqlite_store,
        storage,
        "churn",
        on_progress=lambda stage, detail: seen.append(stage),
        training=(training_set_of(table), table),
    )
    assert list(dict.fromkeys(seen)) == list(train_module.STAGES)


def test_a_single_class_is_refused(sqlite_store, storage):
    table = synthetic_table(rows=1000)
    table = table.set_column(2, "label", pa.array(np.zeros(1000, dtype=np.int64)))
    with pytest.raises(ZhongtaiError, match=r"training side of the time split has a single class"):
        _train(sqlite_store, storage, table)
    assert sqlite_store.models.versions("churn") == []


def test_a_validation_side_without_positives_is_refused(sqlite_store, storage):
    table = synthetic_table(rows=1000)
    late = pc.greater_equal(pc.month(table["ts"]), 10).to_numpy(zero_copy_only=False)
    labels = np.where(late, 0, table["label"].to_numpy())
    table = table.set_column(2, "label", pa.array(labels))
    with pytest.raises(ZhongtaiError, match=r"validation side of the time split has a single class"):
        _train(sqlite_store, storage, table)


def test_too_few_rows_are_refused(sqlite_store, storage):
    with pytest.raises(ZhongtaiError, match=r"too few rows to train: the training set has 40 rows"):
        _train(sqlite_store, storage, synthetic_table(rows=40))


def test_one_moment_cannot_be_split(sqlite_store, storage):
    table = synthetic_table(rows=500, months=1)
    with pytest.raises(ZhongtaiError, match=r"every label row has the same ts"):
        _train(sqlite_store, storage, table)


def test_string_features_are_refused_with_a_hint(sqlite_store, storage):
    table = synthetic_table(rows=500)
    table = table.set_column(8, "noise", pa.array(["a"] * 500))
    with pytest.raises(ZhongtaiError, match=r"feature 'noise' is string"):
        _train(sqlite_store, storage, table)


def test_labels_must_be_zero_or_one(sqlite_store, storage):
    table = synthetic_table(rows=500)
    table = table.set_column(2, "label", pa.array(np.full(500, 2, dtype=np.int64)))
    with pytest.raises(ZhongtaiError, match=r"label 'label' must be 0 or 1"):
        _train(sqlite_store, storage, table)


def test_an_unregistered_model_is_not_found(sqlite_store, storage, signal_table):
    with pytest.raises(ZhongtaiError, match=r"model 'fraud' is not registered"):
        _train(sqlite_store, storage, signal_table, model="fraud")


def test_spec_params_override_defaults_through_their_sklearn_names():
    params, rounds, patience = effective_params(
        {"n_estimators": 80, "min_child_samples": 10, "subsample": 0.7, "early_stopping_round": 5}
    )
    assert (rounds, patience) == (80, 5)
    assert params["min_data_in_leaf"] == 10 and params["bagging_fraction"] == 0.7
    assert "min_child_samples" not in params and "n_estimators" not in params
    assert params["objective"] == "binary" and params["deterministic"] is True
    assert params["num_threads"] >= 1


def test_another_objective_is_refused():
    with pytest.raises(ZhongtaiError, match=r"params.objective is 'regression'"):
        effective_params({"objective": "regression"})


def test_the_spec_threshold_drives_precision_and_recall(sqlite_store, storage, signal_table):
    spec = ModelSpec.model_validate({**MODEL.model_dump(), "name": "churn_strict", "threshold": 0.9})
    register_model_spec(sqlite_store, spec)
    strict = _train(sqlite_store, storage, signal_table, model="churn_strict")
    loose = _train(sqlite_store, storage, signal_table)
    assert strict.metrics["validation"]["threshold"] == 0.9
    assert strict.metrics["validation"]["recall"] < loose.metrics["validation"]["recall"]


def test_code_version_names_the_package_and_the_commit():
    found = code_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+(\+g[0-9a-f]{4,40})?", found)
