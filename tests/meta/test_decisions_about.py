"""Decisions about an entity, filtered in SQL on the JSON inputs, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.store import MetadataStore

pytestmark = pytest.mark.integration


def _decision(
    capability: str, inputs: dict, minutes_ago: int, shadow_of: str | None = None
) -> DecisionRecord:
    return DecisionRecord(
        id=str(uuid.uuid4()),
        at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        capability=capability,
        principal="crm",
        model_name="m",
        model_version=1,
        decision="watch",
        score=0.5,
        fallback=False,
        inputs=inputs,
        features={},
        latency_ms=1.0,
        shadow_of=shadow_of,
    )


def test_about_matches_each_capabilitys_field_and_keys_newest_first(metadata_url):
    store = MetadataStore(metadata_url)
    try:
        person = _decision("person-churn", {"person_id": "P1"}, 1)
        older = _decision("person-churn", {"person_id": "P1"}, 5)
        by_source = _decision("churn-risk", {"customer_id": "C0"}, 3)
        shadow = _decision("person-churn", {"person_id": "P1"}, 1, shadow_of=person.id)
        others = [
            _decision("person-churn", {"person_id": "P2"}, 2),
            _decision("churn-risk", {"customer_id": "P1"}, 2),  # P1 is not a customer id there
            _decision("other", {"person_id": "P1"}, 2),  # not asked about
        ]
        store.decisions.append([person, older, by_source, shadow, *others])
        asked = {"person-churn": ("person_id", ["P1"]), "churn-risk": ("customer_id", ["C0", "C9"])}
        found = store.decisions.about(asked, limit=10)
        assert [d.id for d in found] == [person.id, by_source.id, older.id]
        assert [d.id for d in store.decisions.about(asked, limit=1)] == [person.id]
        assert store.decisions.about({"person-churn": ("person_id", [])}) == []
    finally:
        store.close()
