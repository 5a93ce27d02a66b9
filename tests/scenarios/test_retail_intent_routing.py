"""The retail project wires churn into intent: the churn model publishes its scores, a view reads them, and
intent's first escalation rule reads that view and the high_value tag; churn itself trains on what it did."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from zhongtai.capabilities.text_runtime import _compile
from zhongtai.scenarios.retail.project import write_project
from zhongtai.scenarios.retail.service_intent import AT_RISK_RULE, CHURN_SCORES, VIP_QUEUE, intent_capability
from zhongtai.spec.models import CapabilitySpec, ModelSpec, published_dataset

pytestmark = pytest.mark.unit


def _documents(tmp_path: Path) -> dict[str, dict]:
    write_project(tmp_path, "sqlite:///crm.db", "sqlite:///erp.db", "# test")
    return {path.name: yaml.safe_load(path.read_text()) for path in tmp_path.glob("*.yaml")}


def test_churn_publishes_its_scores_and_a_view_reads_them_while_it_trains_on_its_own_views(tmp_path):
    documents = _documents(tmp_path)
    churn = ModelSpec.model_validate(
        next(m for m in documents["models.yaml"]["models"] if m["name"] == "churn")
    )
    assert churn.outputs == CHURN_SCORES
    assert CHURN_SCORES not in churn.feature_views  # its answers are what they were
    assert list(published_dataset(churn)) == [CHURN_SCORES]
    assert published_dataset(churn)[CHURN_SCORES]["model"] == "churn"
    (view,) = [v for v in documents["features.yaml"]["feature_views"] if v["name"] == CHURN_SCORES]
    assert f"FROM {CHURN_SCORES}" in view["sql"] and {f["name"] for f in view["features"]} >= {"churn_score"}


def test_the_first_intent_rule_sends_an_angry_high_value_customer_at_risk_to_the_vip_queue():
    spec = CapabilitySpec.model_validate(intent_capability())
    assert spec.routing is not None and CHURN_SCORES in spec.routing.feature_views
    first = spec.routing.escalate[0]
    assert (first.name, first.queue) == (AT_RISK_RULE, VIP_QUEUE)
    rule = _compile(first.when, ("customer_orders", CHURN_SCORES, "tags_person"), "rule", ["high_value"])
    complaint = {"intent": "complaint", "confidence": 0.9}
    at_risk, tagged = {"churn_score": 0.45}, {"high_value": True}
    assert rule([None, at_risk, tagged], complaint) is True
    assert rule([None, {"churn_score": 0.2}, tagged], complaint) is not True
    assert rule([None, at_risk, None], complaint) is not True
    assert rule([None, at_risk, tagged], {"intent": "order_status", "confidence": 0.9}) is not True


def test_a_binary_model_alone_may_name_outputs():
    base = {"name": "m", "entity": "e", "label": {"sql": "SELECT 1"}, "outputs": "scores"}
    with pytest.raises(ValueError, match="outputs: only a binary_classification model publishes its scores"):
        ModelSpec.model_validate({**base, "task": "regression", "feature_views": ["v"]})
    with pytest.raises(ValueError, match=r"a forecast names its dataset in forecast.outputs"):
        ModelSpec.model_validate({**base, "task": "forecast"})
