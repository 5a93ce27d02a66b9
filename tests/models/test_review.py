"""The review of model versions: the transition table, four eyes, races, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import ModelStatus
from zhongtai.meta.store import MetadataStore
from zhongtai.models import registry
from zhongtai.models.policy import ModelAction, Target, authorize
from zhongtai.models.review import TRANSITIONS, review, reviews

pytestmark = pytest.mark.integration


def register_versions(store: MetadataStore, count: int, model: str = "churn") -> list[int]:
    """Versions with a placeholder artifact: review never opens the artifact."""
    return [
        store.models.register(
            model, f"lake/_models/{model}/{n}/model.txt", "lightgbm-text", [], {}, {}, None, "t"
        ).version
        for n in range(count)
    ]


def test_submit_then_approve_by_another_principal(store):
    (v,) = register_versions(store, 1)
    assert review(store, "churn", v, ModelAction.SUBMIT, "alice", "ready").status == "pending_review"
    approved = review(store, "churn", v, ModelAction.APPROVE, "bob", "looks right")
    assert approved.status is ModelStatus.APPROVED
    steps = [
        (r.action, r.from_status, r.to_status, r.principal, r.comment) for r in reviews(store, "churn", v)
    ]
    assert steps == [
        ("submit", "registered", "pending_review", "alice", "ready"),
        ("approve", "pending_review", "approved", "bob", "looks right"),
    ]
    logged = [(c["actor"], c["action"], c["kind"]) for c in store.changes(limit=2)]
    assert logged == [("bob", "approve", "model_versions"), ("alice", "submit", "model_versions")]


def test_the_submitter_may_not_approve_their_own_submission(store):
    (v,) = register_versions(store, 1)
    review(store, "churn", v, ModelAction.SUBMIT, "alice")
    with pytest.raises(
        ZhongtaiError, match=r"alice submitted churn v1 and may not approve it too \(four eyes\)"
    ):
        review(store, "churn", v, ModelAction.APPROVE, "alice")
    assert store.models.get("churn", v).status is ModelStatus.PENDING_REVIEW
    assert [r.action for r in reviews(store, "churn", v)] == ["submit"]  # nothing half-written


@pytest.mark.parametrize(
    ("steps", "action", "message"),
    [
        (
            [],
            ModelAction.APPROVE,
            r"churn v1 is registered: only a version that is pending_review can be approved",
        ),
        (
            [ModelAction.SUBMIT, ModelAction.REJECT],
            ModelAction.APPROVE,
            r"churn v1 is rejected: only a version that is pending_review can be approved",
        ),
        (
            [ModelAction.ARCHIVE],
            ModelAction.APPROVE,
            r"churn v1 is archived: only a version that is pending_review can be approved",
        ),
        (
            [ModelAction.SUBMIT],
            ModelAction.SUBMIT,
            r"churn v1 is pending_review: only a version that is registered can be submitted",
        ),
        (
            [ModelAction.ARCHIVE],
            ModelAction.ARCHIVE,
            r"churn v1 is archived: only a version that is .* archived",
        ),
    ],
)
def test_steps_outside_the_table_are_refused(store, steps, action, message):
    (v,) = register_versions(store, 1)
    for step in steps:
        review(store, "churn", v, step, "carol" if step is ModelAction.REJECT else "alice")
    before = store.models.get("churn", v).status
    with pytest.raises(ZhongtaiError, match=message):
        review(store, "churn", v, action, "bob")
    assert store.models.get("churn", v).status is before


def test_every_status_but_archived_can_be_archived_and_archived_is_final():
    assert {s for (s, a) in TRANSITIONS if a is ModelAction.ARCHIVE} == set(ModelStatus) - {
        ModelStatus.ARCHIVED
    }
    assert not [a for (s, a) in TRANSITIONS if s is ModelStatus.ARCHIVED]


def test_a_principal_is_required_and_must_be_a_name(store):
    (v,) = register_versions(store, 1)
    with pytest.raises(ZhongtaiError, match=r"no principal: model review steps record who acted"):
        review(store, "churn", v, ModelAction.SUBMIT, None)
    for bad in ("x" * 129, "tab\there", " alice"):
        with pytest.raises(ZhongtaiError, match=rf"principal of {len(bad)} characters is not a name"):
            review(store, "churn", v, ModelAction.SUBMIT, bad)
    assert store.models.get("churn", v).status is ModelStatus.REGISTERED


def test_authorize_is_the_one_check(store):
    assert authorize("crm prod", ModelAction.SUBMIT, Target("churn", 1, ModelStatus.REGISTERED)) == "crm prod"
    target = Target("churn", 1, ModelStatus.PENDING_REVIEW, submitted_by="alice")
    assert authorize("bob", ModelAction.APPROVE, target) == "bob"
    assert authorize("alice", ModelAction.REJECT, target) == "alice"  # withdrawing one's own is fine
    with pytest.raises(ZhongtaiError, match=r"alice submitted churn v1 and may not approve it too"):
        authorize("alice", ModelAction.APPROVE, target)


def test_unknown_models_and_versions_are_not_found(store):
    with pytest.raises(ZhongtaiError, match=r"model 'fraud' is not registered"):
        review(store, "fraud", 1, ModelAction.SUBMIT, "alice")
    with pytest.raises(ZhongtaiError, match=r"model version 'churn v7' is not registered"):
        review(store, "churn", 7, ModelAction.SUBMIT, "alice")


def test_two_racing_approvals_do_not_both_win(store):
    (v,) = register_versions(store, 1)
    review(store, "churn", v, ModelAction.SUBMIT, "alice")
    start, outcomes = threading.Barrier(4), []

    def approve(who: str) -> None:
        start.wait()
        try:
            review(store, "churn", v, ModelAction.APPROVE, who)
            outcomes.append("won")
        except ZhongtaiError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=approve, args=(f"reviewer{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "won"]
    assert [r.action for r in reviews(store, "churn", v)] == ["submit", "approve"]


def test_the_race_loser_is_refused_by_the_store_itself(store):
    """The store's conditional update alone keeps a stale step out (the status it expected has moved)."""
    (v,) = register_versions(store, 1)
    review(store, "churn", v, ModelAction.SUBMIT, "alice")
    review(store, "churn", v, ModelAction.APPROVE, "bob")
    with pytest.raises(ZhongtaiError, match=r"churn v1 is no longer pending_review: another step moved it"):
        store.models.transition(
            "churn", v, "reject", ModelStatus.PENDING_REVIEW, ModelStatus.REJECTED, "carol", ""
        )
    assert [r.action for r in reviews(store, "churn", v)] == ["submit", "approve"]


@pytest.mark.parametrize(
    ("reference", "version", "expected"),
    [("churn", "2", ("churn", 2)), ("churn:2", None, ("churn", 2)), ("churn@2", None, ("churn", 2))],
)
def test_version_references(store, reference, version, expected):
    assert registry.version_of(store, reference, version) == expected


@pytest.mark.parametrize(
    ("reference", "version"),
    [("churn", None), ("churn:x", None), ("churn:2", "3"), (":2", None), ("churn", "0")],
)
def test_bad_version_references(store, reference, version):
    with pytest.raises(ZhongtaiError, match=r"does not name a model version"):
        registry.version_of(store, reference, version)
