"""The registry functions, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.models import aliases, registry
from zhongtai.models.policy import ModelAction
from zhongtai.models.review import review
from zhongtai.models.train import train_model

from .conftest import synthetic_table, training_set_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def table():
    return synthetic_table(rows=1500)


@pytest.fixture
def two_versions(store, storage, table):
    for _ in range(2):
        version = train_model(store, storage, "churn", training=(training_set_of(table), table))
        review(store, "churn", version.version, ModelAction.SUBMIT, "alice")
        review(store, "churn", version.version, ModelAction.APPROVE, "bob")
    return store


def test_training_twice_registers_versions_one_and_two(two_versions):
    assert [v.version for v in registry.list_versions(two_versions, "churn")] == [1, 2]
    assert registry.get_version(two_versions, "churn").version == 2


def test_alias_champion_and_resolve(two_versions):
    aliases.move(two_versions, "churn", 1, "champion", "bob")
    aliases.move(two_versions, "churn", 2, "challenger", "bob")
    assert registry.resolve(two_versions, "churn@champion").version == 1
    assert registry.resolve(two_versions, "churn").version == 1  # a bare name means the champion
    assert registry.resolve(two_versions, "churn@challenger").version == 2
    assert registry.resolve(two_versions, "churn@2").aliases == ["challenger"]
    # moving the alias leaves the old version registered, without it
    aliases.move(two_versions, "churn", 2, "champion", "bob")
    assert registry.resolve(two_versions, "churn@champion").version == 2
    assert registry.get_version(two_versions, "churn", 1).aliases == []


def test_show_carries_metrics_and_every_alias_of_the_model(two_versions):
    aliases.move(two_versions, "churn", 2, "champion", "bob")
    aliases.move(two_versions, "churn", 1, "shadow-2024", "bob")
    shown = registry.show(two_versions, "churn", 1)
    assert shown["version"] == 1 and shown["aliases"] == ["shadow-2024"]
    assert shown["model_aliases"] == {"champion": 2, "shadow-2024": 1}
    assert shown["metrics"]["validation"]["auc"] > shown["metrics"]["baseline"]["auc"]


@pytest.mark.parametrize("alias", ["Champion", "2nd", "has space", "", "x" * 64])
def test_bad_alias_names_are_refused(two_versions, alias):
    with pytest.raises(ZhongtaiError, match=r"alias .* is not valid"):
        aliases.move(two_versions, "churn", 1, alias, "bob")


def test_aliasing_a_missing_version_is_not_found(two_versions):
    with pytest.raises(ZhongtaiError, match=r"model version 'churn v9' is not registered"):
        aliases.move(two_versions, "churn", 9, "champion", "bob")


def test_an_unset_alias_says_how_to_set_it(two_versions):
    with pytest.raises(ZhongtaiError, match=r"model alias 'churn@champion' is not registered") as caught:
        registry.resolve(two_versions, "churn@champion")
    assert caught.value.hint == "set it with `zhongtai models alias churn VERSION champion`"


def test_unknown_models_are_not_found(store):
    with pytest.raises(ZhongtaiError, match=r"model 'fraud' is not registered"):
        registry.resolve(store, "fraud@champion")
    with pytest.raises(ZhongtaiError, match=r"model 'fraud' is not registered"):
        registry.list_versions(store, "fraud")


def test_a_model_never_trained_says_to_train_it(store):
    with pytest.raises(ZhongtaiError, match=r"model 'churn' has no trained versions"):
        registry.show(store, "churn")


def test_a_reference_needs_a_model_name():
    with pytest.raises(ZhongtaiError, match=r"model reference '@champion' has no model name"):
        registry.parse_reference("@champion")
