"""Building a tag: who carries it now, who gained and who lost it since the last build.

Members and events are Parquet files in the lake (`_tags/<tag>/<build>/`), written to staging and published
before the build is recorded, so a failed build leaves the previous one in force.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.lake import engine
from zhongtai.lake.parts import PartWriter
from zhongtai.lake.storage import LakeStorage
from zhongtai.lake.views import open_datasets
from zhongtai.meta.records import TagBuild
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.base import duration_seconds
from zhongtai.spec.models import EntitySpec, TagSpec

if TYPE_CHECKING:
    import duckdb

BATCH = 100_000


def load_tag(store: MetadataStore, name: str) -> tuple[TagSpec, EntitySpec]:
    spec = TagSpec.model_validate(store.spec("tags", name))
    return spec, EntitySpec.model_validate(store.spec("entities", spec.entity))


def build_tag(store: MetadataStore, storage: LakeStorage, name: str) -> TagBuild:
    """Run the tag's SQL, compare its members with the previous build's and record the changes."""
    spec, entity = load_tag(store, name)
    keys = ", ".join(engine.quote(k) for k in entity.join_keys)
    where = f"tag '{name}'"
    run_id = str(uuid.uuid4())
    staging, final = storage.staging(run_id), storage.path("_tags", name, run_id)
    con = engine.connect(storage)
    try:
        inputs = open_datasets(con, store, storage, spec.sql, where)
        _members_now(con, spec.sql, entity.join_keys, where)
        previous = store.tags.latest(name)
        if previous is not None:
            engine.run(
                con,
                f"CREATE TEMP TABLE before AS SELECT {keys} FROM {engine.scan(storage, previous.members_files)}",
            )
        else:
            engine.run(con, "CREATE TEMP TABLE before AS SELECT * FROM members WHERE false")
        at = datetime.now(UTC).replace(tzinfo=None)
        events_sql = (
            f"SELECT {keys}, 'gained' AS event, $at AS changed_at FROM members ANTI JOIN before USING ({keys}) "
            f"UNION ALL SELECT {keys}, 'lost' AS event, $at AS changed_at FROM before ANTI JOIN members USING ({keys})"
        )
        engine.run(con, f"CREATE TEMP TABLE events AS {events_sql}", {"at": at})
        members_files = _write(con, storage, "SELECT * FROM members", f"{staging}/out/members", where)
        events_files = _write(con, storage, "SELECT * FROM events", f"{staging}/out/events", where)
        (count,) = engine.one(con, "SELECT count(*) FROM members")
        gained, lost = engine.one(
            con,
            "SELECT count(*) FILTER (WHERE event = 'gained'), count(*) FILTER (WHERE event = 'lost') FROM events",
        )
    except BaseException:
        storage.remove(staging)
        raise
    finally:
        con.close()
    storage.publish(f"{staging}/out", final)
    storage.remove(staging)
    relocate = lambda files: [final + f[len(f"{staging}/out") :] for f in files]  # noqa: E731
    return store.tags.add_build(
        name, count, gained, lost, relocate(members_files), relocate(events_files), inputs
    )


def due_tags(store: MetadataStore) -> list[str]:
    """Tags with an `every` whose newest build is older than that, or that were never built."""
    due = []
    for name, payload in sorted(store.registered("tags").items()):
        spec = TagSpec.model_validate(payload)
        if spec.every is None:
            continue
        latest = store.tags.latest(name)
        if latest is None or datetime.now(UTC) - latest.created_at >= timedelta(
            seconds=duration_seconds(spec.every)
        ):
            due.append(name)
    return due


def tag_history(store: MetadataStore, storage: LakeStorage, name: str) -> pa.Table:
    """Every gained/lost event of a tag, oldest first."""
    load_tag(store, name)
    files = [f for build in store.tags.builds(name) for f in build.events_files]
    if not files:
        return pa.table({})
    con = engine.connect(storage)
    try:
        return con.sql(
            f"SELECT * FROM {engine.scan(storage, files)} ORDER BY changed_at, event"
        ).to_arrow_table()
    finally:
        con.close()


def _moved(files: list[str], staging: str, final: str) -> list[str]:
    return [final + f[len(f"{staging}/out") :] for f in files]


def _members_now(con: duckdb.DuckDBPyConnection, sql: str, join_keys: list[str], where: str) -> None:
    import duckdb

    keys = ", ".join(engine.quote(k) for k in join_keys)
    try:
        columns = [c.lower() for c in con.sql(sql).columns]
    except duckdb.Error as exc:
        raise ZhongtaiError("invalid_spec", f"{where}: {str(exc).strip().splitlines()[0]}") from None
    missing = [k for k in join_keys if k.lower() not in columns]
    if missing:
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: the SQL must return the entity's join key(s); missing {', '.join(missing)}",
        )
    not_null = " AND ".join(f"{engine.quote(k)} IS NOT NULL" for k in join_keys)
    engine.run(con, f"CREATE TEMP TABLE members AS SELECT DISTINCT {keys} FROM ({sql}) WHERE {not_null}")


def _write(
    con: duckdb.DuckDBPyConnection, storage: LakeStorage, sql: str, folder: str, where: str
) -> list[str]:
    writer = PartWriter(storage, folder, "part", where)
    reader = con.sql(sql).to_arrow_reader(BATCH)
    writer.write_all(reader)
    if writer.rows == 0:
        writer.write_empty(reader.schema)
    return writer.close()
