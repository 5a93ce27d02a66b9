"""The audit log is appended in the transaction of every change and decision batch, as one chain even with
concurrent writers, on SQLite and PostgreSQL; its head is exported outside the database; it exports as ECS."""

from __future__ import annotations

import json
import stat
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from zhongtai.capabilities.decision_log import DecisionLog
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.audit import GENESIS, AuditEntry, AuditKind, decision_digest, key_rule, record
from zhongtai.govern.audit_ecs import ecs_event
from zhongtai.govern.audit_head import read_head
from zhongtai.govern.audit_verify import verify
from zhongtai.meta.records import Change, DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now
from zhongtai.models import aliases
from zhongtai.models.policy import ModelAction
from zhongtai.models.review import review
from zhongtai.spec.models import ModelSpec, spec_payload

pytestmark = pytest.mark.integration

MODEL = ModelSpec(
    name="churn",
    entity="customer",
    label={"sql": "SELECT customer_id, ts, churned AS label FROM churn_labels", "label": "label"},
    feature_views=["customer_activity"],
)


@pytest.fixture
def store(metadata_url: str, tmp_path: Path) -> Iterator[MetadataStore]:
    opened = MetadataStore(metadata_url, home=tmp_path / "home")
    yield opened
    opened.close()


def _decision(capability: str = "churn-risk", **inputs: object) -> DecisionRecord:
    return DecisionRecord(
        id=str(uuid.uuid4()),
        at=now(),
        capability=capability,
        principal="crm",
        model_name="churn",
        model_version=3,
        decision="retain",
        score=0.8125,
        fallback=False,
        inputs=dict(inputs),
        features={"spend_90d": 12.5, "visits_30d": 3},
        latency_ms=1.25,
        output={"band": "high"},
    )


def test_every_change_is_recorded_with_principal_rule_object_and_no_free_text(store):
    store.apply([Change("models", "create", "churn", spec_payload(MODEL))], actor="alice")
    store.access.create_key("crm", ["caller"], principal="alice")
    version = store.models.register("churn", "lake/m.txt", "lightgbm-text", [], {}, {}, None, "t").version
    review(store, "churn", version, ModelAction.SUBMIT, "alice", "call 13912345678 about it")
    review(store, "churn", version, ModelAction.APPROVE, "bob", "fine", rule="approver")
    aliases.move(store, "churn", version, "champion", "bob", "first release")
    aliases.move(store, "churn", version, "challenger", "bob")
    aliases.remove(store, "churn", "challenger", "bob")
    aliases.rollback(store, "churn", "challenger", "bob")
    store.access.revoke("crm")

    found = store.audit.records(limit=None, newest_first=False)
    assert [(r.seq, r.kind, r.principal, r.rule, r.object) for r in found] == [
        (1, "apply", "alice", "local-admin", "models/churn"),
        (2, "key_create", "alice", "local-admin", "key crm"),
        (3, "submit", "alice", "local-admin", "model churn v1"),
        (4, "approve", "bob", "approver", "model churn v1"),
        (5, "alias_move", "bob", "local-admin", "model churn@champion"),
        (6, "alias_move", "bob", "local-admin", "model churn@challenger"),
        (7, "alias_move", "bob", "local-admin", "model churn@challenger"),
        (8, "rollback", "bob", "local-admin", "model churn@challenger"),
        (9, "key_revoke", "local-admin", "local-admin", "key crm"),
    ]
    assert [r.prev_hash for r in found] == [GENESIS] + [r.hash for r in found[:-1]]
    bodies = [r.parsed_body() for r in found]
    assert bodies[0]["steps"][0]["spec_sha256"] and "spec" not in bodies[0]["steps"][0]
    assert bodies[3] == {"model": "churn", "version": 1, "from": "pending_review", "to": "approved"} | {
        "review_id": bodies[3]["review_id"]
    }
    assert bodies[7]["from_version"] is None and bodies[7]["to_version"] == 1
    text = " ".join(r.body for r in found)
    assert "13912345678" not in text and "first release" not in text  # comments and reasons stay out
    assert verify(store, store.audit_head.path).ok


def test_a_key_acting_over_http_is_recorded_with_its_roles_as_the_rule():
    assert key_rule(("reviewer", "admin")) == "role:admin+reviewer"
    assert key_rule(()) == "role:none"


def test_a_change_and_its_record_commit_together(store, monkeypatch):
    store.access.create_key("crm", ["caller"])
    with pytest.raises(ZhongtaiError, match="an API key named 'crm' already exists"):
        store.access.create_key("crm", ["caller"])
    assert store.audit.count() == 1

    def refuse(session, entry):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("zhongtai.meta.access.record", refuse)
    with pytest.raises(RuntimeError, match="audit store down"):
        store.access.create_key("erp", ["caller"])
    listed = store.access.keys()
    assert [k.name for k in listed] == ["crm"]  # no change without its record
    assert store.audit.count() == 1


