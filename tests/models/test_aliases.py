"""Alias moves, their history and rollback, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import Change, ModelStatus
from zhongtai.models import aliases, registry
from zhongtai.models.policy import ModelAction
from zhongtai.models.review import review
from zhongtai.spec.models import spec_payload

from .conftest import MODEL, register_model_spec
from .test_review import register_versions

pytestmark = pytest.mark.integration


def approved(store, count: int) -> list[int]:
    found = register_versions(store, count)
    for v in found:
        review(store, "churn", v, ModelAction.SUBMIT, "alice")
        review(store, "churn", v, ModelAction.APPROVE, "bob")
    return found


def test_champion_needs_an_approved_version_and_says_which_step_is_missing(store):
    (v,) = register_versions(store, 1)
    with pytest.raises(
        ZhongtaiError,
        match=r"churn v1 is registered, not approved: submit it \(`zhongtai models submit churn 1`\) "
        r"and have another principal approve it",
    ):
        aliases.move(store, "churn", v, "champion", "alice")
    review(store, "churn", v, ModelAction.SUBMIT, "alice")
    with pytest.raises(ZhongtaiError, match=r"churn v1 is pending review, not approved: it waits for review"):
        aliases.move(store, "churn", v, "champion", "alice")
    assert aliases.history(store, "churn") == []
    review(store, "churn", v, ModelAction.APPROVE, "bob")
    moved = aliases.move(store, "churn", v, "champion", "bob", "first release")
    assert (moved.from_version, moved.to_version, moved.principal, moved.reason) == (
        None,
        1,
        "bob",
        "first release",
    )
    assert registry.resolve(store, "churn@champion").version == 1


def test_non_serving_aliases_take_any_live_version(store):
    v1, v2 = register_versions(store, 2)
    review(store, "churn", v2, ModelAction.SUBMIT, "alice")
    review(store, "churn", v2, ModelAction.REJECT, "carol")
    aliases.move(store, "churn", v1, "challenger", "alice")
    aliases.move(store, "churn", v2, "shadow", "alice")
    assert registry.resolve(store, "churn@challenger").version == v1
    assert registry.resolve(store, "churn@shadow").version == v2


def test_serving_aliases_come_from_the_spec_and_from_capabilities(store):
    spec = MODEL.model_copy(update={"serving_aliases": ["champion", "canary"]})
    store.apply([Change("models", "update", "churn", spec_payload(spec))], actor="test")
    capability = {"name": "churn-shadow", "model": "churn", "alias": "shadow", "input": "customer_id"}
    store.apply([Change("capabilities", "create", "churn-shadow", capability)], actor="test")
    served = aliases.serving_aliases(store, "churn")
    assert served == {
        "champion": "champion always serves",
        "canary": "the model spec lists it in serving_aliases",
        "shadow": "capability churn-shadow serves it",
    }
    (v,) = register_versions(store, 1)
    for alias in ("canary", "shadow"):
        with pytest.raises(ZhongtaiError, match=r"churn v1 is registered, not approved") as caught:
            aliases.move(store, "churn", v, alias, "alice")
        assert f"{alias} serves ({served[alias]})" in caught.value.hint


def test_require_approval_false_lets_champion_take_a_registered_version(store):
    spec = MODEL.model_copy(update={"require_approval": False})
    store.apply([Change("models", "update", "churn", spec_payload(spec))], actor="test")
    (v,) = register_versions(store, 1)
    aliases.move(store, "churn", v, "champion", "alice")
    assert registry.resolve(store, "churn").version == v


def test_archived_versions_cannot_be_aliased_and_aliased_versions_cannot_be_archived(store):
    v1, v2 = approved(store, 2)
    aliases.move(store, "churn", v1, "champion", "bob")
    aliases.move(store, "churn", v1, "shadow", "bob")
    with pytest.raises(
        ZhongtaiError, match=r"churn v1 cannot be archived: churn@champion, churn@shadow points at it"
    ):
        review(store, "churn", v1, ModelAction.ARCHIVE, "bob")
    assert store.models.get("churn", v1).status is ModelStatus.APPROVED
    assert [r.action for r in store.models.reviews("churn", v1)] == [
        "submit",
        "approve",
    ]  # nothing half-written
    review(store, "churn", v2, ModelAction.ARCHIVE, "bob")
    with pytest.raises(ZhongtaiError, match=r"churn@challenger cannot point at v2: churn v2 is archived"):
        aliases.move(store, "churn", v2, "challenger", "bob")
    # the store refuses it too, should a caller skip the check
    with pytest.raises(ZhongtaiError, match=r"churn v2 is archived, which this alias may not point at"):
        store.models.set_alias("churn", v2, "challenger")


def test_history_records_every_move_and_rollback_is_one_step(store):
    v1, v2, v3 = approved(store, 3)
    aliases.move(store, "churn", v1, "champion", "bob", "first")
    aliases.move(store, "churn", v2, "champion", "bob", "better AUC")
    aliases.move(store, "churn", v3, "challenger", "alice")
    back = aliases.rollback(store, "churn", "champion", "carol", "v2 misbehaves")
    assert (back.from_version, back.to_version, back.action, back.principal) == (2, 1, "rollback", "carol")
    assert registry.resolve(store, "churn@champion").version == 1
    moves = [
        (m.alias, m.from_version, m.to_version, m.action, m.principal, m.reason)
        for m in aliases.history(store, "churn")
    ]
    assert moves == [
        ("champion", None, 1, "set", "bob", "first"),
        ("champion", 1, 2, "set", "bob", "better AUC"),
        ("challenger", None, 3, "set", "alice", ""),
        ("champion", 2, 1, "rollback", "carol", "v2 misbehaves"),
    ]
    assert [m.to_version for m in aliases.history(store, "churn", "challenger")] == [3]
    logged = store.changes(limit=1)[0]
    assert (logged["actor"], logged["action"], logged["kind"], logged["name"]) == (
        "carol",
        "rollback",
        "model_aliases",
        "churn",
    )


def test_remove_is_a_move_and_can_be_rolled_back(store):
    (v1,) = approved(store, 1)
    aliases.move(store, "churn", v1, "canary", "bob")
    removed = aliases.remove(store, "churn", "canary", "bob", "done")
    assert (removed.from_version, removed.to_version, removed.action) == (1, None, "remove")
    with pytest.raises(ZhongtaiError, match=r"model alias 'churn@canary' is not registered"):
        registry.resolve(store, "churn@canary")
    aliases.rollback(store, "churn", "canary", "bob")
    assert registry.resolve(store, "churn@canary").version == v1


def test_rollback_refusals(store):
    v1, v2 = approved(store, 2)
    with pytest.raises(
        ZhongtaiError, match=r"churn@champion has no history: there is nothing to roll back to"
    ):
        aliases.rollback(store, "churn", "champion", "bob")
    aliases.move(store, "churn", v1, "champion", "bob")
    with pytest.raises(ZhongtaiError, match=r"churn@champion was first set by its last move \(to v1\)"):
        aliases.rollback(store, "churn", "champion", "bob")
    aliases.move(store, "churn", v2, "champion", "bob")
    aliases.move(store, "churn", v2, "shadow", "bob")
    aliases.remove(store, "churn", "shadow", "bob")
    store.models.transition("churn", v1, "archive", ModelStatus.APPROVED, ModelStatus.ARCHIVED, "bob", "")
    with pytest.raises(ZhongtaiError, match=r"churn@champion cannot roll back to v1: churn v1 is archived"):
        aliases.rollback(store, "churn", "champion", "bob")
    assert registry.resolve(store, "churn@champion").version == v2
    with pytest.raises(ZhongtaiError, match=r"model 'fraud' is not registered"):
        aliases.rollback(store, "fraud", "champion", "bob")
    with pytest.raises(ZhongtaiError, match=r"no principal: model review steps record who acted"):
        aliases.rollback(store, "churn", "champion", None)


def test_a_stale_rollback_loses_to_a_move_made_meanwhile(store):
    v1, v2, v3 = approved(store, 3)
    aliases.move(store, "churn", v1, "champion", "bob")
    aliases.move(store, "churn", v2, "champion", "bob")
    aliases.move(store, "churn", v3, "champion", "bob")
    with pytest.raises(ZhongtaiError, match=r"churn@champion moved to v3 meanwhile"):
        store.models.move_alias(
            "churn", "champion", v1, "bob", "", action="rollback", check_from=True, expected_from=v2
        )
    with pytest.raises(ZhongtaiError, match=r"churn@champion is already v3: nothing to move"):
        aliases.move(store, "churn", v3, "champion", "bob")
    assert len(aliases.history(store, "churn")) == 3


def test_which_version_was_champion_at_a_moment(store):
    v1, v2 = approved(store, 2)
    before = datetime.now(UTC)
    aliases.move(store, "churn", v1, "champion", "bob")
    time.sleep(0.01)
    between = datetime.now(UTC)
    time.sleep(0.01)
    aliases.move(store, "churn", v2, "champion", "bob")
    aliases.move(store, "churn", v1, "challenger", "bob")
    assert aliases.aliases_at(store, "churn", before) == {}
    assert aliases.aliases_at(store, "churn", between) == {"champion": 1}
    assert aliases.aliases_at(store, "churn", datetime.now(UTC)) == {"champion": 2, "challenger": 1}
    naive = between.replace(tzinfo=None)  # a naive moment is UTC
    assert aliases.aliases_at(store, "churn", naive) == {"champion": 1}


@pytest.mark.parametrize("length", [63, 64])
def test_alias_length_boundary(store, length):
    (v,) = register_versions(store, 1)
    alias = "a" * length
    if length == 64:
        with pytest.raises(ZhongtaiError, match=r"alias 'a{64}' is not valid"):
            aliases.move(store, "churn", v, alias, "alice")
        return
    aliases.move(store, "churn", v, alias, "alice")
    assert registry.resolve(store, f"churn@{alias}").version == v
    assert aliases.history(store, "churn", alias)[0].alias == alias


def test_a_serving_alias_of_63_characters_in_the_spec(store):
    long = "c" * 63
    spec = MODEL.model_copy(update={"serving_aliases": ["champion", long]})
    register_model_spec(store, spec.model_copy(update={"name": "churn_long"}))
    assert long in aliases.serving_aliases(store, "churn_long")


def test_aliases_set_before_history_was_kept_get_one_move_each(metadata_url):
    """Migration 0009 widens the alias column and records each existing alias as its first move."""
    import sqlalchemy as sa
    from alembic import command

    from zhongtai.meta import db
    from zhongtai.meta.store import MetadataStore

    engine = db.create_engine(metadata_url)
    command.upgrade(db.alembic_config(engine), "0007")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO model_aliases (model_name, alias, version, updated_at) "
                "VALUES ('churn', 'champion', 4, '2026-11-30 08:00:00')"
            )
        )
    engine.dispose()
    store = MetadataStore(metadata_url)
    try:
        register_model_spec(store)
        (seeded,) = aliases.history(store, "churn")
        assert (seeded.alias, seeded.from_version, seeded.to_version, seeded.principal) == (
            "champion",
            None,
            4,
            "unknown",
        )
        assert aliases.aliases_at(store, "churn", datetime(2026, 12, 1)) == {"champion": 4}
        with pytest.raises(ZhongtaiError, match=r"churn@champion was first set by its last move \(to v4\)"):
            aliases.rollback(store, "churn", "champion", "bob")
    finally:
        store.close()


def test_racing_moves_leave_an_unbroken_history(store):
    """Each move's from-version is the previous move's to-version, however the moves interleave."""
    import threading
    from itertools import pairwise

    versions = approved(store, 5)
    aliases.move(store, "churn", versions[0], "champion", "bob")
    start, errors = threading.Barrier(4), []

    def point(version: int) -> None:
        start.wait()
        try:
            aliases.move(store, "churn", version, "champion", f"p{version}")
        except ZhongtaiError as exc:  # a lost race is a clear conflict, never a broken chain
            errors.append(exc.code)

    threads = [threading.Thread(target=point, args=(v,)) for v in versions[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    moves = aliases.history(store, "churn", "champion")
    assert set(errors) <= {"conflict"} and len(moves) == 1 + 4 - len(errors)
    assert all(later.from_version == earlier.to_version for earlier, later in pairwise(moves))
    assert registry.resolve(store, "churn@champion").version == moves[-1].to_version


def test_unknown_model_is_named_before_its_version(store):
    with pytest.raises(ZhongtaiError, match=r"model 'fraud' is not registered"):
        aliases.move(store, "fraud", 1, "champion", "bob")
    with pytest.raises(ZhongtaiError, match=r"model 'fraud' is not registered"):
        aliases.remove(store, "fraud", "champion", "bob")


def test_a_version_named_by_its_alias(store):
    (v,) = approved(store, 1)
    aliases.move(store, "churn", v, "champion", "bob")
    assert registry.version_of(store, "churn@champion") == ("churn", v)
    with pytest.raises(ZhongtaiError, match=r"model alias 'churn@canary' is not registered"):
        registry.version_of(store, "churn@canary")


def test_the_demo_promotes_through_review_under_two_names(store):
    from zhongtai.scenarios.retail.demo import promote

    (v,) = register_versions(store, 1)
    promote(store, "churn", v)
    assert [(r.action, r.principal) for r in store.models.reviews("churn", v)] == [
        ("submit", "demo"),
        ("approve", "demo-reviewer"),
    ]
    (moved,) = aliases.history(store, "churn", "champion")
    assert (moved.to_version, moved.principal) == (v, "demo-reviewer")
