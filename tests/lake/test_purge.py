"""Purging a retired dataset removes its lake folders, its quarantine included, locally and on object storage."""

from __future__ import annotations

import boto3
import pytest

from zhongtai.lake.ingest import ingest
from zhongtai.lake.purge import purge_dataset
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {name: exports, type: files, url: EXPORTS}
datasets:
  - name: stock
    source: exports
    path: "stock-*.csv"
    format: csv
    fields:
      - {name: sku, type: string}
      - {name: on_hand, type: int64, checks: [{range: {min: 0}}]}
  - {name: prices, source: exports, path: "prices-*.csv", format: csv}
"""
STOCK = b"sku,on_hand\nA1,5\nB2,-1\nC3,4\n"  # B2 breaks the rule: quarantined
PRICES = b"sku,price\nA1,9.5\n"


def _retire_stock(store: MetadataStore, lake: LakeStorage, tmp_path, exports: str) -> None:
    """Ingest both datasets (stock with one quarantined row), then remove stock from the project."""
    folder = tmp_path / "p"
    folder.mkdir(exist_ok=True)
    (folder / "specs.yaml").write_text(SPECS.replace("EXPORTS", exports))
    apply_plan(build_plan(load_project(folder), store), store)
    ingest(store, lake, "stock")
    ingest(store, lake, "prices")
    (folder / "specs.yaml").write_text(
        SPECS.replace("EXPORTS", exports).split("datasets:")[0]
        + 'datasets:\n  - {name: prices, source: exports, path: "prices-*.csv", format: csv}\n'
    )
    apply_plan(build_plan(load_project(folder), store), store, allow_delete=True)


def test_purge_removes_the_versions_and_the_quarantine_from_a_local_lake(tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "stock-1.csv").write_bytes(STOCK)
    (exports / "prices-1.csv").write_bytes(PRICES)
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    lake_dir = tmp_path / "lake"
    lake = LakeStorage(str(lake_dir))
    _retire_stock(store, lake, tmp_path, str(exports))
    assert any((lake_dir / "stock").rglob("*.parquet"))
    assert any((lake_dir / "_quarantine" / "stock").rglob("*.parquet"))

    result = purge_dataset(store, lake, "stock")
    assert (result.versions, result.ingest_runs, result.quality_runs) == (1, 1, 1)
    assert result.folders_removed == [str(lake_dir / "stock"), str(lake_dir / "_quarantine" / "stock")]
    assert not (lake_dir / "stock").exists() and not (lake_dir / "_quarantine" / "stock").exists()
    assert any((lake_dir / "prices").rglob("*.parquet"))  # the live dataset is untouched
    assert store.current_version("prices").rows == 1
    store.close()


def test_purge_removes_the_objects_from_a_lake_on_s3(tmp_path, s3_endpoint):
    s3 = boto3.client("s3")
    for bucket in ("exports", "lake"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="exports", Key="x/stock-1.csv", Body=STOCK)
    s3.put_object(Bucket="exports", Key="x/prices-1.csv", Body=PRICES)
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    lake = LakeStorage("s3://lake/zt")
    _retire_stock(store, lake, tmp_path, "s3://exports/x")

    def keys(prefix: str) -> list[str]:
        listed = s3.list_objects_v2(Bucket="lake", Prefix=prefix)
        return [item["Key"] for item in listed.get("Contents", [])]

    assert keys("zt/stock/") and keys("zt/_quarantine/stock/")
    result = purge_dataset(store, lake, "stock")
    assert result.folders_left == []
    assert keys("zt/stock/") == [] and keys("zt/_quarantine/stock/") == []
    assert keys("zt/prices/")
    store.close()
