"""A capability under its traffic policy: one runtime per arm and per shadow, the arm chosen per request.

`ArmedRuntime` is what the gateway holds for every capability. It answers through the arm a sticky hash of
the entity key picks (capabilities/traffic.py) and stamps the arm on the decision; the shadows are scored
later by `shadow()`, which the gateway runs off the response path, so a shadow can neither slow nor fail an
answer. With no traffic policy there is one arm, named after the spec's alias, and the cost per request is
one hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from zhongtai.capabilities.canary import ERROR, FALLBACK, OK, ArmWindow, CanaryState, ramped
from zhongtai.capabilities.runtime import CapabilityRuntime, Decision, Runtime, build_runtime, serving_target
from zhongtai.capabilities.traffic import effective_policy
from zhongtai.edge.arms import ArmChooser, sticky_key  # one choice: a bundle picks the gateway's arm
from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.meta.time import now
from zhongtai.spec.models import CapabilitySpec
from zhongtai.spec.traffic import ArmSpec, ShadowSpec, TrafficSpec

if TYPE_CHECKING:
    from zhongtai.features.online.base import OnlineStore
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

log = logging.getLogger(__name__)
# Why a fallback answered when the arm could not (CapabilityRuntime names its own: no features, unknown entity).
MODEL_ERROR = "model_error"
ONLINE_UNAVAILABLE = "online_unavailable"


@runtime_checkable
class AsyncRuntime(Protocol):
    """A runtime whose decide can await its online reads (CapabilityRuntime): the ability is a method."""

    async def decide_async(self, inputs: Mapping[str, Any], explain: bool = True) -> Decision: ...


class ArmedRuntime:
    """Every arm's and shadow's runtime of one capability, and the choice between the arms."""

    def __init__(
        self,
        policy: TrafficSpec,
        arms: list[tuple[ArmSpec, Runtime]],
        shadows: list[tuple[ShadowSpec, Runtime]],
        target: str,
        canary_state: CanaryState | None = None,
    ) -> None:
        self.policy = policy  # as declared; the arms carry the weights of the canary's current step
        self.policy_body = policy.model_dump(mode="json", exclude_defaults=True)
        self.canary_state = canary_state
        # Per-arm windows only while a canary ramps: otherwise the request path records nothing.
        ramping = policy.canary is not None and canary_state is not None and canary_state.status == "ramping"
        self.windows = {arm.name: ArmWindow() for arm, _ in arms} if ramping else None
        self.arms = arms
        self.shadows = shadows
        self.target = target
        # The heaviest arm speaks for the capability where one version is shown (listing, OpenAPI).
        main = max(arms, key=lambda pair: pair[0].weight)[1]
        self.spec: CapabilitySpec = main.spec
        self.name = main.name
        self.input = main.input
        self.input_keys = main.input_keys
        self.input_key_types = main.input_key_types
        self.model_name = main.model_name
        self.model_version = main.model_version
        self.loaded_at = max(r.loaded_at for _, r in [*arms, *shadows])
        self._chooser = ArmChooser(self.name, [arm.weight for arm, _ in arms])
        self._decide_async = [_awaitable(runtime) for _, runtime in arms]
        self._shadow_async = [_awaitable(runtime) for _, runtime in shadows]

    def decide(self, inputs: Mapping[str, Any]) -> Decision:
        """Answer through the arm the entity key falls in; the decision names the arm. A model that fails
        (anything but a bad request) gives the spec's fallback answer with reason `model_error`."""
        arm, runtime = self.arms[self._chooser.choose(sticky_key(inputs, self.input))]
        started = time.perf_counter()
        try:
            decision = dataclasses.replace(runtime.decide(inputs), arm=arm.name)
        except Exception as exc:
            decision = self._failed(arm.name, exc)
        return self._recorded(arm.name, decision, started)

    async def decide_async(self, inputs: Mapping[str, Any], explain: bool = True) -> Decision:
        """`decide` for the event loop: an arm whose runtime reads asynchronously (`decide_async`) is awaited
        on the loop; any other task's runtime (forecast, recommendation, text: more CPU than I/O) decides in
        a worker thread. Either way the loop never waits on the online store. Without `explain` a tabular
        arm skips the contributions (the caller may not see the factors)."""
        chosen = self._chooser.choose(sticky_key(inputs, self.input))
        arm = self.arms[chosen][0]
        started = time.perf_counter()
        try:
            decided = await self._decide_async[chosen](inputs, explain)
            decision = dataclasses.replace(decided, arm=arm.name)
        except Exception as exc:
            decision = self._failed(arm.name, exc)
        return self._recorded(arm.name, decision, started)

    def _recorded(self, arm: str, decision: Decision, started: float) -> Decision:
        """The decision, counted in the arm's canary window while a canary ramps."""
        if self.windows is not None:
            failed = decision.fallback_reason == MODEL_ERROR
            outcome = ERROR if failed else FALLBACK if decision.fallback else OK
            self.windows[arm].record(outcome, (time.perf_counter() - started) * 1000, decision.score)
        return decision

    def _failed(self, arm: str, exc: Exception) -> Decision:
        """The fallback answer of an arm that failed; a request at fault (a 4xx) is raised as it is."""
        if isinstance(exc, ZhongtaiError) and exc.http_status < 500:
            raise exc  # the request is at fault, not the arm
        unavailable = isinstance(exc, ZhongtaiError) and exc.code == ErrorCode.UNAVAILABLE
        # A model failure (anything but the online store's outage) is answered by the fallback, never a 5xx.
        reason = ONLINE_UNAVAILABLE if unavailable else MODEL_ERROR
        if reason == MODEL_ERROR:
            log.warning("capability %s arm %s failed: %s", self.name, arm, type(exc).__name__)
        fallback = self.spec.fallback
        return Decision(
            decision_id=str(uuid.uuid4()),
            capability=self.name,
            decision=fallback.decision,
            score=fallback.score,
            factors=[],
            model_name=self.model_name,
            model_version=None,
            fallback=True,
            arm=arm,
            fallback_reason=reason,
        )

    def shadow(self, inputs: Mapping[str, Any]) -> list[Decision]:
        """Each shadow's decision for the request (its sample permitting): for the log only. A shadow that
        fails is skipped, never raised: the answer has already gone."""
        scored = []
        for spec, runtime in self.shadows:
            if _drawn(spec):
                with contextlib.suppress(Exception):
                    scored.append(_as_shadow(_unexplained(runtime, inputs), spec))
        return scored

    async def shadow_async(self, inputs: Mapping[str, Any]) -> list[Decision]:
        """`shadow` for the event loop: each shadow's runtime decides as an arm's does in `decide_async`
        (online reads awaited, other tasks in a worker thread), without contributions."""
        scored = []
        for (spec, _), decide in zip(self.shadows, self._shadow_async, strict=True):
            if _drawn(spec):
                with contextlib.suppress(Exception):
                    scored.append(_as_shadow(await decide(inputs, False), spec))
        return scored

    def describe(self) -> list[dict[str, Any]]:
        """The arms and shadows with the version each serves now (for listings)."""
        return [
            {"arm": a.name, "serves": a.serves, "version": r.model_version, "weight": a.weight}
            for a, r in self.arms
        ] + [
            {"shadow": s.name, "serves": s.serves, "version": r.model_version, "sample": s.sample}
            for s, r in self.shadows
        ]


