"""Multiclass and regression capabilities served by the real runtime and batch scoring; binary answers pinned."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from tests.capabilities.tabular_world import TabularWorld, build_tabular_world
from tests.capabilities.world import KNOWN_IDS
from zhongtai.capabilities.batch import score_all
from zhongtai.capabilities.runtime import CapabilityRuntime, build_runtime
from zhongtai.models.predictor import load_predictor
from zhongtai.spec.project import SpecErrors, load_project

pytestmark = pytest.mark.integration

# A churn answer of the fixed test model (tests/capabilities/world.py), as main served it before tasks beyond
# binary existed: the same keys in the same order and the same values, to the last digit.
PINNED_CHURN = {
    "capability": "churn-risk",
    "decision": "none",
    "score": 0.19178850427087288,
    "factors": [
        {"feature": "days_since_order", "value": 15, "contribution": -1.3806037655937198},
        {"feature": "complained", "value": False, "contribution": -0.6135029469085057},
        {"feature": "customer_service__tickets_30d", "value": 0, "contribution": -0.40538801603815844},
    ],
    "model": {"name": "churn", "version": 1},
    "fallback": False,
}


def test_a_binary_answer_is_byte_identical_to_what_it_was(world):
    answer = CapabilityRuntime.build("churn-risk", world.store, world.storage, world.online).decide(
        {"customer_id": KNOWN_IDS[0]}
    )
    body = answer.to_dict()
    assert list(body) == ["decision_id", *PINNED_CHURN]
    del body["decision_id"]
    assert json.dumps(body) == json.dumps(PINNED_CHURN)


@pytest.fixture(scope="module")
def tabular(tmp_path_factory) -> Iterator[TabularWorld]:
    built = build_tabular_world(tmp_path_factory.mktemp("tabular"))
    yield built
    built.online.close()
    built.store.close()


def _row(world: TabularWorld, customer: int) -> np.ndarray:
    values = world.online.read(str(customer), ["customer_stats"])["customer_stats"]
    assert values is not None
    return np.array([[float(values[f]) for f in ("visits", "basket", "tenure")]])


def test_a_multiclass_capability_answers_its_most_probable_class(tabular):
    runtime = build_runtime("segment-of", tabular.store, tabular.storage, tabular.online)
    version = tabular.versions["segment"]
    predictor = load_predictor(tabular.storage, version.artifact, version.artifact_format)
    seen = set()
    for customer in range(1, 31):
        body = runtime.decide({"customer_id": customer}).to_dict()
        probabilities = predictor.predict(_row(tabular, customer))[0]
        best = int(np.argmax(probabilities))
        assert body["decision"] == ["bronze", "gold", "silver"][best]
        assert body["score"] == pytest.approx(probabilities[best])
        listed = body["classes"]
        assert [c["class"] for c in listed] == [
            ["bronze", "gold", "silver"][i] for i in np.argsort(-probabilities)
        ]
        assert [c["probability"] for c in listed] == pytest.approx(sorted(probabilities, reverse=True))
        assert listed[0] == {"class": body["decision"], "probability": body["score"]}
        assert len(body["factors"]) == 2 and "value" not in body
        seen.add(body["decision"])
    assert len(seen) >= 2
    unknown = runtime.decide({"customer_id": 999_999}).to_dict()
    assert (unknown["decision"], unknown["fallback"]) == ("unknown", True) and "classes" not in unknown


def test_a_regression_capability_answers_its_value_and_band(tabular):
    banded = build_runtime("spend-band", tabular.store, tabular.storage, tabular.online)
    plain = build_runtime("spend-value", tabular.store, tabular.storage, tabular.online)
    version = tabular.versions["spend"]
    predictor = load_predictor(tabular.storage, version.artifact, version.artifact_format)
    bands = set()
    for customer in range(1, 31):
        body = banded.decide({"customer_id": customer}).to_dict()
        value = body["value"]
        assert body["score"] == value
        assert body["decision"] == ("high" if value >= 300 else "medium" if value >= 100 else "unknown")
        expected, contributions = predictor.explain(_row(tabular, customer))
        assert value == pytest.approx(expected[0])  # the bias plus every feature's contribution (all 3 shown)
        assert sorted(f["contribution"] for f in body["factors"]) == pytest.approx(
            sorted(contributions[0][:-1])
        )
        bands.add(body["decision"])
        assert plain.decide({"customer_id": customer}).to_dict()["decision"] == format(value, ".6g")
    assert len(bands) >= 2


def test_batch_scoring_answers_as_decide_does(tabular):
    for capability in ("segment-of", "spend-band"):
        runtime = build_runtime(capability, tabular.store, tabular.storage, tabular.online)
        table = score_all(tabular.store, tabular.storage, capability).table
        assert table.column_names == ["customer_id", "score", "decision"] and table.num_rows == 150
        for row in table.slice(0, 10).to_pylist():
            live = runtime.decide({"customer_id": row["customer_id"]})
            assert row["decision"] == live.decision and row["score"] == pytest.approx(live.score)


BAD_CAPABILITIES = """\
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: stats
    entity: customer
    sql: SELECT customer_id, ts, visits FROM months
    features: [{name: visits}]
models:
  - {name: spend, task: regression, entity: customer, label: {sql: SELECT 1}, feature_views: [stats]}
  - {name: segment, task: multiclass_classification, entity: customer, label: {sql: SELECT 1}, feature_views: [stats]}
  - {name: churn, entity: customer, label: {sql: SELECT 1}, feature_views: [stats]}
capabilities:
  - {name: a, model: spend, input: customer_id, decisions: [{decision: x}], fallback: {decision: n}}
  - {name: b, model: segment, input: customer_id, decisions: [{decision: x}], fallback: {decision: n}}
  - name: c
    model: churn
    input: customer_id
    decisions: [{decision: x}]
    value_bands: [{decision: x, min_value: 3}]
    fallback: {decision: n}
"""


def test_bands_that_do_not_fit_the_model_are_refused_at_plan(tmp_path):
    (tmp_path / "specs.yaml").write_text(BAD_CAPABILITIES)
    with pytest.raises(SpecErrors) as caught:
        load_project(tmp_path)
    message = str(caught.value)
    assert (
        "capabilities.a.decisions: model 'spend' is regression: score bands answer binary models (value_bands)"
        in message
    )
    assert "capabilities.b.decisions: model 'segment' is multiclass_classification: score bands" in message
    assert (
        "capabilities.c.value_bands: model 'churn' is binary_classification: value bands answer regression"
        in message
    )
