"""The bundle's model math equals the platform's predictors: linear and softmax JSON models row by row, and
multiclass and regression LightGBM capabilities answer for answer."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from tests.capabilities.tabular_world import CUSTOMERS, TabularWorld, build_tabular_world
from tests.edge.world_bundle import export
from zhongtai.capabilities.arms import build_armed
from zhongtai.edge import EdgeError, load_bundle
from zhongtai.edge.scoring import LINEAR, SOFTMAX, load_scorer
from zhongtai.models.predictor import LinearModel, LinearPredictor, SoftmaxModel, SoftmaxPredictor


def _rows(rng: np.random.Generator, features: int) -> np.ndarray:
    rows = rng.normal(0, 3, (64, features))
    rows[rng.random(rows.shape) < 0.15] = np.nan  # missing values take the training mean
    return rows


@pytest.mark.unit
@pytest.mark.parametrize("task", ["binary", "regression"])
def test_a_linear_model_explains_as_the_platform_does(tmp_path, task):
    rng = np.random.default_rng(3)
    model = LinearModel(
        features=("a", "b", "c"),
        center=tuple(rng.normal(size=3)),
        scale=tuple(rng.uniform(0.5, 2, 3)),
        coef=tuple(rng.normal(size=3)),
        intercept=-0.4,
        task=task,
    )
    (tmp_path / "model.json").write_text(model.to_json())
    edge = load_scorer(tmp_path / "model.json", LINEAR, 3, ())
    rows = _rows(rng, 3)
    for got, expected in zip(edge.explain(rows), LinearPredictor.of(model).explain(rows), strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.unit
def test_a_softmax_model_explains_as_the_platform_does(tmp_path):
    rng = np.random.default_rng(4)
    classes = ("bronze", "silver", "gold")
    model = SoftmaxModel(
        features=("a", "b"),
        center=tuple(rng.normal(size=2)),
        scale=tuple(rng.uniform(0.5, 2, 2)),
        classes=classes,
        coef=tuple(tuple(rng.normal(size=2)) for _ in classes),
        intercept=tuple(rng.normal(size=3)),
    )
    (tmp_path / "model.json").write_text(model.to_json())
    edge = load_scorer(tmp_path / "model.json", SOFTMAX, 2, classes)
    rows = _rows(rng, 2)
    for got, expected in zip(edge.explain(rows), SoftmaxPredictor.of(model).explain(rows), strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.unit
def test_a_model_that_does_not_fit_the_bundle_is_refused(tmp_path):
    (tmp_path / "model.json").write_text('{"center": [0], "scale": [0], "coef": [1], "intercept": 0}')
    with pytest.raises(EdgeError, match="1 finite centers, positive scales and coefficients expected"):
        load_scorer(tmp_path / "model.json", LINEAR, 1, ())
    (tmp_path / "model.txt").write_bytes(b"\x80\x04not model text")
    with pytest.raises(EdgeError, match="is not LightGBM model text"):
        load_scorer(tmp_path / "model.txt", "lightgbm-text", 1, ())
    with pytest.raises(EdgeError, match="model format 'onnx' cannot be served at the edge"):
        load_scorer(tmp_path / "model.txt", "onnx", 1, ())


@pytest.fixture(scope="module")
def tabular(tmp_path_factory) -> Iterator[TabularWorld]:
    built = build_tabular_world(tmp_path_factory.mktemp("edge_tabular"))
    try:
        yield built
    finally:
        built.online.close()
        built.store.close()


@pytest.mark.integration
@pytest.mark.parametrize("capability", ["segment-of", "spend-band", "spend-value"])
def test_multiclass_and_regression_capabilities_answer_as_the_runtime(tabular, tmp_path, capability):
    keys = [*range(1, CUSTOMERS + 1), 99999]
    w = tabular
    bundle = load_bundle(export(w.store, w.storage, w.online, capability, tmp_path / "b", keys).path)
    runtime = build_armed(capability, w.store, w.storage, w.online)
    decisions = set()
    for key in keys:
        expected = runtime.decide({"customer_id": key}).to_dict()
        got = bundle.decide({"customer_id": key})
        del expected["decision_id"], got["decision_id"]
        assert got == expected
        decisions.add(got["decision"])
    assert len(decisions) >= 3  # several classes or bands, and the fallback
