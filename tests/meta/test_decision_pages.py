"""The decision log's keyset pages and its audit look-up, on every metadata backend: every decision exactly
once in (time, id) order, filters in the query, and the batch record that logged a decision."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.console.models_world import NEWEST, decisions
from zhongtai.govern.audit import decision_digest
from zhongtai.meta.access import DecisionFilter

pytestmark = pytest.mark.integration


def test_pages_hold_every_decision_once_newest_first(store):
    made = decisions(700)
    for start in range(0, len(made), 250):
        store.decisions.append(made[start : start + 250])
    seen, before = [], None
    while True:
        page = store.decisions.page(DecisionFilter(before=before), 64)
        seen += [(d.at, d.id) for d in page]
        if len(page) < 64:
            break
        before = (page[-1].at, page[-1].id)
    assert len(seen) == 700 and len(set(seen)) == 700 and seen == sorted(seen, reverse=True)

    where = DecisionFilter(
        capabilities=("churn-risk",), arm="champion", fallback=True, model_version=2,
        since=NEWEST - timedelta(seconds=40), until=NEWEST,
    )  # fmt: skip
    found = store.decisions.page(where, 500)
    expected = [
        d for d in made
        if d.capability == "churn-risk" and d.arm == "champion" and d.fallback and d.model_version == 2
        and NEWEST - timedelta(seconds=40) <= d.at < NEWEST
    ]  # fmt: skip
    assert found and {d.id for d in found} == {d.id for d in expected}


def test_the_audit_record_of_a_decision_names_its_digest(store):
    first, second = decisions(3), decisions(2)
    store.decisions.append(first)
    store.decisions.append(second)
    (logged,) = store.decisions.by_ids([second[1].id])
    record = store.decisions.audit_record(logged)
    assert record is not None and record.kind == "decisions"
    body = record.parsed_body()
    assert [second[1].id, decision_digest(logged)] in body["decisions"]
    assert all(d.id not in record.body for d in first)
