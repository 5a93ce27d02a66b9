"""Tags online: every entity's current tags as one online view (`tags_<entity>`), read like features."""

from __future__ import annotations

from zhongtai.features.online.base import OnlineStore, entity_key
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import TagSpec


def online_view(entity: str) -> str:
    return f"tags_{entity}"


def materialize_tags(store: MetadataStore, storage: LakeStorage, online: OnlineStore, entity: str) -> int:
    """Replace the entity's online tag view with each member's tags ({tag: True}); returns entities written.

    An entity that carries no tag has no value in the view, which readers take as "no tags". The swap is
    atomic: readers see the previous tags until the new set is written.
    """
    tags = {
        name: store.tags.latest(name)
        for name, payload in sorted(store.registered("tags").items())
        if TagSpec.model_validate(payload).entity == entity
    }
    carried: dict[str, dict[str, bool]] = {}
    con = engine.connect(storage)
    try:
        for name, build in tags.items():
            if build is None:
                continue
            for row in engine.run(con, f"SELECT * FROM {engine.scan(storage, build.members_files)}"):
                carried.setdefault(entity_key(row), {})[name] = True
    finally:
        con.close()
    return online.replace(online_view(entity), carried.items())
