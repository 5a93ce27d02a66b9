"""Multiclass and regression predictors: exact explanations, class labels with the artifact, malformed
artifacts refused by name; and the multiclass and regression metrics against figures worked by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.models.artifacts import save_files, save_text
from zhongtai.models.baselines import fit_softmax, logistic_params
from zhongtai.models.boosting import effective_params
from zhongtai.models.metrics import multiclass_metrics, regression_metrics, task_intervals
from zhongtai.models.predictor import (
    CLASSES_FILE,
    LINEAR_FORMAT,
    MULTICLASS_FORMAT,
    REGRESSION_FORMAT,
    SOFTMAX_FORMAT,
    LinearModel,
    Predictor,
    SoftmaxModel,
    SoftmaxPredictor,
    classes_json,
    load_predictor,
)

pytestmark = pytest.mark.unit

FEATURES = ["a", "b", "c"]


def _booster(objective: str, y: np.ndarray, x: np.ndarray, **extra):
    import lightgbm

    params = {"objective": objective, "verbosity": -1, "seed": 1, "num_threads": 1, **extra}
    return lightgbm.train(params, lightgbm.Dataset(x, label=y, feature_name=FEATURES), num_boost_round=15)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(600, 3))
    return x, x[:, 0] * 2 + np.where(x[:, 1] > 0, 1.0, -1.0) + rng.normal(scale=0.3, size=600)


def _multiclass_files(data, classes=("low", "mid", "high")) -> dict[str, bytes]:
    x, value = data
    y = np.digitize(value, [-1.0, 1.0])
    text = _booster("multiclass", y, x, num_class=3).model_to_string()
    return {"model.txt": text.encode(), CLASSES_FILE: classes_json(tuple(classes))}


def test_a_multiclass_booster_explains_its_predicted_class(storage, data):
    path = save_files(storage, "segment", _multiclass_files(data), "model.txt")
    predictor = load_predictor(storage, path, MULTICLASS_FORMAT)
    assert isinstance(predictor, Predictor) and predictor.task == "multiclass"
    rows = np.vstack([data[0][:5], [[np.nan, 0.0, 1.0]]])
    probabilities, contributions = predictor.explain(rows)
    booster_probabilities = predictor.booster.predict(rows)  # type: ignore[attr-defined]
    assert np.allclose(probabilities, booster_probabilities) and np.allclose(
        predictor.predict(rows), probabilities
    )
    raw = predictor.booster.predict(rows, raw_score=True)  # type: ignore[attr-defined]
    chosen = probabilities.argmax(axis=1)
    assert contributions.shape == (6, 4)
    assert np.allclose(contributions.sum(axis=1), raw[np.arange(6), chosen])


def test_a_regression_booster_sums_to_its_value(storage, data):
    x, value = data
    path = save_text(storage, "spend", "model.txt", _booster("regression", value, x).model_to_string())
    predictor = load_predictor(storage, path, REGRESSION_FORMAT)
    values, contributions = predictor.explain(x[:8])
    assert predictor.task == "regression"
    assert np.allclose(values, predictor.booster.predict(x[:8]))  # type: ignore[attr-defined]
    assert np.allclose(contributions.sum(axis=1), values)


def test_a_softmax_model_round_trips_and_explains_exactly(storage):
    model = SoftmaxModel(
        features=("a", "b"),
        center=(1.0, 0.0),
        scale=(2.0, 1.0),
        classes=("x", "y", "z"),
        coef=((1.0, 0.0), (0.0, 1.0), (-1.0, -1.0)),
        intercept=(0.0, 0.5, -0.5),
    )
    path = save_text(storage, "segment", "model.json", model.to_json())
    predictor = load_predictor(storage, path, SOFTMAX_FORMAT)
    rows = np.array([[5.0, 0.0], [1.0, 3.0], [np.nan, np.nan]])
    probabilities, contributions = predictor.explain(rows)
    # by hand: logits are coef · (x - center) / scale + intercept; a missing value contributes nothing
    logits = np.array([[2.0, 0.5, -2.5], [0.0, 3.5, -3.5], [0.0, 0.5, -0.5]])
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert np.allclose(probabilities, expected)
    assert np.allclose(contributions.sum(axis=1), logits[np.arange(3), expected.argmax(axis=1)])
    assert predictor.classes == ("x", "y", "z")  # type: ignore[attr-defined]


def test_a_ridge_model_is_linear_json_with_the_value_as_score(storage):
    model = LinearModel(("a",), (10.0,), (5.0,), (3.0,), 100.0, task="regression")
    predictor = load_predictor(
        storage, save_text(storage, "spend", "model.json", model.to_json()), LINEAR_FORMAT
    )
    values, contributions = predictor.explain(np.array([[20.0], [np.nan]]))
    assert values.tolist() == [106.0, 100.0] and contributions.sum(axis=1).tolist() == [106.0, 100.0]


@pytest.mark.parametrize(
    ("classes_file", "message"),
    [
        (b"\x80\x04pickled", r"classes.json is not a class list of a multiclass model"),
        (
            json.dumps({"schema": "zhongtai-classes/1", "classes": ["a", "a", "b"]}).encode(),
            r"at least two distinct strings or integers",
        ),
        (
            json.dumps({"schema": "zhongtai-classes/1", "classes": [1, "a", 2]}).encode(),
            r"at least two distinct strings or integers",
        ),
        (
            json.dumps({"schema": "zhongtai-classes/1", "classes": [True, False, 1]}).encode(),
            r"at least two distinct strings or integers",
        ),
        (
            json.dumps({"schema": "zhongtai-classes/1", "classes": ["a", "b"]}).encode(),
            r"names 2 classes, the model predicts 3",
        ),
    ],
)
def test_a_malformed_class_list_is_refused_by_name(storage, data, classes_file, message):
    files = {**_multiclass_files(data), CLASSES_FILE: classes_file}
    path = save_files(storage, "segment", files, "model.txt")
    with pytest.raises(ZhongtaiError, match=message):
        load_predictor(storage, path, MULTICLASS_FORMAT)


def test_a_missing_class_list_is_refused(storage, data):
    files = {"model.txt": _multiclass_files(data)["model.txt"]}
    with pytest.raises(ZhongtaiError, match=r"model artifact .*classes.json is missing"):
        load_predictor(storage, save_files(storage, "segment", files, "model.txt"), MULTICLASS_FORMAT)


def test_a_model_of_another_objective_is_refused(storage, data):
    x, value = data
    binary = _booster("binary", (value > 0).astype(int), x).model_to_string()
    path = save_text(storage, "spend", "model.txt", binary)
    with pytest.raises(ZhongtaiError, match=r"was trained with objective 'binary', not regression or "):
        load_predictor(storage, path, REGRESSION_FORMAT)
    with pytest.raises(ZhongtaiError, match=r"was trained with objective 'binary', not multiclass"):
        load_predictor(storage, path, MULTICLASS_FORMAT)


def test_a_malformed_softmax_artifact_is_refused(storage):
    body = {
        "schema": "zhongtai-softmax/1",
        "features": ["a"],
        "center": [0],
        "scale": [1],
        "classes": ["x", "y"],
        "coef": [[1.0], [2.0], [3.0]],
        "intercept": [0, 0],
    }
    path = save_text(storage, "segment", "model.json", json.dumps(body))
    with pytest.raises(
        ZhongtaiError, match=r"one coefficient per feature and class, one intercept per class"
    ):
        load_predictor(storage, path, SOFTMAX_FORMAT)
    path = save_text(storage, "segment", "model.json", json.dumps({**body, "schema": "zhongtai-linear/1"}))
    with pytest.raises(ZhongtaiError, match=r"is not a softmax-json model"):
        load_predictor(storage, path, SOFTMAX_FORMAT)


def test_multiclass_metrics_by_hand():
    labels = np.array([0, 0, 1, 2])
    probabilities = np.array([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.2, 0.6, 0.2], [0.1, 0.1, 0.8]])
    found = multiclass_metrics(labels, probabilities, ("a", "b", "c"))
    assert found["accuracy"] == 0.75
    # F1: a = 2·1/(2+1), b = 2·1/(1+2), c = 1
    assert found["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert found["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.4, 0.6, 0.8])))
    assert found["per_class_recall"] == {"a": 0.5, "b": 1.0, "c": 1.0}
    assert multiclass_metrics(labels[:2], probabilities[:2], ("a", "b", "c"))["per_class_recall"]["c"] is None


def test_regression_metrics_by_hand():
    values, predicted = np.array([1.0, 2.0, 0.0, 5.0]), np.array([2.0, 2.0, 1.0, 3.0])
    found = regression_metrics(values, predicted)
    assert found["rmse"] == pytest.approx(np.sqrt(6 / 4)) and found["mae"] == 1.0
    assert (
        found["mape"] == pytest.approx((1 + 0 + 0.4) / 3) and found["mape_rows"] == 3
    )  # the 0 target is left out
    assert found["r2"] == pytest.approx(1 - 6 / 14)
    constant = regression_metrics(np.zeros(3), np.ones(3))
    assert constant["mape"] is None and constant["r2"] is None


def test_task_intervals_hold_the_point_value_and_repeat():
    rng = np.random.default_rng(2)
    values = rng.normal(size=300)
    predicted = values + rng.normal(scale=0.5, size=300)
    first = task_intervals("regression", values, predicted, resamples=50)
    assert first == task_intervals("regression", values, predicted, resamples=50)
    for name in ("rmse", "mae", "r2"):
        entry = first[name]
        assert entry["low"] <= entry["value"] <= entry["high"]


def test_the_task_picks_the_objective_and_its_loss():
    params, _, _ = effective_params({}, "multiclass_classification", 4)
    assert (params["objective"], params["metric"], params["num_class"]) == ("multiclass", "multi_logloss", 4)
    params, _, _ = effective_params({"objective": "huber"}, "regression")
    assert (params["objective"], params["metric"]) == ("huber", "huber") and "num_class" not in params
    # a log link would make the prediction exp(raw score): contributions would no longer sum to it
    with pytest.raises(
        ZhongtaiError, match=r"params.objective is 'poisson'; a regression model takes 'regression' or"
    ):
        effective_params({"objective": "poisson"}, "regression")


@pytest.mark.parametrize("classes", [("no", "yes"), ("a", "b", "c")])
def test_the_multinomial_baseline_is_scikit_learns_model(classes):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(8)
    x = rng.normal(size=(300, 2)) * [3.0, 0.5] + [10.0, 0.0]
    y = np.digitize(x[:, 0] + rng.normal(size=300), [9.0, 11.0][: len(classes) - 1])
    model = fit_softmax(x, y, ["a", "b"], classes, logistic_params())
    standard = (x - x.mean(axis=0)) / x.std(axis=0)
    expected = LogisticRegression(**logistic_params()).fit(standard, y).predict_proba(standard[:20])
    assert np.allclose(SoftmaxPredictor.of(model).predict(x[:20]), expected)
