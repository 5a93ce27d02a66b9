"""Traffic policy: which arm answers a request, and how a live split is set.

The policy in force is the live split recorded in the metadata store (`zhongtai capabilities split`, or HTTP)
when there is one, else the capability spec's `traffic`, else one arm named after the spec's `alias`. The arm
of a request is chosen by a keyed hash of its entity key (edge/arms.py): the same person lands in the same
arm for as long as the weights stand, in every gateway process and edge bundle, with no state to share.
Changing weights moves only the people whose hash falls between the old and the new boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from zhongtai.errors import NotFound, ZhongtaiError
from zhongtai.govern.audit import LOCAL_ADMIN
from zhongtai.meta.records import ModelStatus
from zhongtai.spec.models import CapabilitySpec, ModelSpec
from zhongtai.spec.traffic import ArmSpec, TrafficSpec

if TYPE_CHECKING:
    from zhongtai.meta.records import ModelVersion
    from zhongtai.meta.store import MetadataStore

_VERSION = re.compile(r"^v([1-9][0-9]{0,9})$")
_ASSIGNMENT = re.compile(r"^([a-z][a-z0-9_-]{0,62})=([0-9]+(?:\.[0-9]+)?)$")


def effective_policy(store: MetadataStore, spec: CapabilitySpec) -> TrafficSpec:
    """The policy a capability serves under now: its live split, its spec's traffic, or its alias alone."""
    live = store.traffic.get(spec.name)
    if live is not None:
        return TrafficSpec.model_validate(live.policy)
    if spec.traffic is not None:
        return spec.traffic
    return TrafficSpec(arms=[ArmSpec(name=spec.alias, alias=spec.alias, weight=100)])


def serving_version(store: MetadataStore, model: str, serves: str) -> ModelVersion:
    """The version an arm serves: `v<number>` pins one, anything else is an alias."""
    pinned = _VERSION.match(serves)
    return store.models.get(model, int(pinned.group(1))) if pinned else store.models.by_alias(model, serves)


def parse_split(assignments: Sequence[str], current: TrafficSpec) -> TrafficSpec:
    """`champion=90 challenger=10` (an alias, or `v7` for a version) as a policy keeping current shadows."""
    arms = []
    for text in assignments:
        found = _ASSIGNMENT.match(text.strip())
        if found is None:
            raise ZhongtaiError(
                "invalid_argument",
                f"{text!r} is not an arm assignment",
                "write ALIAS=WEIGHT or vVERSION=WEIGHT, e.g. champion=90 challenger=10",
            )
        name, weight = found.group(1), float(found.group(2))
        arms.append({**arm_of(name), "weight": weight})
    return checked_policy({"arms": arms, "shadows": [s.model_dump() for s in current.shadows]})


def arm_of(name: str) -> dict[str, Any]:
    """An arm named as the CLI names it: `v7` pins version 7, anything else is an alias of that name."""
    pinned = _VERSION.match(name)
    return {"name": name, **({"version": int(pinned.group(1))} if pinned else {"alias": name})}


def checked_policy(body: Mapping[str, Any]) -> TrafficSpec:
    """A policy from a request body or CLI, with pydantic's complaints turned into one clear error."""
    try:
        return TrafficSpec.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}" for e in exc.errors()
        )
        raise ZhongtaiError("invalid_argument", f"traffic policy: {problems}") from None


def check_servable(store: MetadataStore, spec: CapabilitySpec, policy: TrafficSpec) -> None:
    """Refuse a policy naming an alias or version that does not exist, or a pinned version the model's
    review rules would not let an alias serve, before anything is recorded."""
    model = ModelSpec.model_validate(store.spec("models", spec.model))
    for name, serves in [(a.name, a.serves) for a in policy.arms] + [
        (s.name, s.serves) for s in policy.shadows
    ]:
        try:
            version = serving_version(store, spec.model, serves)
        except NotFound:
            raise ZhongtaiError(
                "invalid_argument",
                f"arm '{name}' serves {spec.model} {serves}, which is not registered",
                f"point the alias first: zhongtai models alias {spec.model} VERSION {serves}",
            ) from None
        if serves.startswith("v") and model.require_approval and version.status != ModelStatus.APPROVED:
            raise ZhongtaiError(
                "invalid_argument",
                f"arm '{name}' pins {spec.model} v{version.version}, which is {version.status}",
                "only approved versions serve: submit and approve it first (docs/models.md#review)",
            )


def set_split(
    store: MetadataStore,
    capability: str,
    policy: TrafficSpec,
    principal: str,
    reason: str = "",
    rule: str = LOCAL_ADMIN,
) -> TrafficSpec:
    """Make `policy` the capability's live traffic after checking that every arm can serve; every gateway
    follows within its poll interval. The change is recorded (who, why, from, to, the rule that allowed
    it) in the change log and the audit log."""
    spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
    check_servable(store, spec, policy)
    store.traffic.set(
        capability, policy.model_dump(mode="json", exclude_defaults=True), principal, reason, rule=rule
    )
    return policy
