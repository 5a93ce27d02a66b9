from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from tests.capabilities.world import KNOWN_IDS, World, model_row, register_model, train_booster
from zhongtai.capabilities.runtime import CapabilityRuntime
from zhongtai.capabilities.serving import Capabilities
from zhongtai.errors import ZhongtaiError
from zhongtai.spec.models import CapabilitySpec

pytestmark = pytest.mark.integration


def _runtime(world: World, name: str = "churn-risk") -> CapabilityRuntime:
    return CapabilityRuntime.build(name, world.store, world.storage, world.online)


def test_decision_for_a_known_entity_is_the_models_answer_with_its_top_factors(world):
    runtime = _runtime(world)
    key = KNOWN_IDS[0]
    decision = runtime.decide({"customer_id": key, "context": {"channel": "app"}})

    row = model_row(world.rows[key])
    expected = float(world.booster.predict(row)[0])
    contributions = world.booster.predict(row, pred_contrib=True)[0]
    raw = float(world.booster.predict(row, raw_score=True)[0])
    assert decision.score == pytest.approx(expected, abs=1e-12)
    assert float(contributions.sum()) == pytest.approx(raw, abs=1e-9)
    assert math.log(decision.score / (1 - decision.score)) == pytest.approx(raw, abs=1e-9)
    assert decision.fallback is False
    assert (decision.model_name, decision.model_version) == ("churn", 1)
    assert decision.decision == runtime.decision_for(decision.score)

    top = np.argsort(-np.abs(contributions[:-1]), kind="stable")[:3]
    assert [f["feature"] for f in decision.factors] == [runtime.features[i] for i in top]
    assert [f["contribution"] for f in decision.factors] == pytest.approx(contributions[top].tolist())
    activity, service = world.rows[key]["customer_activity"], world.rows[key]["customer_service"]
    assert decision.features == {
        "orders_90d": activity["orders_90d"],
        "spend_90d": activity["spend_90d"],
        "days_since_order": activity["days_since_order"],
        "customer_service__tickets_30d": service["tickets_30d"],
        "complained": service["complained"],
    }
    for factor in decision.factors:
        assert factor["value"] == decision.features[factor["feature"]]


def test_a_view_without_values_is_missing_for_the_model_not_a_fallback(world):
    key = KNOWN_IDS[-1]  # only customer_activity has values
    decision = _runtime(world).decide({"customer_id": key})
    assert decision.fallback is False
    assert decision.features["complained"] is None
    assert np.isnan(model_row(world.rows[key])[0, 4])
    assert decision.score == pytest.approx(float(world.booster.predict(model_row(world.rows[key]))[0]))


def test_unknown_entity_gets_the_fallback_without_calling_the_model(world):
    runtime = _runtime(world)

    class NoModel:
        def contributions(self, rows):
            raise AssertionError("the model must not be called for a fallback")

    runtime._model = NoModel()  # type: ignore[assignment]
    decision = runtime.decide({"customer_id": "no-such-customer"})
    assert (decision.decision, decision.score, decision.fallback) == ("new_customer", 0.5, True)
    assert decision.factors == [] and decision.model_version is None


def test_integer_input_reads_the_same_entity(world):
    runtime = _runtime(world)
    assert runtime.decide({"customer_id": int(KNOWN_IDS[2])}).score == pytest.approx(
        runtime.decide({"customer_id": KNOWN_IDS[2]}).score
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "field 'customer_id' is required"),
        ({"customer_id": None}, "field 'customer_id' is required"),
        ({"customer_id": ""}, "field 'customer_id' is blank"),
        ({"customer_id": {"a": 1}}, "field 'customer_id' must be a string or an integer, not an object"),
    ],
)
def test_missing_input_names_the_field(world, body, message):
    with pytest.raises(ZhongtaiError, match=message):
        _runtime(world).decide(body)


def test_rules_are_tried_highest_min_score_first(world):
    runtime = _runtime(world)  # declared as watch 0.3, retain_offer 0.6, none 0.0
    assert runtime.decision_for(0.95) == "retain_offer"
    assert runtime.decision_for(0.6) == "retain_offer"
    assert runtime.decision_for(0.59) == "watch"
    assert runtime.decision_for(0.3) == "watch"
    assert runtime.decision_for(0.01) == "none"


def test_a_score_below_every_rule_gets_the_fallback_decision(world):
    built = _runtime(world)
    spec = CapabilitySpec.model_validate(
        {**built.spec.model_dump(), "decisions": [{"decision": "act", "min_score": 0.9}]}
    )
    runtime = CapabilityRuntime(
        spec,
        world.store.models.by_alias("churn", "champion"),
        built._model,
        _views(world),
        _entity(world),
        world.online,
    )
    assert runtime.decision_for(0.95) == "act"
    assert runtime.decision_for(0.5) == "new_customer"


def _views(world: World):
    from zhongtai.spec.models import FeatureViewSpec

    return [
        FeatureViewSpec.model_validate(world.store.spec("feature_views", v))
        for v in ("customer_activity", "customer_service")
    ]


def _entity(world: World):
    from zhongtai.spec.models import EntitySpec

    return EntitySpec.model_validate(world.store.spec("entities", "customer"))


def test_capabilities_load_every_runtime_and_skip_one_without_its_alias(world):
    capabilities = Capabilities.load_all(world.store, world.storage, world.online)
    assert capabilities.names() == ["churn-risk"]
    assert "churn@challenger" in capabilities.errors["churn-challenger"]
    with pytest.raises(ZhongtaiError, match="capability 'nope' is not registered"):
        capabilities.get("nope")
    with pytest.raises(ZhongtaiError, match="capability 'churn-challenger' is not registered"):
        capabilities.get("churn-challenger")


