"""Source keys to entity keys online: OneID's crosswalk as a lookup in the online store.

A capability whose spec says `input_dataset: crm_customers` is called with that dataset's key (the CRM's
customer_id) while its features are keyed by the person. The crosswalk rows of that dataset are written
online as a lookup view `<crosswalk dataset>:<dataset>` (`person_crosswalk:crm_customers`), source key ->
{person_id}; a decision reads it once, then the person's features: one extra read, no ORM, no file. The
lookup is refreshed by `zhongtai oneid materialize` after a OneID run, as features are by their own
materialize after a build.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from zhongtai.errors import ZhongtaiError
from zhongtai.features.online.base import OnlineStore
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.identity import IdentitySpec
from zhongtai.spec.models import CapabilitySpec, ModelSpec

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage

BATCH_ROWS = 50_000


def lookup_view(identity: IdentitySpec, dataset: str) -> str:
    """The online view holding `dataset`'s keys -> entity keys (a name no feature view can take)."""
    return f"{identity.crosswalk_dataset}:{dataset}"


def identity_for(store: MetadataStore, entity: str, dataset: str) -> IdentitySpec:
    """The identity that resolves `dataset`'s records into `entity`."""
    for payload in store.registered("identities").values():
        identity = IdentitySpec.model_validate(payload)
        if identity.entity == entity and any(s.dataset == dataset for s in identity.sources):
            return identity
    raise ZhongtaiError(
        "invalid_spec",
        f"no identity resolves dataset '{dataset}' into entity '{entity}'",
        f"add '{dataset}' to the sources of an identity of entity '{entity}', or drop input_dataset",
    )


def capability_lookup(store: MetadataStore, spec: CapabilitySpec) -> tuple[IdentitySpec, str] | None:
    """For a capability called with a source key: the identity mapping it and the online lookup view."""
    if spec.input_dataset is None:
        return None
    model = ModelSpec.model_validate(store.spec("models", spec.model))
    identity = identity_for(store, model.entity, spec.input_dataset)
    return identity, lookup_view(identity, spec.input_dataset)


def crosswalk_query(store: MetadataStore, storage: LakeStorage, identity: IdentitySpec) -> str:
    """SQL scanning the identity's current crosswalk (person_id, record_id, dataset, key)."""
    from zhongtai.lake import engine

    current = store.current_version(identity.crosswalk_dataset)
    if current is None:
        raise ZhongtaiError(
            "not_found", f"OneID '{identity.name}' has not run yet", "run `zhongtai oneid run`"
        )
    return f"SELECT * FROM {engine.scan(storage, current.files)}"


def materialize_keys(store: MetadataStore, storage: LakeStorage, online: OnlineStore) -> dict[str, int]:
    """Write the lookup of every dataset a registered capability takes keys of; returns rows per view."""
    written: dict[str, int] = {}
    for payload in store.registered("capabilities").values():
        found = capability_lookup(store, CapabilitySpec.model_validate(payload))
        if found is None or found[1] in written:
            continue
        identity, view = found
        written[view] = _write_lookup(store, storage, online, identity, view)
    return written


def _write_lookup(
    store: MetadataStore, storage: LakeStorage, online: OnlineStore, identity: IdentitySpec, view: str
) -> int:
    from zhongtai.lake import engine

    dataset = view.split(":", 1)[1]
    query = crosswalk_query(store, storage, identity)
    con = engine.connect(storage)

    def lookup() -> Iterator[tuple[str, dict[str, Any]]]:
        reader = con.sql(
            f"SELECT key, person_id FROM ({query}) WHERE dataset = $dataset", params={"dataset": dataset}
        ).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            rows = zip(batch.column("key").to_pylist(), batch.column("person_id").to_pylist(), strict=True)
            yield from ((key, {"person_id": person}) for key, person in rows)

    try:
        # replace, not clear + write: callers keep resolving keys from the previous lookup until it is swapped
        return online.replace(view, lookup())
    finally:
        con.close()
