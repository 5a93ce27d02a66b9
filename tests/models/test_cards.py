"""Model cards: built at registration from the holdout, stored with the run, rendered as Markdown and JSON."""

from __future__ import annotations

import numpy as np
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.models.cards import card_of, render_markdown, slice_metrics
from zhongtai.models.metrics import bootstrap_intervals, reliability
from zhongtai.models.train import train_model
from zhongtai.spec.models import ModelSpec

from .conftest import MODEL, register_model_spec, synthetic_table, training_set_of

CARDED = ModelSpec.model_validate(
    {
        **MODEL.model_dump(),
        "name": "churn_carded",
        "owner": "data-team",
        "card": {
            "purpose": "Rank active customers by churn risk for retention offers",
            "owner": "crm-analytics",
            "not_for": ["credit decisions", "pricing individual customers"],
        },
        "slices": ["is_member", "complaints_90d", "spend_90d"],
        "candidates": {"algorithms": [{"algorithm": "lightgbm", "params": {"num_boost_round": 60}}]},
    }
)


@pytest.fixture(scope="module")
def carded(tmp_path_factory):
    """One trained version with a card (SQLite), shared by the read-only tests below."""
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

    folder = tmp_path_factory.mktemp("carded")
    store = MetadataStore(f"sqlite:///{folder / 'metadata.db'}")
    register_model_spec(store, CARDED)
    table = synthetic_table(rows=3000)
    train_model(
        store, LakeStorage(str(folder / "lake")), "churn_carded", training=(training_set_of(table), table)
    )
    yield store
    store.close()


def test_the_card_says_purpose_owner_and_limits(carded):
    version, card = card_of(carded, "churn_carded")
    assert version.version == 1
    assert card["purpose"] == "Rank active customers by churn risk for retention offers"
    assert card["owner"] == "crm-analytics"
    assert card["not_for"] == ["credit decisions", "pricing individual customers"]
    assert card["label"] == {"sql": MODEL.label.sql, "column": "label", "timestamp": "ts"}


def test_the_card_names_its_training_data(carded):
    _, card = card_of(carded, "churn_carded:1")
    data = card["training_data"]
    assert data["datasets"] == {"churn_labels": 2, "orders": 5}
    assert data["dataset_rows"] == {"churn_labels": None, "orders": None}  # not in this store
    assert data["rows"] == 3000 == data["train_rows"] + data["holdout_rows"]
    assert data["first_timestamp"] < data["split_timestamp"] <= data["last_timestamp"]


def test_metrics_against_both_baselines_carry_intervals_and_lift(carded):
    _, card = card_of(carded, "churn_carded")
    for side in ("model", "logistic_baseline", "constant_baseline"):
        for name in ("auc", "log_loss", "brier", "average_precision"):
            entry = card["metrics"][side][name]
            assert entry["low"] <= entry["value"] <= entry["high"], (side, name)
    assert card["metrics"]["constant_baseline"]["auc"]["value"] == 0.5
    lift = card["lift"]
    assert lift["over_constant_baseline"]["auc"] == pytest.approx(
        card["metrics"]["model"]["auc"]["value"] - 0.5
    )
    assert set(lift["over_logistic_baseline"]) == {"auc", "log_loss", "brier", "average_precision"}


def test_calibration_top_features_and_slices(carded):
    _, card = card_of(carded, "churn_carded")
    bins = card["calibration"]["bins"]
    assert len(bins) == 10 and sum(b["rows"] for b in bins) == card["training_data"]["holdout_rows"]
    top = [f["feature"] for f in card["top_features"]]
    assert top[0] in ("complaints_90d", "visits_30d", "spend_90d") and top[-1] == "noise"
    members = {s["value"]: s for s in card["slices"]["is_member"]}
    assert set(members) == {"False", "True"}
    assert sum(s["rows"] for s in members.values()) == card["training_data"]["holdout_rows"]
    complaints = {s["value"]: s for s in card["slices"]["complaints_90d"]}
    assert complaints["0"]["small"] is False and any(s["small"] for s in complaints.values())
    spend = [s["value"] for s in card["slices"]["spend_90d"]]
    assert len(spend) == 5 and spend[-1] == "(missing)"  # quartiles of a continuous column, and NULLs
    [winner] = card["candidates"]
    assert winner["winner"] and card["selection_metric"] == "auc" and card["algorithm"] == "lightgbm"


