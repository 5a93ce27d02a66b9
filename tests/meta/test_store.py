from __future__ import annotations

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import Change, ColumnInfo, NewVersion

pytestmark = pytest.mark.integration

SOURCE = {"name": "crm", "type": "sql", "url": "sqlite:///x.db", "description": "CRM"}
DATASET = {
    "name": "customers",
    "source": "crm",
    "table": "customers",
    "fields": [{"name": "phone", "pii": "phone"}],
}


def _version(rows: int) -> NewVersion:
    return NewVersion(
        mode="full",
        rows=rows,
        rows_added=rows,
        rows_updated=0,
        rows_removed=0,
        bytes=10,
        files=["a.parquet"],
        schema=[ColumnInfo("id", "int64"), ColumnInfo("phone", "string")],
        watermark=None,
        fingerprint="f",
        schema_changes=[],
    )


def test_apply_creates_updates_and_deletes(store):
    store.apply(
        [Change("sources", "create", "crm", SOURCE), Change("datasets", "create", "customers", DATASET)], "t"
    )
    assert store.registered("sources") == {"crm": SOURCE}
    assert store.datasets_of_source("crm") == ["customers"]
    changed = {**SOURCE, "description": "CRM replica"}
    store.apply([Change("sources", "update", "crm", changed)], "t")
    assert store.registered("sources")["crm"]["description"] == "CRM replica"
    store.apply(
        [Change("sources", "delete", "crm", None), Change("datasets", "delete", "customers", None)], "t"
    )
    assert store.registered("sources") == {}
    assert [c["action"] for c in store.changes()][:2] == ["delete", "delete"]


def test_apply_is_all_or_nothing(store):
    bad = {"name": "orders", "source": "missing", "table": "orders"}
    with pytest.raises(ZhongtaiError, match="source 'missing' is not registered"):
        store.apply(
            [Change("sources", "create", "crm", SOURCE), Change("datasets", "create", "orders", bad)], "t"
        )
    assert store.registered("sources") == {}


def test_versions_fields_and_conflicts(store):
    store.apply(
        [Change("sources", "create", "crm", SOURCE), Change("datasets", "create", "customers", DATASET)], "t"
    )
    run = store.start_run("customers")
    assert store.commit_version("customers", _version(5), None, run) == 1
    assert store.current_version("customers").rows == 5
    fields = store.fields("customers")
    assert [(f.name, f.type, f.pii) for f in fields] == [("id", "int64", None), ("phone", "string", "phone")]
    assert store.runs("customers")[0].status == "succeeded"
    with pytest.raises(ZhongtaiError, match="moved to version 1 while this ingest ran"):
        store.commit_version("customers", _version(6), None, store.start_run("customers"))
    assert store.commit_version("customers", _version(7), 1, store.start_run("customers")) == 2
    assert [v.rows for v in store.versions("customers")] == [5, 7]
    summary = store.list_datasets()[0]
    assert (summary.name, summary.version, summary.rows) == ("customers", 2, 7)


def test_unknown_dataset_is_not_found(store):
    with pytest.raises(ZhongtaiError, match="dataset 'nope' is not registered"):
        store.dataset_spec("nope")