def test_reload_swaps_in_the_new_champion_beside_the_old(world):
    capabilities = Capabilities.load_all(world.store, world.storage, world.online)
    old = capabilities.get("churn-risk")
    booster = train_booster(seed=99)
    assert register_model(world.store, world.storage, booster) == 2

    new = capabilities.reload("churn-risk")
    assert capabilities.get("churn-risk") is new and new is not old
    key = KNOWN_IDS[3]
    row = model_row(world.rows[key])
    assert new.decide({"customer_id": key}).score == pytest.approx(float(booster.predict(row)[0]))
    # A request that already held the old runtime finishes on the old model.
    assert old.decide({"customer_id": key}).score == pytest.approx(float(world.booster.predict(row)[0]))
    assert new.decide({"customer_id": key}).model_version == 2


def test_a_model_feature_in_no_view_is_refused(world):
    from zhongtai.capabilities.runtime import resolve_features

    with pytest.raises(ZhongtaiError, match="model feature 'lifetime_value' is in none of the views"):
        resolve_features(["orders_90d", "lifetime_value"], _views(world))


def _called_with_source_key(world: World) -> CapabilityRuntime:
    """churn-risk as a CRM calls it: with the CRM's own key, mapped to the entity by OneID's lookup."""
    from zhongtai.models.predictor import load_predictor
    from zhongtai.spec.models import EntitySpec, FeatureViewSpec

    spec = CapabilitySpec.model_validate(world.store.spec("capabilities", "churn-risk"))
    spec = spec.model_copy(update={"input": "crm_key", "input_dataset": "crm_customers"})
    version = world.store.models.by_alias("churn", "champion")
    views = [FeatureViewSpec.model_validate(world.store.spec("feature_views", v)) for v in ("customer_activity", "customer_service")]  # fmt: skip
    entity = EntitySpec.model_validate(world.store.spec("entities", "customer"))
    model = load_predictor(world.storage, version.artifact, version.artifact_format)
    lookup = "person_crosswalk:crm_customers"
    world.online.write(
        lookup, [("C-7", {"customer_id": KNOWN_IDS[0]}), ("C-8", {"customer_id": KNOWN_IDS[0]})]
    )
    return CapabilityRuntime(spec, version, model, views, entity, world.online, lookup=lookup)


def test_a_source_key_finds_its_entity_through_the_online_lookup(world):
    runtime = _called_with_source_key(world)
    direct = _runtime(world).decide({"customer_id": KNOWN_IDS[0]})
    for crm_key in ("C-7", "C-8"):  # two CRM records of one person: one answer
        mapped = runtime.decide({"crm_key": crm_key})
        assert mapped.fallback is False and mapped.score == pytest.approx(direct.score, abs=1e-12)
    assert runtime.decide({"crm_key": "C-unknown"}).fallback is True
    with pytest.raises(ZhongtaiError, match=re.escape("field 'crm_key' needs 1 value(s) (crm_key), got 2")):
        runtime.decide({"crm_key": ["C-7", "C-8"]})


def test_decide_reads_keys_as_the_entity_declares_them(world):
    """An int64 key sent as a string with a leading zero or as a whole float finds the same entity."""
    from zhongtai.models.predictor import load_predictor
    from zhongtai.spec.models import EntitySpec

    spec = CapabilitySpec.model_validate(world.store.spec("capabilities", "churn-risk"))
    version = world.store.models.by_alias("churn", "champion")
    entity = EntitySpec(name="customer", join_keys=["customer_id"], key_types={"customer_id": "int64"})
    model = load_predictor(world.storage, version.artifact, version.artifact_format)
    runtime = CapabilityRuntime(spec, version, model, _views(world), entity, world.online)
    direct = runtime.decide({"customer_id": int(KNOWN_IDS[0])})
    assert direct.fallback is False
    for sent in (f"0{KNOWN_IDS[0]}", float(KNOWN_IDS[0])):
        assert runtime.decide({"customer_id": sent}).score == direct.score
    with pytest.raises(ZhongtaiError, match="customer_id"):
        runtime.decide({"customer_id": "12a"})


def test_decide_async_and_unexplained_answer_as_decide(world):
    import asyncio

    runtime = _runtime(world)
    for key in KNOWN_IDS[:5]:
        body = {"customer_id": key}
        decided = runtime.decide(body)
        awaited = asyncio.run(runtime.decide_async(body))
        assert awaited == dataclasses.replace(decided, decision_id=awaited.decision_id)
        unexplained = runtime.decide(body, explain=False)  # what a shadow is scored with: a plain predict
        assert (unexplained.decision, unexplained.features) == (decided.decision, decided.features)
        assert unexplained.score == pytest.approx(decided.score, abs=1e-12)
        assert unexplained.factors == [] and decided.factors
    assert asyncio.run(runtime.decide_async({"customer_id": 999_999_999})).fallback is True
    direct = runtime.decide({"customer_id": KNOWN_IDS[0]})
    source = _called_with_source_key(world)
    mapped = asyncio.run(source.decide_async({"crm_key": "C-7"}))
    assert mapped.fallback is False and mapped.score == pytest.approx(direct.score, abs=1e-12)
    assert asyncio.run(source.decide_async({"crm_key": "C-unknown"})).fallback is True
