"""The single-row fast path answers exactly what the LightGBM predictor it wraps answers, in any thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from zhongtai.models.artifacts import ARTIFACT_FORMAT, save_booster
from zhongtai.models.predictor import REGRESSION_FORMAT, LinearModel, LinearPredictor, load_predictor
from zhongtai.models.single_row import SingleRow, single_row

from .conftest import FEATURES

pytestmark = pytest.mark.unit


def _rows(seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(300, len(FEATURES)))
    rows[::7, 2] = np.nan  # missing values take the trees' default branches
    return rows


def _loaded(storage, objective: str, artifact_format: str):
    import lightgbm

    rows = _rows(3)
    label = rows[:, 0] + np.random.default_rng(4).normal(scale=0.5, size=len(rows))
    label = (label > 0).astype(int) if objective == "binary" else label
    params = {"objective": objective, "verbosity": -1, "seed": 1, "num_threads": 1, "num_leaves": 15}
    data = lightgbm.Dataset(rows, label=label, feature_name=FEATURES)
    booster = lightgbm.train(params, data, num_boost_round=30)
    return load_predictor(storage, save_booster(storage, "m", booster), artifact_format)


@pytest.mark.parametrize(
    ("objective", "artifact_format"), [("binary", ARTIFACT_FORMAT), ("regression", REGRESSION_FORMAT)]
)
def test_one_row_at_a_time_equals_the_wrapped_predictor(storage, objective, artifact_format):
    model = _loaded(storage, objective, artifact_format)
    fast = single_row(model)
    assert isinstance(fast, SingleRow) and fast.task == model.task and fast.features == model.features
    for row in _rows(9)[:40]:
        one = row.reshape(1, -1)
        scores, contributions = fast.explain(one)
        expected_scores, expected_contributions = model.explain(one)
        assert contributions.shape == expected_contributions.shape == (1, len(FEATURES) + 1)
        assert np.allclose(contributions, expected_contributions, rtol=0, atol=1e-12)
        assert np.allclose(scores, expected_scores, rtol=0, atol=1e-12)
        assert np.allclose(fast.predict(one), model.predict(one), rtol=0, atol=1e-12)
    many = _rows(11)[:5]  # several rows: the wrapped predictor answers
    assert np.array_equal(fast.explain(many)[1], model.explain(many)[1])


def test_threads_each_use_their_own_handles(storage):
    model = _loaded(storage, "binary", ARTIFACT_FORMAT)
    fast = single_row(model)
    rows = _rows(5)
    expected = model.predict(rows)
    mismatches: list[int] = []

    def score(offset: int) -> None:
        for index in range(offset, len(rows), 4):
            if not np.isclose(fast.predict(rows[index : index + 1])[0], expected[index], rtol=0, atol=1e-12):
                mismatches.append(index)

    threads = [threading.Thread(target=score, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mismatches == []


def test_other_predictors_are_left_as_they_are():
    linear = LinearPredictor.of(
        LinearModel(features=("a",), center=(0.0,), scale=(1.0,), coef=(0.5,), intercept=0.0)
    )
    assert single_row(linear) is linear
