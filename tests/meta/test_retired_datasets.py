"""Removing a dataset from the project retires it: its history stays until a purge, and returns with it."""

from __future__ import annotations

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import Change, ColumnInfo, NewVersion

pytestmark = pytest.mark.integration

SOURCE = {"name": "crm", "type": "sql", "url": "sqlite:///x.db", "description": "CRM"}
DATASET = {"name": "customers", "source": "crm", "table": "customers"}


def _version(rows: int) -> NewVersion:
    return NewVersion(
        mode="full",
        rows=rows,
        rows_added=rows,
        rows_updated=0,
        rows_removed=0,
        bytes=10,
        files=[f"customers/run{rows}/part-0.parquet"],
        schema=[ColumnInfo("id", "int64")],
        watermark=None,
        fingerprint="f",
        schema_changes=[],
    )


def _declare(store) -> None:
    store.apply(
        [Change("sources", "create", "crm", SOURCE), Change("datasets", "create", "customers", DATASET)], "t"
    )


def _two_versions(store) -> None:
    store.commit_version("customers", _version(5), None, store.start_run("customers"))
    store.commit_version("customers", _version(7), 1, store.start_run("customers"))


def _remove_all(store) -> None:
    store.apply(
        [Change("datasets", "delete", "customers", None), Change("sources", "delete", "crm", None)], "t"
    )


def test_a_removed_dataset_keeps_its_versions_and_comes_back_with_them(store):
    _declare(store)
    _two_versions(store)
    _remove_all(store)

    assert store.registered("datasets") == {}
    assert store.list_datasets() == []
    with pytest.raises(ZhongtaiError, match="dataset 'customers' is not registered") as caught:
        store.versions("customers")
    assert "retired" in (caught.value.hint or "")
    [retired] = store.retired.list()
    assert (retired.name, retired.versions, retired.current_version) == ("customers", 2, 2)

    _declare(store)
    assert [v.rows for v in store.versions("customers")] == [5, 7]
    summary = store.list_datasets()[0]
    assert (summary.name, summary.source, summary.version, summary.rows) == ("customers", "crm", 2, 7)
    assert [f.name for f in store.fields("customers")] == ["id"]
    assert len(store.runs("customers")) == 2
    assert store.retired.list() == []
    assert store.commit_version("customers", _version(9), 2, store.start_run("customers")) == 3


def test_purge_removes_a_retired_dataset_for_good(store):
    _declare(store)
    _two_versions(store)
    _remove_all(store)

    purged = store.retired.purge("customers", "t")
    assert (purged.versions, purged.ingest_runs) == (2, 2)
    assert store.retired.list() == []
    assert store.runs("customers") == []
    assert store.changes()[0]["action"] == "purge"

    _declare(store)
    assert store.versions("customers") == []
    assert store.current_version("customers") is None


def test_purge_refuses_a_declared_dataset_and_an_unknown_name(store):
    _declare(store)
    _two_versions(store)
    with pytest.raises(ZhongtaiError, match="dataset 'customers' is declared in the project; only a retired"):
        store.retired.purge("customers", "t")
    assert len(store.versions("customers")) == 2
    with pytest.raises(ZhongtaiError, match="dataset 'nope' is not registered"):
        store.retired.purge("nope", "t")
