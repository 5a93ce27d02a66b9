"""OneID runs in the metadata store: publishing versions the produced datasets and moves the pointer at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import Change, ColumnInfo, NewIdentityRun, NewVersion

pytestmark = pytest.mark.integration

GOLDEN = {"name": "person_golden", "identity": "person", "fields": [{"name": "phone", "pii": "phone"}]}


def _run(run_id: str, next_id: int = 10) -> NewIdentityRun:
    return NewIdentityRun(
        id=run_id, identity="person", location=f"/lake/_oneid/person/{run_id}", inputs={"crm": 1},
        stats={"records": 5}, records=5, persons=3, merges=1, splits=0, next_id=next_id,
    )  # fmt: skip


def _version() -> NewVersion:
    return NewVersion(
        mode="full", rows=3, rows_added=3, rows_updated=0, rows_removed=0, bytes=1, files=["g.parquet"],
        schema=[ColumnInfo("person_id", "string"), ColumnInfo("phone", "string")], watermark=None,
        fingerprint="f", schema_changes=[],
    )  # fmt: skip


def test_publish_versions_outputs_and_moves_the_pointer(store):
    store.apply([Change("datasets", "create", "person_golden", GOLDEN)], "t")
    assert store.identities.current("person") is None
    first = store.identities.publish(_run("r1"), {"person_golden": _version()}, None)
    assert first.current and store.identities.current("person").id == "r1"
    assert store.current_version("person_golden").version == 1
    assert [(f.name, f.pii) for f in store.fields("person_golden")] == [
        ("person_id", None),
        ("phone", "phone"),
    ]
    store.identities.publish(_run("r2", 12), {"person_golden": _version()}, "r1")
    assert [(r.id, r.current) for r in store.identities.runs("person")] == [("r1", False), ("r2", True)]
    assert store.identities.current("person").next_id == 12
    assert store.current_version("person_golden").version == 2
    summary = {s.name: s for s in store.list_datasets()}["person_golden"]
    assert (summary.source, summary.version) == ("identity:person", 2)


def test_a_run_started_from_an_older_run_loses(store):
    store.apply([Change("datasets", "create", "person_golden", GOLDEN)], "t")
    store.identities.publish(_run("r1"), {"person_golden": _version()}, None)
    store.identities.publish(_run("r2"), {"person_golden": _version()}, "r1")
    with pytest.raises(ZhongtaiError, match="moved to run r2 while this run resolved"):
        store.identities.publish(_run("r3"), {"person_golden": _version()}, "r1")
    # all or nothing: no run row, no version, the pointer where it was
    assert store.identities.current("person").id == "r2"
    assert store.current_version("person_golden").version == 2
    assert [r.id for r in store.identities.runs("person")] == ["r1", "r2"]


def test_failure_while_publishing_leaves_the_previous_run_current(store):
    store.apply([Change("datasets", "create", "person_golden", GOLDEN)], "t")
    store.identities.publish(_run("r1"), {"person_golden": _version()}, None)
    with pytest.raises(ZhongtaiError, match="dataset 'person_crosswalk' is not registered"):
        store.identities.publish(
            _run("r2"), {"person_golden": _version(), "person_crosswalk": _version()}, "r1"
        )
    assert store.identities.current("person").id == "r1"
    assert store.current_version("person_golden").version == 1


def test_migrating_sqlite_past_0007_keeps_every_dataset_version(tmp_path):
    """0007 rebuilds `datasets` on SQLite; the versions and fields that refer to it must survive."""
    from alembic import command

    from zhongtai.meta import db
    from zhongtai.meta.store import MetadataStore

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.create_engine(url)
    command.upgrade(db.alembic_config(engine), "0005")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sources (id, name, spec, description, created_at, updated_at, type) "
                "VALUES (1, 'crm', '{}', '', '2026-01-01', '2026-01-01', 'sql')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO datasets (id, name, spec, description, created_at, updated_at, source_id, current_version) "
                "VALUES (1, 'customers', '{}', '', '2026-01-01', '2026-01-01', 1, 1)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO dataset_versions (dataset_id, version, created_at, mode, rows, rows_added, rows_updated, "
                "rows_removed, bytes, files, schema, fingerprint, schema_changes) "
                "VALUES (1, 1, '2026-01-01', 'full', 5, 5, 0, 0, 1, '[]', '[]', 'f', '[]')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO fields (dataset_id, name, position, type, nullable, description, first_version) "
                "VALUES (1, 'id', 0, 'int64', 1, '', 1)"
            )
        )
    engine.dispose()
    store = MetadataStore(url)
    try:
        assert db.current_revision(store.engine) == db.head_revision()
        assert store.current_version("customers").rows == 5
        assert [f.name for f in store.fields("customers")] == ["id"]
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.close()
