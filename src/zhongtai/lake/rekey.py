"""Field encryption key rotation over the lake: rewrite every ciphertext under the writing key, and count
what each key still encrypts.

`reencrypt_dataset` reads the current version of a dataset, decrypts each ciphertext written under another
key than the writing key (govern/keys.py) and encrypts it again under the writing key, in batches; the rows
are staged under `_staging/<run>`, published with one move and committed as the dataset's next version in one
metadata transaction (`expected_current` guards against an ingest committing meanwhile). A crash or a failure
leaves the current version as it was. Tokens and every other value are copied as they are, so the version's
fingerprint, which leaves encrypted copies out, is the one before.

`ciphertext_census` counts ciphertexts by key id where the platform reads them: the current version of every
dataset and the files of every identity's current OneID run (its sealed names and addresses, rewritten by the
next `zhongtai oneid run`). Older versions keep the ciphertexts they were written with: once their key is
retired they can no longer be decrypted (tokens and clear columns still read).
"""

from __future__ import annotations

import posixpath
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from zhongtai.govern.encryption import reencrypt_array
from zhongtai.govern.keys import PiiKeys
from zhongtai.lake import engine
from zhongtai.lake.merge import fingerprint
from zhongtai.lake.reader import open_version
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import DatasetVersion, NewVersion
from zhongtai.meta.store import MetadataStore

ONEID_FILES = ("persons", "records", "links")


@dataclass(frozen=True)
class Rekeyed:
    """One dataset's re-encryption: the version written (None when nothing was under another key)."""

    dataset: str
    version: int | None
    rewritten: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def ciphertext_census(store: MetadataStore, storage: LakeStorage) -> dict[str, Counter[str]]:
    """{key id: {place: ciphertexts}} over the current dataset versions and current OneID runs."""
    census: dict[str, Counter[str]] = {}
    con = engine.connect(storage)
    try:
        for name in sorted(store.registered("datasets")):
            current = store.current_version(name)
            if current is not None:
                where = f"dataset {name} version {current.version}"
                _count(con, engine.scan(storage, current.files), _text_columns(current), where, census)
        for identity in sorted(store.registered("identities")):
            run = store.identities.current(identity)
            if run is None:
                continue
            for output in ONEID_FILES:
                path = posixpath.join(run.location, f"{output}.parquet")
                if storage.fs.exists(path):
                    schema = pq.read_schema(path, filesystem=storage.arrow_fs())
                    texts = [f.name for f in schema if pa.types.is_string(f.type)]
                    where = f"OneID run {identity}/{run.id} {output}"
                    _count(con, engine.scan(storage, [path]), texts, where, census)
    finally:
        con.close()
    return census


def _text_columns(version: DatasetVersion) -> list[str]:
    return [c.name for c in version.schema if c.type == "string"]


def _count(con: Any, scan: str, columns: list[str], where: str, census: dict[str, Counter[str]]) -> None:
    """Add the ciphertexts of `columns` in `scan`, by the key id each names, to the census under `where`."""
    if not columns:
        return
    parts = " UNION ALL ".join(
        f"SELECT substr({q}, 5, 8) AS k FROM {scan} WHERE {q} LIKE 'enc:%'"
        for q in map(engine.quote, columns)
    )
    for key_id, count in engine.run(con, f"SELECT k, count(*) FROM ({parts}) GROUP BY k"):
        census.setdefault(str(key_id), Counter())[where] += int(count)


def reencrypt_dataset(
    store: MetadataStore,
    storage: LakeStorage,
    name: str,
    keys: PiiKeys,
    on_progress: Callable[[int], None] | None = None,
) -> Rekeyed:
    """Rewrite the current version's ciphertexts of other keys under the writing key, as a new version."""
    current = store.current_version(name)
    stale = _stale(store, storage, name, keys)
    if current is None or not stale:
        return Rekeyed(name, None, 0)
    run_id = f"rekey-{uuid.uuid4().hex[:12]}"
    staging, final = storage.staging(run_id), storage.dataset_dir(name, run_id)
    part = "part-0.parquet"
    rewritten = 0
    try:
        storage.makedirs(staging)
        with open_version(store, storage, name, current.version) as (_, reader):
            writer: pq.ParquetWriter | None = None
            for batch in reader:
                batch, count = _reencrypted(batch, keys)
                rewritten += count
                if writer is None:
                    path = posixpath.join(staging, part)
                    writer = pq.ParquetWriter(
                        path, batch.schema, filesystem=storage.arrow_fs(), compression="zstd"
                    )
                writer.write_batch(batch)
                if on_progress is not None:
                    on_progress(batch.num_rows)
            if writer is not None:
                writer.close()
        storage.publish(staging, final)
    finally:
        storage.remove(staging)
    try:
        number = store.commit_version(
            name, _version(storage, current, posixpath.join(final, part)), current.version, run_id
        )
    except BaseException:
        storage.remove(final)  # no version lists these files: the current version stays as it was
        raise
    return Rekeyed(name, number, rewritten)


def _stale(store: MetadataStore, storage: LakeStorage, name: str, keys: PiiKeys) -> int:
    """How many ciphertexts of the dataset's current version another key than the writing one wrote."""
    current = store.current_version(name)
    if current is None:
        return 0
    census: dict[str, Counter[str]] = {}
    con = engine.connect(storage)
    try:
        _count(con, engine.scan(storage, current.files), _text_columns(current), name, census)
    finally:
        con.close()
    return sum(c[name] for key_id, c in census.items() if key_id != keys.writing_key_id)


def _reencrypted(batch: pa.RecordBatch, keys: PiiKeys) -> tuple[pa.RecordBatch, int]:
    arrays, total = [], 0
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column, count = reencrypt_array(column, keys)
            total += count
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema), total


def _version(storage: LakeStorage, current: DatasetVersion, path: str) -> NewVersion:
    """The new version: the same rows, schema and watermark as the current one, in the rewritten file."""
    con = engine.connect(storage)
    try:
        scan = engine.scan(storage, [path])
        digest = fingerprint(con, scan, [c.name for c in current.schema])
    finally:
        con.close()
    return NewVersion(
        mode="full", rows=current.rows, rows_added=0, rows_updated=0, rows_removed=0, bytes=storage.size(path),
        files=[path], schema=current.schema, watermark=current.watermark, fingerprint=digest,
        schema_changes=["re-encrypted under the writing PII key"],
    )  # fmt: skip


def reencrypt_lake(
    store: MetadataStore,
    storage: LakeStorage,
    keys: PiiKeys,
    on_dataset: Callable[[str, int], Callable[[int], None]] | None = None,
) -> list[Rekeyed]:
    """`reencrypt_dataset` for every dataset with a current version, one atomic version each;
    `on_dataset(name, rows)` returns the progress callback for that dataset's rows."""
    done = []
    for name in sorted(store.registered("datasets")):
        current = store.current_version(name)
        if current is None:
            continue
        progress = on_dataset(name, current.rows) if on_dataset is not None else None
        done.append(reencrypt_dataset(store, storage, name, keys, progress))
    return done
