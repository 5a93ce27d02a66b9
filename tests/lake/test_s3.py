"""Source files and the lake on object storage, through a real S3 API on 127.0.0.1."""

from __future__ import annotations

import boto3
import pytest

from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - name: exports
    type: files
    url: s3://exports/stock
    storage_options:
      endpoint_url: "${env:AWS_ENDPOINT_URL}"
      key: "${env:AWS_ACCESS_KEY_ID}"
      secret: "${env:AWS_SECRET_ACCESS_KEY}"
datasets:
  - name: stock
    source: exports
    path: "stock-*.csv"
    primary_key: [day, sku]
    incremental: {watermark: day}
    fields: [{name: day, type: date}, {name: sku, type: string}, {name: on_hand, type: int64}]
"""


def test_files_from_s3_into_a_lake_on_s3(tmp_path, s3_endpoint):
    s3 = boto3.client("s3")
    for bucket in ("exports", "lake"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket="exports",
        Key="stock/stock-2026-10.csv",
        Body=b"day,sku,on_hand\n2026-10-01,A1,5\n2026-10-01,B2,0\n2026-10-02,A1,4\n",
    )
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "specs.yaml").write_text(SPECS)
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    apply_plan(build_plan(load_project(tmp_path / "p"), store), store)
    assert "${env:AWS_SECRET_ACCESS_KEY}" in str(store.registered("sources"))  # the reference, not the value
    lake = LakeStorage("s3://lake/zt")

    first = ingest(store, lake, "stock")
    assert (first.version, first.rows) == (1, 3)
    s3.put_object(
        Bucket="exports",
        Key="stock/stock-2026-11.csv",
        Body=b"day,sku,on_hand\n2026-10-02,A1,3\n2026-11-01,A1,9\n",
    )
    second = ingest(store, lake, "stock")
    assert (second.version, second.rows_added, second.rows_updated, second.rows) == (2, 1, 1, 4)
    rows = {(str(r["day"]), r["sku"]): r["on_hand"] for r in read_table(store, lake, "stock").to_pylist()}
    assert rows == {
        ("2026-10-01", "A1"): 5,
        ("2026-10-01", "B2"): 0,
        ("2026-10-02", "A1"): 3,
        ("2026-11-01", "A1"): 9,
    }
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake").get("Contents", [])]
    assert keys and all(k.startswith("zt/stock/") for k in keys)  # nothing left under _staging
    store.close()
