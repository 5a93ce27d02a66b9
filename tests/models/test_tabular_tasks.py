"""Multiclass and regression through the tabular pipeline: they learn, judge against both baselines, save
servable artifacts with their classes, and refuse bad labels before registering anything."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.models.artifacts import read_artifact, sibling
from zhongtai.models.cards import card_of, render_markdown
from zhongtai.models.predictor import load_predictor
from zhongtai.models.train import train_model
from zhongtai.spec.models import ModelSpec

from .conftest import register_model_spec, synthetic_table, training_set_of

pytestmark = pytest.mark.integration

LABEL = {"sql": "SELECT customer_id, ts, outcome AS label FROM outcomes", "label": "label"}


def _spec(name: str, task: str, **extra) -> ModelSpec:
    return ModelSpec(
        name=name,
        task=task,
        entity="customer",
        label=LABEL,
        feature_views=["customer_activity"],
        params={"num_boost_round": 80, "num_threads": 1},  # one thread: a busy test machine only adds waits
        **extra,
    )


def _with_label(table: pa.Table, values: list | np.ndarray | pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index("label"), "label", pa.array(values))


def _segments(table: pa.Table, seed: int = 3) -> list[str]:
    """Three classes that follow spend and visits (non-linearly), with noise."""
    rng = np.random.default_rng(seed)
    spend = np.nan_to_num(table["spend_90d"].to_numpy(zero_copy_only=False), nan=300.0)
    visits = table["visits_30d"].to_numpy()
    worth = np.minimum(visits, 6) * 60 + spend + rng.normal(0, 60, table.num_rows)
    return np.where(worth > 700, "gold", np.where(worth > 450, "silver", "bronze")).tolist()


def _spend_next(table: pa.Table, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spend = np.nan_to_num(table["spend_90d"].to_numpy(zero_copy_only=False), nan=300.0)
    member = table["is_member"].to_numpy(zero_copy_only=False).astype(bool)
    visits = table["visits_30d"].to_numpy()
    return np.where(member, 1.4, 0.6) * spend + 25 * np.minimum(visits, 5) + rng.normal(0, 30, table.num_rows)


def _train(store, storage, spec: ModelSpec, table: pa.Table):
    register_model_spec(store, spec)
    return train_model(store, storage, spec.name, training=(training_set_of(table, spec.name), table))


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return synthetic_table(rows=3000, seed=21)


def test_a_multiclass_model_beats_both_baselines_and_serves_its_classes(sqlite_store, storage, table):
    spec = _spec("segment", "multiclass_classification", slices=["is_member"])
    version = _train(sqlite_store, storage, spec, _with_label(table, _segments(table)))
    metrics = version.metrics
    assert version.artifact_format == "lightgbm-multiclass"
    assert metrics["classes"] == ["bronze", "gold", "silver"] and metrics["unseen_classes"] == {}
    model, prior, logistic = metrics["validation"], metrics["baseline"], metrics["logistic_baseline"]
    assert model["accuracy"] > prior["accuracy"] + 0.2
    assert model["log_loss"] < prior["log_loss"] and model["macro_f1"] > prior["macro_f1"]
    assert set(logistic) == set(model)
    assert set(model["per_class_recall"]) == {"bronze", "gold", "silver"}
    assert metrics["selection_metric"] == "log_loss"

    predictor = load_predictor(storage, version.artifact, version.artifact_format)
    assert predictor.task == "multiclass" and predictor.classes == ("bronze", "gold", "silver")  # type: ignore[attr-defined]
    rows = np.array([[200.0, 1.0, 500.0, 0.0, 0.0, 0.1], [900.0, 8.0, np.nan, 0.0, 1.0, -0.3]])
    probabilities, contributions = predictor.explain(rows)
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.allclose(predictor.predict(rows), probabilities)
    assert [predictor.classes[i] for i in probabilities.argmax(axis=1)] == ["bronze", "gold"]  # type: ignore[attr-defined]
    # the predicted class's raw score: its softmax logit, up to the constant shared by all classes
    assert contributions.shape == (2, 7)

    _, card = card_of(sqlite_store, "segment")
    assert card["task"] == "multiclass_classification" and card["classes"] == ["bronze", "gold", "silver"]
    assert set(card["metrics"]["model"]) == {"log_loss", "accuracy", "macro_f1"}
    assert "calibration" in card and "residuals" not in card
    members = card["slices"]["is_member"]
    assert [g["value"] for g in members] == ["False", "True"]
    assert sum(g["rows"] for g in members) == metrics["validation_rows"]
    assert all(0 <= g["accuracy"] <= 1 and 1 / 3 <= g["mean_confidence"] <= 1 for g in members)
    page = render_markdown(card, version.version)
    assert "(classes: bronze, gold, silver)" in page and "## Recall per class" in page
    assert "| value | rows | accuracy | mean confidence | note |" in page


def test_integer_classes_come_back_as_integers(sqlite_store, storage, table):
    codes = {"bronze": 0, "silver": 1, "gold": 2}
    labels = [codes[s] for s in _segments(table)]
    version = _train(
        sqlite_store, storage, _spec("tier", "multiclass_classification"), _with_label(table, labels)
    )
    assert version.metrics["classes"] == [0, 1, 2]
    stored = read_artifact(storage, sibling(version.artifact, "classes.json"))
    assert b'"classes": [\n    0,\n    1,\n    2\n  ]' in stored


def test_a_class_seen_only_in_validation_is_reported_not_scored(sqlite_store, storage, table):
    labels = np.array(_segments(table), dtype=object)
    late = pa.compute.greater_equal(pa.compute.month(table["ts"]), 11).to_numpy(zero_copy_only=False)
    labels[late & (np.arange(table.num_rows) % 7 == 0)] = "platinum"
    labelled = _with_label(table, labels.tolist())
    register_model_spec(sqlite_store, _spec("segment", "multiclass_classification"))
    said: list[str] = []
    version = train_model(
        sqlite_store,
        storage,
        "segment",
        on_progress=lambda stage, detail: said.append(detail),
        training=(training_set_of(labelled, "segment"), labelled),
    )
    unseen = version.metrics["unseen_classes"]
    assert list(unseen) == ["platinum"] and unseen["platinum"] > 0
    assert f"{unseen['platinum']:,} validation rows of 1 class(es) training lacks: left out" in said
    assert version.metrics["classes"] == ["bronze", "gold", "silver"]
    assert version.metrics["validation"]["rows"] == version.metrics["validation_rows"]


def test_a_regression_beats_both_baselines_and_explains_its_value(sqlite_store, storage, table):
    spec = _spec("spend", "regression", slices=["visits_30d"])
    version = _train(sqlite_store, storage, spec, _with_label(table, _spend_next(table)))
    metrics = version.metrics
    assert version.artifact_format == "lightgbm-regression" and metrics["selection_metric"] == "rmse"
    model, mean, ridge = metrics["validation"], metrics["baseline"], metrics["ridge_baseline"]
    assert model["rmse"] < ridge["rmse"] < mean["rmse"]
    assert model["mae"] < mean["mae"] and model["r2"] > 0.8 > mean["r2"]
    assert abs(mean["r2"]) < 0.05 and model["mape"] is not None and model["mape_rows"] == model["rows"]

    predictor = load_predictor(storage, version.artifact, version.artifact_format)
    rows = np.array([[200.0, 1.0, 500.0, 0.0, 0.0, 0.1], [900.0, 8.0, np.nan, 0.0, 1.0, -0.3]])
    values, contributions = predictor.explain(rows)
    assert predictor.task == "regression"
    assert np.allclose(contributions.sum(axis=1), values) and np.allclose(predictor.predict(rows), values)

    _, card = card_of(sqlite_store, "spend")
    assert "calibration" not in card and set(card["residuals"]) == {
        "mean",
        "std",
        "quantiles",
        "by_prediction",
    }
    assert sum(b["rows"] for b in card["residuals"]["by_prediction"]) == metrics["validation_rows"]
    visits = card["slices"]["visits_30d"]
    assert sum(g["rows"] for g in visits) == metrics["validation_rows"]
    assert all(g["rmse"] >= g["mae"] > 0 for g in visits)
    page = render_markdown(card, version.version)
    assert "## Residuals" in page and "| value | rows | mean target | RMSE | MAE | note |" in page


def test_linear_candidates_fit_the_task_and_serve(sqlite_store, storage, table):
    softmax = _spec(
        "segment",
        "multiclass_classification",
        candidates={"metric": "accuracy", "algorithms": [{"algorithm": "logistic", "params": {"C": 0.5}}]},
    )
    version = _train(sqlite_store, storage, softmax, _with_label(table, _segments(table)))
    assert (version.artifact_format, version.metrics["algorithm"]) == ("softmax-json", "logistic")
    predictor = load_predictor(storage, version.artifact, version.artifact_format)
    assert predictor.predict(np.zeros((1, 6))).shape == (1, 3)

    ridge = _spec(
        "spend", "regression", candidates={"algorithms": [{"algorithm": "ridge", "params": {"alpha": 2.0}}]}
    )
    assert ridge.candidates is not None and ridge.candidates.metric == "rmse"
    version = _train(sqlite_store, storage, ridge, _with_label(table, _spend_next(table)))
    assert (version.artifact_format, version.params["alpha"]) == ("linear-json", 2.0)
    values, contributions = load_predictor(storage, version.artifact, version.artifact_format).explain(
        np.ones((2, 6))
    )
    assert np.allclose(contributions.sum(axis=1), values)


@pytest.mark.parametrize(
    ("task", "candidates", "message"),
    [
        (
            "regression",
            {"metric": "auc", "algorithms": [{"algorithm": "lightgbm"}]},
            r"candidates.metric 'auc' does not judge a regression model \(allowed: rmse, mae, r2\)",
        ),
        (
            "multiclass_classification",
            {"algorithms": [{"algorithm": "ridge"}]},
            r"candidates.algorithms: ridge does not fit a multiclass_classification model",
        ),
        (
            "binary_classification",
            {"algorithms": [{"algorithm": "ridge"}]},
            r"ridge does not fit a binary_classification model",
        ),
    ],
)
def test_candidates_that_do_not_fit_the_task_are_refused(task, candidates, message):
    with pytest.raises(ValueError, match=message):
        _spec("m", task, candidates=candidates)


@pytest.mark.parametrize(
    ("task", "labels", "message"),
    [
        (
            "multiclass_classification",
            lambda t: ["a"] * t.num_rows,
            r"training side of the time split has a single class of label.label 'label'",
        ),
        (
            "multiclass_classification",
            lambda t: np.linspace(0, 1, t.num_rows),
            r"label.label: 'label' is double; a multiclass_classification model takes string or integer classes",
        ),
        (
            "regression",
            lambda t: ["x"] * t.num_rows,
            r"label.label: 'label' is string; a regression model takes numbers",
        ),
        (
            "regression",
            lambda t: np.where(np.arange(t.num_rows) % 50 == 0, np.nan, 1.0),
            r"label.label: 'label' is NaN or infinite in 20 rows",
        ),
        (
            "regression",
            lambda t: pa.array([None] * 3 + [1.0] * (t.num_rows - 3)),
            r"label.label: 'label' is NULL in 3 rows",
        ),
    ],
)
def test_bad_labels_are_refused_naming_the_field_and_register_nothing(
    sqlite_store, storage, task, labels, message
):
    table = synthetic_table(rows=1000, seed=9)
    with pytest.raises(ZhongtaiError, match=message):
        _train(sqlite_store, storage, _spec("bad", task), _with_label(table, labels(table)))
    assert sqlite_store.models.versions("bad") == []


def test_a_validation_side_with_one_class_is_refused(sqlite_store, storage):
    table = synthetic_table(rows=1000, seed=9)
    late = pa.compute.greater_equal(pa.compute.month(table["ts"]), 10).to_numpy(zero_copy_only=False)
    labels = np.where(late, "a", np.where(np.arange(1000) % 2 == 0, "a", "b")).tolist()
    with pytest.raises(ZhongtaiError, match=r"validation side of the time split has a single class"):
        _train(sqlite_store, storage, _spec("bad", "multiclass_classification"), _with_label(table, labels))


def test_an_empty_label_set_is_refused(sqlite_store, storage):
    table = synthetic_table(rows=10).slice(0, 0)
    with pytest.raises(ZhongtaiError, match=r"label.sql returned no label rows"):
        _train(sqlite_store, storage, _spec("bad", "regression"), table)
    assert sqlite_store.models.versions("bad") == []
