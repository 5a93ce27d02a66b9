"""Review items in the metadata store, on SQLite and PostgreSQL: made with the decisions routed to a person
(in the decision batch's transaction), paged and filtered, claimed once, resolved into feedback with their
audit record, and escalated when overdue."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.flywheel.review import Verdict, escalate_overdue, escalation_targets, resolve
from zhongtai.meta.records import Change, DecisionRecord
from zhongtai.meta.review import DEFAULT_SLA, ReviewFilter, ReviewStatus, review_queue
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now
from zhongtai.spec.models import CapabilitySpec, spec_payload

pytestmark = pytest.mark.integration


def _decision(output: dict | None, capability: str = "intent", **extra) -> DecisionRecord:
    return DecisionRecord(
        id=str(uuid.uuid4()), at=now(), capability=capability, principal="desk", model_name="intent",
        model_version=1, decision=(output or {}).get("intent", "watch"), score=0.4, fallback=False,
        inputs={"text": "x"}, features={"profile__spend_90d": 3000.0}, latency_ms=1.0, output=output, **extra,
    )  # fmt: skip


def _review(queue: str = "vip_care", capability: str = "intent") -> DecisionRecord:
    return _decision({"intent": "complaint", "route": "human_review", "queue": queue}, capability)


@pytest.fixture
def store(metadata_url):
    opened = MetadataStore(metadata_url)
    yield opened
    opened.close()


def test_one_predicate_says_which_decisions_a_person_must_see():
    assert review_queue(_review("billing")) == "billing"
    assert review_queue(_decision({"intent": "refund", "route": "auto", "queue": "refunds"})) is None
    assert review_queue(_decision(None)) is None
    node = {"node": {"route": "human_review", "deadline": "2026-12-07T09:00:00+00:00"}}
    assert review_queue(_decision(node)) == "triage"  # a process node's review outcome: the default queue
    assert review_queue(_decision({"node": {"route": "auto"}})) is None
    shadow = _decision({"intent": "complaint", "route": "human_review", "queue": "vip"}, shadow_of="x")
    assert review_queue(shadow) is None


def test_a_logged_review_decision_has_its_item_in_the_same_batch(store):
    review, auto = _review(), _decision({"intent": "refund", "route": "auto", "queue": "refunds"})
    node = _decision({"node": {"route": "human_review", "deadline": "2030-01-01T00:00:00+00:00"}})
    store.decisions.append([review, auto, node])
    item = store.review.get(review.id)
    assert item is not None and (item.status, item.queue, item.assignee) == (
        ReviewStatus.OPEN,
        "vip_care",
        None,
    )
    assert item.deadline - item.created_at == DEFAULT_SLA
    assert store.review.get(auto.id) is None
    assert store.review.get(node.id).deadline.year == 2030  # the node's own deadline
    # A batch that fails writes neither its decisions nor their items.
    again = _review()
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        store.decisions.append([again, review])
    assert store.review.get(again.id) is None and store.decisions.by_ids([again.id]) == []


def test_listing_pages_and_filters(store):
    made = [_review("vip_care") for _ in range(5)] + [_review("billing", "claims") for _ in range(2)]
    store.decisions.append(made)
    seen = []
    for offset in (0, 2, 4):
        page, total = store.review.page(ReviewFilter(capability="intent"), offset, 2)
        assert total == 5
        seen += [i.decision_id for i in page]
    assert sorted(seen) == sorted(d.id for d in made[:5])
    billing, total = store.review.page(ReviewFilter(queue="billing"))
    assert total == 2 and {i.capability for i in billing} == {"claims"}
    only, total = store.review.page(ReviewFilter(capabilities=("claims",)))
    assert total == 2 and {i.decision_id for i in only} == {d.id for d in made[5:]}
    assert store.review.page(ReviewFilter(overdue_at=now()))[1] == 0
    assert store.review.page(ReviewFilter(overdue_at=now() + DEFAULT_SLA * 2))[1] == 7
    assert store.review.capabilities() == ["claims", "intent"]


def test_claim_once_then_resolve_into_feedback_once(store):
    decision = _review()
    store.decisions.append([decision])
    item = store.review.assign(decision.id, "li", "li", "reviewers")
    assert (item.status, item.assignee) == (ReviewStatus.ASSIGNED, "li")
    assert store.review.assign(decision.id, "li", "li", "reviewers") == item  # claiming again: no change
    with pytest.raises(ZhongtaiError, match=f"review item {decision.id} is assigned to li"):
        store.review.assign(decision.id, "wang", "wang", "reviewers")
    done, new = resolve(
        store, decision.id, Verdict("correct", "refund_request", "call 13912345678"), "li", "r"
    )
    assert new and (done.status, done.verdict, done.value, done.resolved_by) == (
        ReviewStatus.DONE, "correct", "refund_request", "li",
    )  # fmt: skip
    outcomes = {f.kind: f for f in store.feedback.of_decision(decision.id)}
    assert {k: f.value for k, f in outcomes.items()} == {
        "verdict": "refund_request",
        "label": "refund_request",
    }
    assert "13912345678" not in outcomes["label"].comment  # the comment is scrubbed of PII
    # The same verdict again changes nothing; another verdict is refused.
    assert resolve(store, decision.id, Verdict("correct", "refund_request"), "wang", "r")[1] is False
    with pytest.raises(
        ZhongtaiError, match=rf"review item {decision.id} was already resolved \(correct\) by li"
    ):
        resolve(store, decision.id, Verdict("accept"), "wang", "r")
    with pytest.raises(ZhongtaiError, match="is already resolved"):
        store.review.assign(decision.id, "wang", "wang", "r", take_over=True)
    kinds = [r.kind for r in store.audit.records(object_contains=decision.id)]
    assert kinds == ["review_resolve", "review_assign"]
    assert all("13912345678" not in r.body for r in store.audit.records(object_contains=decision.id))


def test_two_reviewers_claiming_at_once_one_wins(store):
    from concurrent.futures import ThreadPoolExecutor

    decision = _review()
    store.decisions.append([decision])

    def claim(who: str) -> str:
        try:
            return store.review.assign(decision.id, who, who, "r").assignee or ""
        except ZhongtaiError as exc:
            return str(exc)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(claim, [f"r{i}" for i in range(6)]))
    [winner] = [a for a in answers if not a.startswith("review item")]
    assert answers.count(f"review item {decision.id} is assigned to {winner}") == 5
    assert store.review.get(decision.id).assignee == winner
    assert len(store.audit.records(kind="review_assign", object_contains=decision.id)) == 1
    taken = store.review.assign(decision.id, "lead", "lead", "r", take_over=True)
    assert (taken.assignee, taken.status) == ("lead", ReviewStatus.ASSIGNED)


def test_two_resolves_at_once_give_one_verdict(store):
    from concurrent.futures import ThreadPoolExecutor

    decision = _review()
    store.decisions.append([decision])

    def verdict(value: str) -> str:
        try:
            return "new" if resolve(store, decision.id, Verdict("correct", value), value, "r")[1] else "same"
        except ZhongtaiError as exc:
            return str(exc)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(verdict, ["refund", "refund", "delivery", "delivery"]))
    item = store.review.get(decision.id)
    assert answers.count("new") == 1 and answers.count("same") == 1
    assert answers.count(f"review item {decision.id} was already resolved (correct) by {item.value}") == 2
    assert {f.kind: f.value for f in store.feedback.of_decision(decision.id)} == {
        "verdict": item.value,
        "label": item.value,
    }


def test_an_accept_labels_the_answer_and_respects_earlier_feedback(store):
    first, second = _review(), _review()
    store.decisions.append([first, second])
    resolve(store, first.id, Verdict("accept"), "li", "r")
    assert {f.kind: f.value for f in store.feedback.of_decision(first.id)} == {
        "verdict": "accept",
        "label": "complaint",
    }
    store.feedback.add(second.id, "intent", "label", "refund_request", "crm")  # a label came in before
    with pytest.raises(
        ZhongtaiError, match=f"decision {second.id} already has label feedback with another value"
    ):
        resolve(store, second.id, Verdict("accept"), "li", "r")
    assert store.review.get(second.id).status == ReviewStatus.OPEN  # nothing half-written
    assert [f.kind for f in store.feedback.of_decision(second.id)] == ["label"]


@pytest.mark.parametrize(
    ("verdict", "message"),
    [
        (Verdict("maybe"), "verdict must be one of accept, correct"),
        (Verdict("correct"), "a correction needs a value of 1 to 200 characters"),
        (Verdict("correct", "x" * 201), "a correction needs a value of 1 to 200 characters"),
        (Verdict("accept", "refund"), "an accept takes no value"),
        (Verdict("accept", None, "y" * 1001), "comment holds 1001 characters"),
    ],
)
def test_a_bad_verdict_is_named(verdict, message):
    with pytest.raises(ZhongtaiError, match=message):
        verdict.checked()


def test_unknown_items_are_not_found(store):
    with pytest.raises(ZhongtaiError, match="review item nope does not exist"):
        store.review.assign("nope", "li", "li", "r")
    with pytest.raises(ZhongtaiError, match="review item nope does not exist"):
        resolve(store, "nope", Verdict("accept"), "li", "r")


def test_overdue_items_are_escalated_to_their_queues_target(store):
    vip, billing, done = _review("vip_care"), _review("billing"), _review("vip_care")
    store.decisions.append([vip, billing, done])
    store.review.assign(billing.id, "zhao", "zhao", "r")
    resolve(store, done.id, Verdict("accept"), "li", "r")
    assert escalate_overdue(store, "scheduler", "r") == []  # nothing is past its deadline yet
    later = now() + DEFAULT_SLA + timedelta(minutes=1)
    escalated = escalate_overdue(store, "scheduler", "r", escalation_targets(["vip_care=lead.li"]), later)
    by_id = {i.decision_id: i for i in escalated}
    assert set(by_id) == {vip.id, billing.id}
    assert by_id[vip.id].assignee == "lead.li" and by_id[billing.id].assignee == "zhao"
    assert {i.status for i in escalated} == {ReviewStatus.ESCALATED}
    [audit] = store.audit.records(kind="review_escalate")
    assert audit.principal == "scheduler" and vip.id in audit.body
    assert escalate_overdue(store, "scheduler", "r", {}, later) == []  # escalated once
    # An escalated item is still worked: claimed and resolved.
    assert store.review.assign(vip.id, "lead.li", "lead.li", "r").status == ReviewStatus.ESCALATED
    assert resolve(store, vip.id, Verdict("accept"), "lead.li", "r")[0].status == ReviewStatus.DONE


def test_a_capabilitys_review_spec_sets_the_sla_and_the_escalation_targets(store):
    spec = {
        "name": "claims", "model": "claims", "input": "claim_id", "fallback": {"decision": "review"},
        "review": {"sla": "30m", "escalate_to": {"billing": "billing.lead"}},
    }  # fmt: skip
    store.apply(
        [Change("capabilities", "create", "claims", spec_payload(CapabilitySpec.model_validate(spec)))], "t"
    )
    claim, other = _review("billing", "claims"), _review("billing", "intent")
    store.decisions.append([claim, other])
    assert store.review.get(claim.id).deadline - claim.at == timedelta(minutes=30)
    assert store.review.get(other.id).deadline - other.at == DEFAULT_SLA
    escalated = escalate_overdue(store, "scheduler", "r", at=now() + DEFAULT_SLA * 2)
    assert {i.decision_id: i.assignee for i in escalated} == {claim.id: "billing.lead", other.id: None}


def test_a_bad_escalation_target_is_named():
    with pytest.raises(ZhongtaiError, match="escalation target 'vip_care' is not QUEUE=ASSIGNEE"):
        escalation_targets(["vip_care"])
