"""The predictor protocol: every servable format gives scores and exact additive contributions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.models.artifacts import ARTIFACT_FORMAT, save_booster, save_text
from zhongtai.models.predictor import (
    LINEAR_FORMAT,
    LinearModel,
    Predictor,
    load_predictor,
    save_linear,
    servable_formats,
)

from .conftest import FEATURES

pytestmark = pytest.mark.unit

LINEAR = LinearModel(
    features=("spend_90d", "visits_30d"),
    center=(300.0, 4.0),
    scale=(150.0, 2.0),
    coef=(-0.9, -0.5),
    intercept=-1.1,
)


def test_a_linear_model_round_trips_and_explains_exactly(storage):
    path = save_linear(storage, "churn", LINEAR)
    assert path.endswith("/model.json")
    predictor = load_predictor(storage, path, LINEAR_FORMAT)
    assert isinstance(predictor, Predictor)
    rows = np.array([[450.0, 2.0], [300.0, 4.0], [np.nan, 8.0]])
    scores, contributions = predictor.explain(rows)
    assert contributions.shape == (3, 3)
    # by hand: logit = intercept + sum(coef * (x - center) / scale); a missing value contributes nothing
    logits = [-1.1 - 0.9 * 1.0 - 0.5 * -1.0, -1.1, -1.1 - 0.5 * 2.0]
    assert np.allclose(scores, 1 / (1 + np.exp(-np.array(logits))))
    assert np.allclose(predictor.predict(rows), scores)
    assert np.allclose(contributions.sum(axis=1), logits)
    assert contributions[2, 0] == 0.0 and contributions[1, 2] == -1.1


def test_a_lightgbm_model_is_a_predictor(storage):
    import lightgbm

    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, len(FEATURES)))
    y = (x[:, 0] + rng.normal(scale=0.5, size=400) > 0).astype(int)
    params = {"objective": "binary", "verbosity": -1, "seed": 1, "num_threads": 1}
    booster = lightgbm.train(params, lightgbm.Dataset(x, label=y, feature_name=FEATURES), num_boost_round=10)
    predictor = load_predictor(storage, save_booster(storage, "churn", booster), ARTIFACT_FORMAT)
    assert isinstance(predictor, Predictor) and predictor.features == tuple(FEATURES)
    scores, contributions = predictor.explain(x[:4])
    assert np.allclose(scores, booster.predict(x[:4]))
    assert np.allclose(contributions.sum(axis=1), booster.predict(x[:4], raw_score=True))


def test_an_unknown_format_is_refused_with_the_servable_ones(storage):
    with pytest.raises(ZhongtaiError, match=r"model artifact format 'pickle' cannot be served") as caught:
        load_predictor(storage, storage.path("_models", "x", "model.pkl"), "pickle")
    assert caught.value.hint == f"servable formats: {', '.join(servable_formats())}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\x80\x04pickled", r"is not a linear-json model"),
        (json.dumps({"schema": "other"}), r"is not a linear-json model"),
        (json.dumps({"schema": "zhongtai-linear/1", "features": ["a"]}), r"is not a linear-json model"),
        (
            json.dumps(
                {
                    "schema": "zhongtai-linear/1",
                    "features": ["a", "b"],
                    "center": [0],
                    "scale": [1],
                    "coef": [1],
                    "intercept": 0,
                }
            ),
            r"must be equally long, finite, with positive scales",
        ),
        (
            json.dumps(
                {
                    "schema": "zhongtai-linear/1",
                    "features": ["a"],
                    "center": [0],
                    "scale": [0],
                    "coef": [1],
                    "intercept": 0,
                }
            ),
            r"must be equally long, finite, with positive scales",
        ),
    ],
)
def test_a_malformed_linear_artifact_is_refused_by_name(storage, text, message):
    path = save_text(storage, "churn", "model.json", text)
    with pytest.raises(ZhongtaiError, match=message):
        load_predictor(storage, path, LINEAR_FORMAT)
