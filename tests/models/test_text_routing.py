"""Another model's published outputs and the person's tags feed a text capability's routing: the ticket desk
gains a binary `churn` model that publishes its scores (`outputs: churn_scores`), a feature view over them
and a `high_value` tag; the intent capability's first rule sends a complaint from a high-value customer at
risk of leaving to the VIP queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.models.text_world import Desk, make_desk
from zhongtai.capabilities.runtime import build_runtime
from zhongtai.capabilities.text_runtime import TextRuntime, _compile
from zhongtai.catalog.lineage import LineageGraph
from zhongtai.errors import ZhongtaiError
from zhongtai.features.materialize import materialize
from zhongtai.features.offline import build_view
from zhongtai.features.online.base import OnlineStore, open_online_store
from zhongtai.lake.reader import read_table
from zhongtai.models.outputs import publish_outputs
from zhongtai.models.train import train_model
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project
from zhongtai.tags.build import build_tag
from zhongtai.tags.online import materialize_tags

pytestmark = pytest.mark.integration
COMPLAINT = "你们的服务太差了，打了三次电话都没人处理，我要投诉！"
# Customers 1-20 spend 8,000 in 90 days (text_world.profiles): the churn model learns they are the ones
# labelled as leaving, and only 1-10 carry the high_value tag.
CHURN = {
    "name": "churn",
    "task": "binary_classification",
    "entity": "customer",
    "label": {
        "sql": "SELECT customer_id, since + to_days(CAST(m * 30 AS INTEGER)) AS ts, "
        "CASE WHEN spend_90d >= 5000 THEN 1 ELSE 0 END AS label FROM profiles, range(3) t(m)"
    },
    "feature_views": ["profile"],
    "params": {"min_data_in_leaf": 2, "num_boost_round": 20},
    "outputs": "churn_scores",
}
SCORES_VIEW = {
    "name": "churn_scores",
    "entity": "customer",
    "ttl": "30d",
    "sql": "SELECT customer_id, scored_at AS ts, score AS churn_score FROM churn_scores",
    "features": [{"name": "churn_score", "type": "float64"}],
}
TAG = {
    "name": "high_value",
    "entity": "customer",
    "sql": "SELECT customer_id FROM profiles WHERE customer_id <= 10",
}
RULE = {
    "name": "angry_high_value_at_risk",
    "when": "intent = 'complaint' AND churn_scores.churn_score > 0.6 AND tags.high_value",
    "queue": "vip",
}


def _add_churn_and_tag(tmp_path: Path, desk: Desk) -> None:
    """Declare the churn model, its scores view and the tag beside the desk's specs, and the rule first."""
    project = tmp_path / "project"
    desk_specs = yaml.safe_load((project / "desk.yaml").read_text())
    routing = desk_specs["capabilities"][0]["routing"]
    routing["feature_views"] = ["churn_scores"]
    routing["escalate"] = [RULE, *routing["escalate"]]
    desk_specs["models"].append(CHURN)
    desk_specs["feature_views"].append(SCORES_VIEW)
    desk_specs["tags"] = [TAG]
    (project / "desk.yaml").write_text(yaml.safe_dump(desk_specs, allow_unicode=True))
    apply_plan(build_plan(load_project(project), desk.store), desk.store)


@pytest.fixture(scope="module")
def routed(tmp_path_factory) -> Iterator[tuple[Desk, OnlineStore, TextRuntime]]:
    tmp_path = tmp_path_factory.mktemp("text_routing")
    desk = make_desk(tmp_path)
    _add_churn_and_tag(tmp_path, desk)
    online = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
    try:
        materialize(desk.store, desk.lake, online, "profile")
        for model in ("churn", "intent"):
            version = train_model(desk.store, desk.lake, model)
            desk.store.models.set_alias(model, version.version, "champion")
        publish_outputs(desk.store, desk.lake, "churn")
        build_view(desk.store, desk.lake, "churn_scores")
        materialize(desk.store, desk.lake, online, "churn_scores")
        build_tag(desk.store, desk.lake, "high_value")
        materialize_tags(desk.store, desk.lake, online, "customer")
        runtime = build_runtime("intent", desk.store, desk.lake, online)
        assert isinstance(runtime, TextRuntime)
        yield desk, online, runtime
    finally:
        online.close()
        desk.store.close()


def test_published_scores_are_every_customers_score_with_its_version(routed):
    desk, _, _ = routed
    rows = read_table(desk.store, desk.lake, "churn_scores").to_pylist()
    assert len(rows) == 60 and {row["model"] for row in rows} == {"churn"}
    by_customer = {row["customer_id"]: row["score"] for row in rows}
    assert min(by_customer[c] for c in range(1, 21)) > 0.6 > max(by_customer[c] for c in range(21, 61))


def test_a_complaint_from_a_high_value_customer_at_risk_goes_to_the_vip_queue(routed):
    _, _, runtime = routed
    answer = runtime.decide({"customer_id": 3, "text": COMPLAINT}).to_dict()
    assert (answer["intent"], answer["route"], answer["queue"], answer["escalation"]) == (
        "complaint",
        "human_review",
        "vip",
        "angry_high_value_at_risk",
    )


def test_at_risk_without_the_tag_falls_to_the_next_rule_and_the_rest_to_their_queue(routed):
    _, _, runtime = routed
    untagged = runtime.decide({"customer_id": 15, "text": COMPLAINT}).to_dict()
    assert (untagged["queue"], untagged["escalation"]) == ("vip_care", "angry_high_value")
    ordinary = runtime.decide({"customer_id": 45, "text": COMPLAINT}).to_dict()
    assert (ordinary["route"], ordinary["queue"], ordinary["escalation"]) == ("auto", "care", None)


def test_lineage_runs_from_the_churn_model_through_its_scores_and_the_tag_to_intent(routed):
    desk, _, _ = routed
    graph = LineageGraph.from_store(desk.store)
    up = {
        (edge["from"]["name"], edge["to"]["name"], edge["relation"])
        for edge in graph.describe("capability:intent")["upstream"]
    }
    assert {
        ("churn_scores", "intent", "reads"),
        ("high_value", "intent", "reads"),
        ("churn", "churn_scores", "produces"),
        ("profiles", "churn", "labels"),
    } <= up


def test_a_rule_naming_an_unknown_tag_is_refused_at_build():
    where = "capabilities.intent.routing.escalate[0].when"
    views = ("profile", "tags_customer")
    with pytest.raises(ZhongtaiError, match=r"escalate\[0\].when: no tag 'big_spender' is registered"):
        _compile("intent = 'complaint' AND tags.big_spender", views, where, ["high_value"])
    rule = _compile("intent = 'complaint' AND tags.high_value", views, where, ["high_value"])
    answer = {"intent": "complaint", "confidence": 0.9}
    assert rule([None, {"high_value": True}], answer) is True
    assert rule([None, None], answer) is not True
