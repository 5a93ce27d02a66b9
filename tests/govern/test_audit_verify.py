"""`verify` catches every way of tampering with the audit log and names the record: edit (any column, with
or without recomputing its hash), delete, insert, reorder, renumber, truncate, rewrite; and logged
decisions edited, deleted or written around the log."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli.app import app
from zhongtai.govern.audit import COLUMNS, AuditRecord
from zhongtai.govern.audit_verify import VerifyReport, verify
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now

pytestmark = pytest.mark.integration
RECORDS = 8


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    """A SQLite store whose log holds RECORDS key records, its head exported beside it."""
    opened = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    for n in range(RECORDS):
        opened.access.create_key(f"key{n}", ["caller"])
    yield opened
    opened.close()


def _verify(store: MetadataStore) -> VerifyReport:
    return verify(store, store.audit_head.path)


def _problems(report: VerifyReport) -> list[tuple[int, str]]:
    return sorted((f.seq, f.problem) for f in report.findings)


def _sql(store: MetadataStore, *statements: str) -> None:
    with store.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def _get(store: MetadataStore, seq: int) -> AuditRecord:
    (found,) = store.audit.between(seq, seq)
    return found


def _put(store: MetadataStore, old_seq: int, new: AuditRecord, rehash: bool = True) -> None:
    """Replace record `old_seq` by `new`, its hash recomputed as a forger would."""
    if rehash:
        new = dataclasses.replace(new, hash=new.content_hash())
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = :s"), {"s": old_seq})
        columns = ", ".join(COLUMNS)
        values = ", ".join(f":{c}" for c in COLUMNS)
        conn.execute(sa.text(f"INSERT INTO audit_log ({columns}) VALUES ({values})"), new.__dict__)


def test_an_intact_log_verifies(store):
    report = _verify(store)
    assert report.ok, report.summary()
    assert report.summary() == f"audit log verified: {RECORDS} records, 0 decisions; head at record 8 matches"


def test_an_empty_store_verifies(tmp_path):
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    try:
        report = _verify(store)
        assert report.ok and report.records == 0 and report.notes == []
    finally:
        store.close()


def test_the_acceptance_edit_second_text_column_of_the_third_row(store):
    """What the acceptance script does: first 'audit' table, second text column, 'x' appended in row 3."""
    database = store.url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        (table,) = next(
            r for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") if "audit" in r[0]
        )
        text_types = ("TEXT", "CHAR", "CLOB", "JSON")
        columns = [
            r[1]
            for r in conn.execute(f"PRAGMA table_info({table})")
            if any(t in r[2].upper() for t in text_types)
        ]
        column = columns[1]
        conn.execute(
            f"UPDATE {table} SET {column} = {column} || 'x' "
            f"WHERE rowid = (SELECT rowid FROM {table} LIMIT 1 OFFSET 2)"
        )
    report = _verify(store)
    assert _problems(report) == [(3, "edited")]
    assert report.summary().startswith(
        "audit log FAILED verification (1 problem): record 3 (key_createx) edited"
    )


@pytest.mark.parametrize("column", [c for c in COLUMNS if c != "seq"])
def test_an_edit_of_any_column_names_the_record(store, column):
    _sql(store, f"UPDATE audit_log SET {column} = {column} || 'x' WHERE seq = 3")
    assert _problems(_verify(store)) == [(3, "edited")]


def test_an_edit_with_its_hash_recomputed_is_caught_by_the_next_link(store):
    record = _get(store, 3)
    _put(store, 3, dataclasses.replace(record, principal="mallory"))
    report = _verify(store)
    assert _problems(report) == [(3, "edited")]
    assert "its hash was recomputed after a change: record 4 names a different record 3" in report.summary()


def test_a_deleted_record_is_named(store):
    _sql(store, "DELETE FROM audit_log WHERE seq = 4")
    report = _verify(store)
    assert _problems(report) == [(4, "deleted")]
    assert (
        "record 4 deleted: it is missing: record 5 (key_create) was written after record 3"
        in report.summary()
    )


def test_the_first_record_deleted_is_named(store):
    _sql(store, "DELETE FROM audit_log WHERE seq = 1")
    assert _problems(_verify(store)) == [(1, "deleted")]


def test_a_deletion_hidden_by_renumbering_is_named(store):
    _sql(
        store,
        "DELETE FROM audit_log WHERE seq = 4",
        *(f"UPDATE audit_log SET seq = {n - 1} WHERE seq = {n}" for n in range(5, RECORDS + 1)),
    )
    report = _verify(store)
    assert _problems(report) == [(4, "deleted"), (4, "renumbered")]
    renumbered = next(f for f in report.findings if f.problem == "renumbered")
    assert renumbered.detail.startswith("records 4–7 were written as 5–8")


def test_an_insertion_with_the_later_records_renumbered_is_named(store):
    third = _get(store, 3)
    for n in range(RECORDS, 3, -1):
        _sql(store, f"UPDATE audit_log SET seq = {n + 1} WHERE seq = {n}")
    forged = dataclasses.replace(third, seq=4, principal="mallory", prev_hash=third.hash)
    _put(store, 4, forged)
    report = _verify(store)
    assert _problems(report) == [(4, "inserted"), (5, "renumbered")]
    assert (
        "record 4 (key_create) inserted: it names record 3 as its predecessor, as record 5 does"
        in report.summary()
    )


def test_a_record_added_at_the_end_without_the_chain_is_named(store):
    last = _get(store, RECORDS)
    _put(store, 0, dataclasses.replace(last, seq=RECORDS + 1, prev_hash="f" * 64))
    report = _verify(store)
    assert _problems(report) == [(RECORDS + 1, "inserted")]


def test_swapped_records_are_named_as_reordered(store):
    _sql(
        store,
        "UPDATE audit_log SET seq = -1 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = -1",
    )
    report = _verify(store)
    assert _problems(report) == [(3, "reordered"), (4, "reordered")]
    assert (
        "record 3 (key_create) reordered: it is out of order: it was written as record 4" in report.summary()
    )


def test_a_truncated_tail_is_caught_by_the_exported_head(store):
    _sql(store, f"DELETE FROM audit_log WHERE seq > {RECORDS - 2}")
    report = _verify(store)
    assert _problems(report) == [(RECORDS, "truncated")]
    assert (
        f"the log ends at record {RECORDS - 2}, but record {RECORDS} was exported as its head"
        in report.summary()
    )


def test_a_log_rewritten_with_every_hash_recomputed_is_caught_by_the_head(store):
    previous = _get(store, 2).hash
    for seq in range(3, RECORDS + 1):
        record = _get(store, seq)
        forged = dataclasses.replace(
            record, principal="mallory" if seq == 3 else record.principal, prev_hash=previous
        )
        forged = dataclasses.replace(forged, hash=forged.content_hash())
        _put(store, seq, forged, rehash=False)
        previous = forged.hash
    assert _problems(_verify(store)) == [(RECORDS, "rewritten")]


def test_a_damaged_head_fails_and_a_missing_one_is_a_note(store):
    path = store.audit_head.path
    path.write_text("{}")
    assert _problems(_verify(store)) == [(0, "head_damaged")]
    path.unlink()
    report = _verify(store)
    assert report.ok and report.notes == [
        f"no exported head found at {path}: a truncated tail cannot be detected"
    ]


def _decisions(store: MetadataStore, count: int) -> list[DecisionRecord]:
    batch = [
        DecisionRecord(
            id=str(uuid.uuid4()),
            at=now(),
            capability="churn-risk",
            principal="crm",
            model_name="churn",
            model_version=2,
            decision="retain",
            score=0.5 + n / 100,
            fallback=False,
            inputs={"customer_id": n},
            features={"spend_90d": 1.5 * n},
            latency_ms=2.0,
        )
        for n in range(count)
    ]
    store.decisions.append(batch)
    return batch


def test_logged_decisions_edited_deleted_or_written_around_the_log_are_caught(store):
    batch = _decisions(store, 3)
    assert _verify(store).decisions == 3
    _sql(store, f"UPDATE decisions SET score = 0.99 WHERE id = '{batch[0].id}'")
    _sql(store, f"DELETE FROM decisions WHERE id = '{batch[1].id}'")
    with store.engine.begin() as conn:  # a decision written straight into the table, with no batch record
        conn.execute(
            sa.text(
                "INSERT INTO decisions (id, at, capability, principal, decision, fallback, inputs, features, "
                "latency_ms) VALUES (:id, :at, 'churn-risk', 'crm', 'retain', 0, '{}', '{}', 1.0)"
            ),
            {"id": "forged-decision", "at": now().replace(tzinfo=None).isoformat(sep=" ")},
        )
    report = _verify(store)
    assert _problems(report) == [(0, "decision_inserted"), (9, "decision_deleted"), (9, "decision_edited")]
    details = {f.problem: f.detail for f in report.findings}
    assert details["decision_edited"] == (
        f"decision {batch[0].id} it lists no longer matches its digest (the row was edited)"
    )
    assert batch[1].id in details["decision_deleted"] and "forged-decision" in details["decision_inserted"]


def test_decision_digests_hold_on_postgresql(pg_url, tmp_path):
    store = MetadataStore(pg_url, home=tmp_path)
    try:
        store.access.create_key("a", ["caller"])
        store.access.create_key("b", ["caller"])
        batch = _decisions(store, 2)
        assert _verify(store).ok
        _sql(store, f"UPDATE decisions SET inputs = '{{\"customer_id\": 7}}' WHERE id = '{batch[1].id}'")
        _sql(store, "UPDATE audit_log SET rule = 'admin' WHERE seq = 2")
        assert _problems(_verify(store)) == [(2, "edited"), (3, "decision_edited")]
    finally:
        store.close()


def test_verify_command_exits_1_with_the_reason_last(zt_env, monkeypatch):
    runner = CliRunner()
    context.reset()
    try:
        for name in ("a", "b", "c"):
            assert runner.invoke(app, ["keys", "create", "--name", name]).exit_code == 0
        passed = runner.invoke(app, ["audit", "verify"])
        assert passed.exit_code == 0, passed.output
        assert (
            passed.output.strip().splitlines()[-1]
            == "audit log verified: 3 records, 0 decisions; head at record 3 matches"
        )
        _sql(context.store(), "UPDATE audit_log SET object = 'key z' WHERE seq = 2")
        failed = runner.invoke(app, ["audit", "verify"])
        assert failed.exit_code == 1
        assert (
            failed.output.strip()
            .splitlines()[-1]
            .startswith("audit log FAILED verification (1 problem): record 2 (key_create) edited")
        )
        as_json = runner.invoke(app, ["audit", "verify", "--json"])
        assert json.loads(as_json.stdout)["findings"][0]["seq"] == 2
        logged = runner.invoke(app, ["audit", "log", "--kind", "key_create", "--object", "key c", "--json"])
        assert [r["seq"] for r in json.loads(logged.stdout)] == [3]
        out = Path(zt_env["ZT_HOME"]) / "export" / "audit.jsonl"
        assert runner.invoke(app, ["audit", "export", "--out", str(out), "--after", "1"]).exit_code == 0
        events = [json.loads(line) for line in out.read_text().splitlines()]
        assert [(e["event"]["sequence"], e["event"]["action"], e["user"]["name"]) for e in events] == [
            (2, "key_create", "local-admin"),
            (3, "key_create", "local-admin"),
        ]
    finally:
        context.reset()
