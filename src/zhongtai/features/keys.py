"""Entity keys: how a caller's key value is checked and written, and source keys to entity keys online.

`checked_entity_key` is the one check of a key a caller sends (decide, the online read, a push): a key is
an integer or a non-blank string, per join key, as the entity declares (`key_types`, `string` when not
declared); a number with a fraction, a boolean, an object or a blank string is refused with the field named
and the value never quoted (103216.0 is the integer 103216, as JSON and JSON Schema read it). An `int64` key accepts an integer or a string of one (`"100005"`), written in its
canonical form, so `100005`, `"100005"` and `"+100005"` find the same entity.

Source keys to entity keys online: OneID's crosswalk as a lookup in the online store.

A capability whose spec says `input_dataset: crm_customers` is called with that dataset's key (the CRM's
customer_id) while its features are keyed by the person. The crosswalk rows of that dataset are written
online as a lookup view `<crosswalk dataset>:<dataset>` (`person_crosswalk:crm_customers`), source key ->
{person_id}; a decision reads it once, then the person's features: one extra read, no ORM, no file. The
lookup is refreshed by `zhongtai oneid materialize` after a OneID run, as features are by their own
materialize after a build.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from zhongtai.edge.errors import EdgeError
from zhongtai.edge.keys import INT64_MAX, INT64_MIN, INT64_TEXT, SPACES, key_part
from zhongtai.errors import ZhongtaiError
from zhongtai.features.online.base import OnlineStore
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.identity import IdentitySpec
from zhongtai.spec.models import CapabilitySpec, KeyType, ModelSpec

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage

BATCH_ROWS = 50_000
_STRING: KeyType = "string"


def checked_entity_key(
    value: Any,
    field: str,
    join_keys: Sequence[str],
    key_types: Sequence[KeyType] = (),
    hint: str | None = None,
) -> str:
    """The online-store key for `value`, the key a caller sent in `field` (a list for a composite key).

    `key_types` holds each join key's declared type (all `string` when empty). ZhongtaiError
    (invalid_argument) names the field and what is wrong with it, never the value; `hint` replaces the
    default hint, an example body `{"<field>": ...}`.
    """
    types = tuple(key_types) or tuple(_STRING for _ in join_keys)
    hint = hint or f"send {_example(field, types)}"
    if isinstance(value, list):
        if len(value) != len(join_keys):
            raise ZhongtaiError(
                "invalid_argument",
                f"field '{field}' needs {len(join_keys)} value(s) ({', '.join(join_keys)}), got {len(value)}",
                hint,
            )
        parts = [
            _key_part(part, f"{field}[{index}]", join_keys[index], types[index], hint)
            for index, part in enumerate(value)
        ]
        return "|".join(parts)
    if len(join_keys) > 1 and value is not None:
        raise ZhongtaiError(
            "invalid_argument",
            f"field '{field}' must be a list of {len(join_keys)} values ({', '.join(join_keys)})",
            hint,
        )
    return _key_part(value, field, join_keys[0], types[0], hint)


def _key_part(value: Any, where: str, join_key: str, key_type: KeyType, hint: str) -> str:
    # The edge runtime holds the one check, so a bundle refuses and writes keys exactly as the gateway does.
    try:
        return key_part(value, where, join_key, key_type, hint)
    except EdgeError as exc:
        raise ZhongtaiError(exc.code, exc.message, exc.hint) from None


def key_schema(key_type: KeyType, max_chars: int) -> dict[str, Any]:
    """The JSON Schema of one join-key value, exactly what `checked_entity_key` accepts (for OpenAPI)."""
    integer: dict[str, Any] = {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX}
    text: dict[str, Any]
    if key_type == "int64":
        text = {"type": "string", "pattern": f"^{INT64_TEXT.pattern}$"}
    else:
        text = {"type": "string", "maxLength": max_chars, "pattern": f"[^{SPACES}]"}
    return {"anyOf": [integer, text]}


def _example(field: str, types: Sequence[KeyType]) -> str:
    samples = ["100005" if t == "int64" else '"100005"' for t in types]
    shown = samples[0] if len(samples) == 1 else f"[{', '.join(samples)}]"
    return f'{{"{field}": {shown}}}'


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