def _drawn(spec: ShadowSpec) -> bool:
    """Whether a shadow scores this request: every one, or its `sample` share of them."""
    return spec.sample >= 1 or random.random() < spec.sample


def _as_shadow(decision: Decision, spec: ShadowSpec) -> Decision:
    """A shadow's decision as logged: an id of its own and the shadow's name for its arm."""
    return dataclasses.replace(decision, decision_id=str(uuid.uuid4()), arm=spec.name)


def _unexplained(runtime: Runtime, inputs: Mapping[str, Any]) -> Decision:
    """A shadow's decision: without factors where the runtime can skip them (the log keeps none)."""
    if isinstance(runtime, CapabilityRuntime):
        return runtime.decide(inputs, explain=False)
    return runtime.decide(inputs)


def _awaitable(runtime: Runtime) -> Callable[[Mapping[str, Any], bool], Awaitable[Decision]]:
    """The runtime's decide for the event loop: its own `decide_async`, else `decide` in a worker thread
    (those tasks' answers carry no contributions to skip)."""
    if isinstance(runtime, AsyncRuntime):
        return runtime.decide_async
    decide = runtime.decide

    async def in_thread(inputs: Mapping[str, Any], explain: bool = True) -> Decision:
        return await asyncio.to_thread(decide, inputs)

    return in_thread


def serving_policy(store: MetadataStore, spec: CapabilitySpec) -> tuple[TrafficSpec, CanaryState | None]:
    """The declared policy in force and, when it ramps a canary, the ramp's state (a canary declared in the
    spec and not yet judged starts at its first step)."""
    policy = effective_policy(store, spec)
    if policy.canary is None:
        return policy, None
    live = store.traffic.get(spec.name)
    if live is not None and live.state is not None:
        return policy, CanaryState.from_json(live.state)
    return policy, CanaryState(0, live.updated_at if live is not None else now())


def armed_target(store: MetadataStore, name: str) -> str:
    """What capability `name` would be built from now: the policy, the canary's step and status, and every
    arm's target."""
    spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
    policy, state = serving_policy(store, spec)
    serves = [a.serves for a in policy.arms] + [s.serves for s in policy.shadows]
    parts = [serving_target(store, name, target) for target in serves]
    ramp = (state.step, state.status) if state is not None else None
    body = json.dumps([policy.model_dump(mode="json"), ramp, parts], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def build_armed(name: str, store: MetadataStore, storage: LakeStorage, online: OnlineStore) -> ArmedRuntime:
    """Build (and warm) a runtime for each arm and shadow of capability `name` under its policy now.

    Arms serving the same version share one runtime, so a 90/10 split of two aliases on one version loads
    the model once.
    """
    spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
    policy, state = serving_policy(store, spec)
    target = armed_target(store, name)
    built: dict[str, Runtime] = {}

    def runtime_for(serves: str) -> Runtime:
        key = serving_target(store, name, serves)
        if key not in built:
            built[key] = build_runtime(name, store, storage, online, serves)
        return built[key]

    arms = [(arm, runtime_for(arm.serves)) for arm in ramped(policy, state).arms]
    shadows = [(shadow, runtime_for(shadow.serves)) for shadow in policy.shadows]
    return ArmedRuntime(policy, arms, shadows, target, state)
