"""Artifacts are data-only text in the lake, written atomically and loaded without pickle."""

from __future__ import annotations

import boto3
import numpy as np
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.storage import LakeStorage
from zhongtai.models.artifacts import ARTIFACT_FORMAT, load_booster, save_booster
from zhongtai.models.predictor import load_predictor
from zhongtai.models.train import time_split, train_model

from .conftest import FEATURES, synthetic_table, training_set_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def booster():
    import lightgbm

    split = time_split(synthetic_table(rows=2000), "ts", "label", FEATURES, fraction=0.2)
    data = lightgbm.Dataset(split.train_x, label=split.train_y, feature_name=FEATURES)
    params = {"objective": "binary", "verbosity": -1, "seed": 1, "deterministic": True, "num_threads": 1}
    return lightgbm.train(params, data, num_boost_round=20), split.valid_x


def test_the_artifact_is_model_text_under_models(storage, booster):
    model, _ = booster
    path = save_booster(storage, "churn", model)
    assert path.startswith(storage.path("_models", "churn"))
    assert path.endswith("/model.txt")
    text = storage.fs.cat(path).decode()
    assert text.startswith("tree\nversion=")
    assert "feature_names=" + " ".join(FEATURES) in text
    assert storage.listdir(storage.path("_staging")) == []  # published, nothing left half-way


def test_reloading_gives_identical_predictions(storage, booster):
    model, rows = booster
    path = save_booster(storage, "churn", model)
    assert np.array_equal(load_booster(storage, path).predict(rows), model.predict(rows))
    serving = load_predictor(storage, path, ARTIFACT_FORMAT)
    assert serving.features == tuple(FEATURES)
    assert np.array_equal(serving.predict(rows), model.predict(rows))
    # contributions: one column per feature plus the bias, summing to the raw score
    scores, contributions = serving.explain(rows[:5])
    assert contributions.shape == (5, len(FEATURES) + 1)
    assert np.allclose(contributions.sum(axis=1), model.predict(rows[:5], raw_score=True))
    assert np.allclose(scores, model.predict(rows[:5]))


def test_missing_values_predict_like_the_original(storage, booster):
    model, rows = booster
    holes = rows.copy()
    holes[:, 0] = np.nan
    served = load_predictor(storage, save_booster(storage, "churn", model), ARTIFACT_FORMAT)
    assert np.array_equal(served.predict(holes), model.predict(holes))


def test_a_file_that_is_not_model_text_is_refused(storage):
    path = storage.path("_models", "churn", "forged", "model.txt")
    storage.makedirs(storage.path("_models", "churn", "forged"))
    with storage.fs.open(path, "wb") as out:
        out.write(b"\x80\x04\x95pickled")
    with pytest.raises(ZhongtaiError, match=r"is not LightGBM model text"):
        load_booster(storage, path)


def test_a_missing_artifact_is_a_clear_error(storage):
    with pytest.raises(ZhongtaiError, match=r"model artifact .*model.txt is missing"):
        load_booster(storage, storage.path("_models", "churn", "gone", "model.txt"))


def test_training_with_the_lake_on_s3(s3_endpoint, sqlite_store):
    boto3.client("s3").create_bucket(Bucket="lake")
    lake = LakeStorage("s3://lake/zt")
    table = synthetic_table(rows=1500)
    version = train_model(sqlite_store, lake, "churn", training=(training_set_of(table), table))
    assert version.artifact.startswith("s3://lake/zt/_models/churn/")
    served = load_predictor(lake, version.artifact, version.artifact_format)
    split = time_split(table, "ts", "label", FEATURES, fraction=0.2)
    assert served.predict(split.valid_x).shape == (split.valid_y.size,)
    assert lake.listdir(lake.path("_staging")) == []
