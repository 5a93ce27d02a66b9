"""One entity's tags: which it carries now and every time it gained or lost one, from the tags' builds."""

from __future__ import annotations

from typing import Any

from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import EntitySpec, TagSpec


def entity_tags(store: MetadataStore, storage: LakeStorage, entity: str, key: str) -> dict[str, Any]:
    """Each tag of `entity`: whether the entity keyed `key` carries it in the latest build, and its
    gained/lost events, oldest first. An entity of several join keys is keyed by their values joined with
    `|`, as the online store keys it (features/online/base.py)."""
    spec = EntitySpec.model_validate(store.spec("entities", entity))
    values = key.split("|") if len(spec.join_keys) > 1 else [key]
    where = " AND ".join(f"CAST({engine.quote(k)} AS VARCHAR) = $k{i}" for i, k in enumerate(spec.join_keys))
    params = {f"k{i}": v for i, v in enumerate(values)}
    tags = []
    con = engine.connect(storage)
    try:
        for name, payload in sorted(store.registered("tags").items()):
            tag = TagSpec.model_validate(payload)
            if tag.entity != entity:
                continue
            latest = store.tags.latest(name)
            carried, events = False, []
            if latest is not None and len(values) == len(spec.join_keys):
                members = engine.scan(storage, latest.members_files)
                carried = bool(engine.run(con, f"SELECT 1 FROM {members} WHERE {where} LIMIT 1", params))
                files = [f for build in store.tags.builds(name) for f in build.events_files]
                found = engine.run(
                    con,
                    f"SELECT event, changed_at FROM {engine.scan(storage, files)} WHERE {where} "
                    "ORDER BY changed_at, event",
                    params,
                )
                events = [{"event": e, "at": at.isoformat()} for e, at in found]
            tags.append(
                {
                    "tag": name,
                    "description": tag.description,
                    "carried": carried,
                    "built_at": latest.created_at.isoformat() if latest else None,
                    "events": events,
                }
            )
    finally:
        con.close()
    return {"entity": entity, "key": key, "tags": tags}
