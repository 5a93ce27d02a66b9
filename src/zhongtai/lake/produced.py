"""Writing a table the platform produced (a model's published outputs) as the next version of its dataset.

The same crash-safety as an ingest: the part files are written under staging, moved in place, and one
metadata transaction records the version and makes it current; a failure before that commit leaves the
previous version current and no files behind. A produced dataset is replaced whole by each write (mode
`full`); its spec names the producer, and the producer puts its own lineage in the rows (a model's name and
version). The lake knows nothing of models: callers hand it a table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine
from zhongtai.lake.failures import failed_message
from zhongtai.lake.merge import fingerprint
from zhongtai.lake.parts import PartWriter
from zhongtai.lake.schema import columns_of
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import NewVersion
from zhongtai.meta.store import MetadataStore

if TYPE_CHECKING:
    import pyarrow as pa


def write_produced(store: MetadataStore, storage: LakeStorage, dataset: str, table: pa.Table) -> int:
    """Commit `table` as the next (full) version of the produced dataset `dataset`; returns its number."""
    spec, _ = store.dataset_spec(dataset)
    if "source" in spec:
        raise ZhongtaiError(
            "invalid_argument",
            f"dataset '{dataset}' is pulled from source '{spec['source']}'; only produced datasets are "
            "written this way",
            f"run `zhongtai ingest {dataset}`",
        )
    current = store.current_version(dataset)
    run_id = store.start_run(dataset)
    staging, final = storage.staging(run_id), storage.dataset_dir(dataset, run_id)
    con = engine.connect(storage)
    try:
        writer = PartWriter(storage, f"{staging}/out", "part", f"dataset '{dataset}'")
        writer.write_all(table.to_batches(50_000))
        if writer.rows == 0:
            writer.write_empty(table.schema)
        files = writer.close()
        published = [final + f[len(f"{staging}/out") :] for f in files]
        storage.publish(f"{staging}/out", final)
        new = NewVersion(
            mode="full",
            rows=table.num_rows,
            rows_added=table.num_rows,
            rows_updated=0,
            rows_removed=current.rows if current else 0,
            bytes=sum(storage.size(f) for f in published),
            files=published,
            schema=columns_of(table.schema),
            watermark=None,
            fingerprint=fingerprint(con, engine.scan(storage, published), table.column_names),
            schema_changes=[],
        )
        return store.commit_version(
            dataset, new, current.version if current else None, run_id, table.num_rows
        )
    except BaseException as exc:
        storage.remove(final)
        store.finish_run(run_id, "failed", table.num_rows, failed_message(exc))
        raise
    finally:
        con.close()
        storage.remove(staging)