def test_markdown_has_every_section(carded):
    version, card = card_of(carded, "churn_carded")
    page = render_markdown(card, version.version)
    for heading in (
        "# Model card: churn_carded v1",
        "## Not to be used for",
        "- credit decisions",
        "## Training data",
        "## Label",
        "## Metrics on the holdout (95% bootstrap intervals)",
        "| auc |",
        "## Calibration (Brier",
        "## Top features",
        "## Metrics by slice",
        "### is_member",
        "small: read with care",
        "## Candidates (judged by auc on the same holdout)",
    ):
        assert heading in page, heading


def test_references_to_a_card_are_checked(carded):
    with pytest.raises(ZhongtaiError, match=r"model alias 'churn_carded@champion' is not registered"):
        card_of(carded, "churn_carded@champion")
    with pytest.raises(ZhongtaiError, match=r"the version after ':' must be a number"):
        card_of(carded, "churn_carded:one")
    with pytest.raises(ZhongtaiError, match=r"model version 'churn_carded v9' is not registered"):
        card_of(carded, "churn_carded:9")
    carded.models.set_alias("churn_carded", 1, "champion")
    assert card_of(carded, "churn_carded@champion")[0].version == 1


def test_a_version_registered_without_a_run_has_no_card(carded):
    carded.models.register("churn_carded", "/nowhere/model.txt", "lightgbm-text", [], {}, {}, None, "test")
    with pytest.raises(ZhongtaiError, match=r"churn_carded v2 has no model card"):
        card_of(carded, "churn_carded:2")


def test_a_slice_column_the_training_set_lacks_fails_the_run(sqlite_store, storage):
    spec = ModelSpec.model_validate({**MODEL.model_dump(), "name": "churn_sliced", "slices": ["tier"]})
    register_model_spec(sqlite_store, spec)
    table = synthetic_table(rows=500)
    with pytest.raises(ZhongtaiError, match=r"model 'churn_sliced' slices: tier not among the training set"):
        train_model(
            sqlite_store, storage, "churn_sliced", training=(training_set_of(table, "churn_sliced"), table)
        )
    [run] = sqlite_store.training_runs.list("churn_sliced")
    assert run.status == "failed" and run.error_code == "invalid_spec"


def test_bootstrap_intervals_are_reproducible_and_match_scikit_learn():
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

    rng = np.random.default_rng(5)
    labels = (rng.random(800) < 0.3).astype(np.int64)
    scores = np.round(np.clip(0.3 + 0.3 * (labels - 0.3) + rng.normal(0, 0.2, 800), 0.01, 0.99), 2)  # ties
    first = bootstrap_intervals(labels, scores)
    assert first == bootstrap_intervals(labels, scores)
    assert first["auc"]["value"] == pytest.approx(roc_auc_score(labels, scores))
    assert first["average_precision"]["value"] == pytest.approx(average_precision_score(labels, scores))
    assert first["log_loss"]["value"] == pytest.approx(log_loss(labels, scores))
    assert first["auc"]["low"] < first["auc"]["value"] < first["auc"]["high"]


def test_reliability_bins_count_every_row_once():
    scores = np.array([0.0, 0.05, 0.15, 0.95, 1.0])
    table = reliability(np.array([0, 0, 1, 1, 1]), scores)
    assert [b["rows"] for b in table] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert table[9]["positive_rate"] == 1.0 and table[2]["mean_score"] is None


def test_a_single_class_slice_is_flagged_not_hidden():
    import pyarrow as pa

    column = pa.chunked_array([pa.array(["gold"] * 5 + ["silver"] * 200)])
    labels = np.array([1] * 5 + [0, 1] * 100)
    found = {s["value"]: s for s in slice_metrics(column, labels, np.linspace(0.1, 0.9, 205))}
    assert found["gold"]["small"] is True and found["gold"]["auc"] is None and found["gold"]["rows"] == 5
    assert found["silver"]["small"] is False and found["silver"]["auc"] is not None