def test_concurrent_writers_keep_one_chain(metadata_url, tmp_path):
    stores = [MetadataStore(metadata_url, home=tmp_path) for _ in range(2)]
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for n in range(12):
                stores[index].access.create_key(f"w{index}-{n}", ["caller"])
                stores[index].decisions.append([_decision()])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        found = stores[0].audit.records(limit=None, newest_first=False)
        assert [r.seq for r in found] == list(range(1, 49))
        assert [r.prev_hash for r in found[1:]] == [r.hash for r in found[:-1]]
        report = verify(stores[0], stores[0].audit_head.path)
        assert report.ok, report.summary()
        assert report.decisions == 24
        assert read_head(stores[0].audit_head.path).seq == 48  # the head never moved backwards
    finally:
        for s in stores:
            s.close()


def test_the_decision_writer_appends_one_record_per_batch_with_digests(store, tmp_path):
    log = DecisionLog(store.decisions, tmp_path / "spill" / "decisions.jsonl", interval_s=0.05)
    batch = [_decision(phone="13912345678", note="客户说很不满意") for _ in range(3)]
    for decision in batch:
        log.submit(decision)
    log.start()
    log.close()
    (found,) = store.audit.records(kind="decisions")
    body = found.parsed_body()
    stored = {d.id: d for d in store.decisions.by_ids([d.id for d in batch])}
    assert body["decisions"] == [[d.id, decision_digest(stored[d.id])] for d in batch]
    assert body["capabilities"] == ["churn-risk"] and body["models"] == ["churn v3"]
    assert (found.principal, found.rule, found.object) == ("crm", "api-key", "churn-risk")
    assert "13912345678" not in found.body and "不满意" not in found.body  # ids and digests only
    assert verify(store, store.audit_head.path).ok


def test_record_is_one_call_for_later_kinds(store):
    with store.transaction() as session:
        written = record(
            session,
            AuditEntry(
                AuditKind.TRAFFIC_CHANGE, "ops", "capability churn-risk", {"weights": {"3": 90}}, "ops"
            ),
        )
    assert (written.seq, written.kind, written.prev_hash) == (1, "traffic_change", GENESIS)
    assert written.content_hash() == written.hash


def test_traffic_changes_are_recorded_with_their_policies_not_their_reasons(store):
    policy = {"arms": [{"name": "a", "serves": "champion", "weight": 90}]}
    store.traffic.set("churn-risk", policy, "ops", "ticket 13912345678")
    assert store.traffic.reset("churn-risk", "ops", "done", rule="role:admin")
    split, reset = store.audit.records(kind="traffic_change", limit=None, newest_first=False)
    assert (split.principal, split.rule, split.object) == ("ops", "local-admin", "capability churn-risk")
    assert split.parsed_body() == {
        "capability": "churn-risk",
        "action": "split",
        "from": None,
        "to": policy,
        "state": None,
    }
    assert (reset.rule, reset.parsed_body()["to"]) == ("role:admin", None)
    assert "13912345678" not in split.body


def test_ecs_export_shape(store):
    version_body = {"model": "churn", "version": 4, "from": "pending_review", "to": "approved"}
    with store.transaction() as session:
        record(session, AuditEntry(AuditKind.APPROVE, "bob", "model churn v4", version_body, "approver"))
    store.decisions.append([_decision()])
    approve, decisions = (ecs_event(r) for r in store.audit.records(limit=None, newest_first=False))
    assert approve["@timestamp"].endswith("+00:00")
    assert approve["event"] | {"hash": "-"} == {
        "kind": "event",
        "category": ["configuration"],
        "type": ["change", "allowed"],
        "action": "approve",
        "outcome": "success",
        "sequence": 1,
        "hash": "-",
        "dataset": "zhongtai.audit",
        "module": "zhongtai",
        "provider": "zhongtai",
    }
    assert approve["user"] == {"name": "bob"} and approve["rule"] == {"name": "approver"}
    assert approve["zhongtai"]["model"] == {"name": "churn", "version": 4}
    assert set(approve["zhongtai"]["audit"]) == {"seq", "kind", "object", "hash", "prev_hash", "body"}
    assert approve["event"]["hash"] == approve["zhongtai"]["audit"]["hash"]
    assert decisions["event"]["category"] == ["api"] and decisions["zhongtai"]["model"] == {
        "versions": ["churn v3"]
    }
    json.dumps(decisions)  # every value is JSON


def test_head_file_is_private_and_only_moves_forward(tmp_path):
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    try:
        assert store.audit_head.path == tmp_path / "audit" / store.audit_head.path.name
        store.access.create_key("a", ["caller"])
        store.access.create_key("b", ["caller"])
        path = store.audit_head.path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert read_head(path).seq == 2
        store.audit_head(1, "stale")  # a slower writer finishing late
        assert read_head(path).seq == 2
    finally:
        store.close()


def test_head_is_posted_to_the_webhook(tmp_path):
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/audit-head"
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}", audit_webhook=url)
    try:
        store.access.create_key("a", ["caller"])
        store.audit_head.flush()
        assert received[-1]["seq"] == 1
        assert received[-1]["hash"] == store.audit.records(limit=1)[0].hash
    finally:
        store.close()
        server.shutdown()
