"""Stream micro-batches appended to a dataset: one version per batch, ids already held skipped, values cast to the
dataset's types, composite ids matched against rows a file ingest brought."""

from __future__ import annotations

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine
from zhongtai.lake.append import append_events
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.unit

SPECS = """\
sources:
  - {name: shop, type: files, url: "FOLDER"}
datasets:
  - name: stock
    source: shop
    path: "stock.csv"
    format: csv
    primary_key: [date, store_id, product_id]
    fields: [{name: date, type: date}]
    stream: {name: stock, event_id: [date, store_id, product_id], timestamp: date}
"""


@pytest.fixture
def shop(tmp_path):
    (tmp_path / "stock.csv").write_text(
        "date,store_id,product_id,sold\n2026-11-30,S01,1001,3\n2026-11-30,S01,1002,1\n"
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "shop.yaml").write_text(SPECS.replace("FOLDER", str(tmp_path)))
    store = MetadataStore(f"sqlite:///{tmp_path / 'meta.db'}")
    apply_plan(build_plan(load_project(project), store), store)
    lake = LakeStorage(str(tmp_path / "lake"))
    ingest(store, lake, "stock")
    yield store, lake
    store.close()


def _rows(store: MetadataStore, lake: LakeStorage) -> list[tuple]:
    version = store.current_version("stock")
    con = engine.connect(lake)
    try:
        return engine.run(
            con,
            f"SELECT date::VARCHAR, store_id, product_id, sold FROM {engine.scan(lake, version.files)} ORDER BY ALL",
        )
    finally:
        con.close()


def test_a_batch_becomes_one_version_and_held_ids_are_skipped(shop):
    store, lake = shop
    ids = ["date", "store_id", "product_id"]
    batch = [
        {"date": "2026-11-30", "store_id": "S01", "product_id": 1001, "sold": 99},  # held: the CSV brought it
        {"date": "2026-12-01", "store_id": "S01", "product_id": 1001, "sold": 4},
        {"date": "2026-12-01", "store_id": "S01", "product_id": 1001, "sold": 4},  # twice in the batch
        {
            "date": "2026-12-01",
            "store_id": "S02",
            "product_id": 1002,
            "sold": "2",
        },  # cast to the column's type
    ]
    appended = append_events(store, lake, "stock", batch, ids)
    assert (appended.version, appended.rows_added, appended.duplicates) == (2, 2, 2)
    again = append_events(store, lake, "stock", batch, ids)  # the same batch delivered again after a crash
    assert (again.version, again.rows_added) == (None, 0)
    assert _rows(store, lake) == [
        ("2026-11-30", "S01", 1001, 3),
        ("2026-11-30", "S01", 1002, 1),
        ("2026-12-01", "S01", 1001, 4),
        ("2026-12-01", "S02", 1002, 2),
    ]
    version = store.current_version("stock")
    assert (version.mode, version.rows, version.rows_added) == ("append", 4, 2)


def test_the_fingerprint_is_the_one_a_full_read_of_the_same_rows_gives(shop, tmp_path):
    from zhongtai.lake.merge import fingerprint

    store, lake = shop
    append_events(
        store,
        lake,
        "stock",
        [{"date": "2026-12-01", "store_id": "S03", "product_id": 7, "sold": 1}],
        ["date", "store_id", "product_id"],
    )
    version = store.current_version("stock")
    con = engine.connect(lake)
    try:
        full = fingerprint(con, engine.scan(lake, version.files), [c.name for c in version.schema])
    finally:
        con.close()
    assert version.fingerprint == full


def test_events_without_their_id_are_refused_by_name(shop):
    store, lake = shop
    with pytest.raises(ZhongtaiError, match="the events have no product_id"):
        append_events(
            store,
            lake,
            "stock",
            [{"date": "2026-12-01", "store_id": "S01"}],
            ["date", "store_id", "product_id"],
        )


def test_a_value_that_does_not_cast_fails_without_quoting_it(shop):
    store, lake = shop
    resident_id = "11010519491231002X"
    event = {"date": "2026-12-01", "store_id": "S01", "product_id": 1003, "sold": resident_id}
    with pytest.raises(ZhongtaiError, match=r"dataset 'stock': ConversionException: .*<value>") as caught:
        append_events(store, lake, "stock", [event], ["date", "store_id", "product_id"])
    failed = store.runs("stock")[0]
    assert (failed.status, failed.rows_read) == ("failed", 1)
    assert resident_id not in caught.value.message and resident_id not in (failed.message or "")
    assert store.current_version("stock").version == 1
