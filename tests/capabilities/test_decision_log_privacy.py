"""The decision log keeps no PII that callers put in a decision's inputs: every string (and phone-like
integer) is scrubbed with the recognizers before it is stored, spilled or set aside; keys and structure stay."""

from __future__ import annotations

import time
import uuid

import pytest

from zhongtai.capabilities.decision_log import DecisionLog, spill_path
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now

pytestmark = pytest.mark.integration

PHONE, ID_NUMBER, EMAIL = "13912345678", "11010519491231002X", "li.min@qq.com"


def _record() -> DecisionRecord:
    return DecisionRecord(
        id=str(uuid.uuid4()),
        at=now(),
        capability="churn-risk",
        principal="crm",
        model_name="churn",
        model_version=1,
        decision="watch",
        score=0.4,
        fallback=False,
        inputs={
            "customer_id": "C0001",
            "context": {
                "note": f"客户来电，手机 +86 139-1234-5678，身份证{ID_NUMBER}",
                "callers": [{"tel": PHONE, "mail": EMAIL}, {"tel": int(PHONE)}],
                "order_no": "SO20240101000123",
                "amount": 320.5,
            },
        },
        features={"orders_90d": 3, "last_note": f"call {PHONE}"},
        latency_ms=0.5,
    )


SCRUBBED_INPUTS = {
    "customer_id": "C0001",
    "context": {
        "note": "客户来电，手机 [phone]，身份证[id_card]",
        "callers": [{"tel": "[phone]", "mail": "[email]"}, {"tel": "[phone]"}],
        "order_no": "SO20240101000123",
        "amount": 320.5,
    },
}


@pytest.fixture
def store(metadata_url):
    opened = MetadataStore(metadata_url)
    yield opened
    opened.close()


def _no_pii(text: str) -> bool:
    return not any(v in text for v in (PHONE, "139-1234-5678", ID_NUMBER, EMAIL))


def test_stored_decisions_keep_keys_and_structure_but_no_pii(store, tmp_path) -> None:
    log = DecisionLog(store.decisions, spill_path(tmp_path)).start()
    record = _record()
    log.submit(record)
    log.close()
    (stored,) = store.decisions.recent("churn-risk")
    assert stored.inputs == SCRUBBED_INPUTS
    assert stored.features == {"orders_90d": 3, "last_note": "call [phone]"}
    assert record.inputs["context"]["callers"][0]["tel"] == PHONE  # the caller's object is not changed


def test_spilled_and_replayed_decisions_hold_no_pii(store, tmp_path) -> None:
    spill = spill_path(tmp_path)
    log = DecisionLog(store.decisions, spill, maxsize=1)  # not started: the second record spills
    log.submit(_record())
    log.submit(_record())
    log.flush_spill()
    assert log.spilled == 1 and _no_pii(spill.read_text(encoding="utf8"))
    log.start()
    deadline = time.monotonic() + 10
    while store.decisions.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    log.close()
    assert [r.inputs for r in store.decisions.recent("churn-risk")] == [SCRUBBED_INPUTS] * 2
