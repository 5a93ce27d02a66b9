"""A canary ramp started, and a held one promoted: what `zhongtai capabilities canary | promote` and the
gateway's traffic routes both call, so the CLI on an embedded store and a remote caller do the same thing.

Starting keeps the other arms and the shadows of the policy in force and adds the canary arm at weight 0;
the canary controller of every gateway then steps it up while its guards hold. Promoting moves `champion`
to the canary arm's version (four eyes hold, as for any alias move) and drops the live split.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhongtai.capabilities.canary import AWAITING_APPROVAL
from zhongtai.capabilities.traffic import (
    arm_of,
    check_servable,
    checked_policy,
    effective_policy,
    serving_version,
    set_split,
)
from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.govern.audit import LOCAL_ADMIN
from zhongtai.models import aliases
from zhongtai.spec.models import CapabilitySpec
from zhongtai.spec.traffic import TrafficSpec

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore


def start_canary(
    store: MetadataStore,
    capability: str,
    arm: str,
    steps: list[float],
    every: str,
    complete: str,
    principal: str,
    reason: str = "",
    rule: str = LOCAL_ADMIN,
) -> TrafficSpec:
    """Make a guarded ramp of `arm` (an alias, or `vN`) the capability's live traffic; the guards are the
    policy in force's, or the defaults."""
    spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
    current = effective_policy(store, spec)
    try:
        check_servable(store, spec, current)
    except ZhongtaiError as exc:
        # The ramp keeps the arms in force: when one of them no longer serves, the request is not at fault.
        raise ZhongtaiError(
            ErrorCode.CONFLICT, f"the traffic in force cannot take a canary: {exc.message}", exc.hint
        ) from None
    others = [a.model_dump() for a in current.arms if a.name != arm]
    guards = current.canary.guards.model_dump() if current.canary else {}
    body = {
        "arms": [*others, {**arm_of(arm), "weight": 0}],
        "shadows": [s.model_dump() for s in current.shadows],
        "canary": {"arm": arm, "steps": steps, "step_every": every, "complete": complete, "guards": guards},
    }
    return set_split(store, capability, checked_policy(body), principal, reason or f"canary of {arm}", rule)


def promote_canary(
    store: MetadataStore, capability: str, principal: str, reason: str = "", rule: str = LOCAL_ADMIN
) -> tuple[str, int]:
    """Promote the canary that finished its ramp and waits (`complete: hold`): champion moves to its
    version, the live split is dropped; the (model, version) now champion. `conflict` when none waits."""
    spec = CapabilitySpec.model_validate(store.spec("capabilities", capability))
    live = store.traffic.get(capability)
    policy = effective_policy(store, spec)
    if live is None or policy.canary is None or (live.state or {}).get("status") != AWAITING_APPROVAL:
        raise ZhongtaiError(
            ErrorCode.CONFLICT,
            f"{capability} has no canary waiting for promotion",
            f"zhongtai capabilities traffic {capability}",
        )
    arm = next(a for a in policy.arms if a.name == policy.canary.arm)
    version = serving_version(store, spec.model, arm.serves).version
    aliases.move(
        store, spec.model, version, "champion", principal, reason or f"canary {arm.name} promoted", rule
    )
    store.traffic.reset(capability, principal, reason or "canary promoted", rule)
    return spec.model, version
