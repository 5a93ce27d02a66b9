"""A capability under its traffic policy: one runtime per arm and per shadow, the arm chosen per request.

`ArmedRuntime` is what the gateway holds for every capability. It answers through the arm a sticky hash of
the entity key picks (capabilities/traffic.py) and stamps the arm on the decision; the shadows are scored
later by `shadow()`, which the gateway runs off the response path, so a shadow can neither slow nor fail an
answer. With no traffic policy there is one arm, named after the spec's alias, and the cost per request is
one hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zhongtai.capabilities.runtime import Decision, Runtime, build_runtime, serving_target
from zhongtai.capabilities.traffic import ArmChooser, effective_policy, sticky_key
from zhongtai.spec.models import CapabilitySpec
from zhongtai.spec.traffic import ArmSpec, ShadowSpec, TrafficSpec

if TYPE_CHECKING:
    from zhongtai.features.online.base import OnlineStore
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore


class ArmedRuntime:
    """Every arm's and shadow's runtime of one capability, and the choice between the arms."""

    def __init__(
        self,
        policy: TrafficSpec,
        arms: list[tuple[ArmSpec, Runtime]],
        shadows: list[tuple[ShadowSpec, Runtime]],
        target: str,
    ) -> None:
        self.policy = policy
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

    def decide(self, inputs: Mapping[str, Any]) -> Decision:
        """Answer through the arm the entity key falls in; the decision names the arm."""
        arm, runtime = self.arms[self._chooser.choose(sticky_key(inputs, self.input))]
        return dataclasses.replace(runtime.decide(inputs), arm=arm.name)

    def shadow(self, inputs: Mapping[str, Any]) -> list[Decision]:
        """Each shadow's decision for the request (its sample permitting): for the log only. A shadow that
        fails is skipped, never raised: the answer has already gone."""
        scored = []
        for spec, runtime in self.shadows:
            if spec.sample < 1 and random.random() >= spec.sample:
                continue
            try:
                decision = runtime.decide(inputs)
            except Exception:
                continue
            scored.append(dataclasses.replace(decision, decision_id=str(uuid.uuid4()), arm=spec.name))
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


def armed_target(store: MetadataStore, name: str) -> str:
    """What capability `name` would be built from now under its policy: the policy and every arm's target."""
    spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
    policy = effective_policy(store, spec)
    serves = [a.serves for a in policy.arms] + [s.serves for s in policy.shadows]
    parts = [serving_target(store, name, target) for target in serves]
    body = json.dumps([policy.model_dump(mode="json"), parts], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def build_armed(name: str, store: MetadataStore, storage: LakeStorage, online: OnlineStore) -> ArmedRuntime:
    """Build (and warm) a runtime for each arm and shadow of capability `name` under its policy now.

    Arms serving the same version share one runtime, so a 90/10 split of two aliases on one version loads
    the model once.
    """
    spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
    policy = effective_policy(store, spec)
    target = armed_target(store, name)
    built: dict[str, Runtime] = {}

    def runtime_for(serves: str) -> Runtime:
        key = serving_target(store, name, serves)
        if key not in built:
            built[key] = build_runtime(name, store, storage, online, serves)
        return built[key]

    arms = [(arm, runtime_for(arm.serves)) for arm in policy.arms]
    shadows = [(shadow, runtime_for(shadow.serves)) for shadow in policy.shadows]
    return ArmedRuntime(policy, arms, shadows, target)
