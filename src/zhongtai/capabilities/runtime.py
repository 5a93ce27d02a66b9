"""The capability runtime: everything a decision needs, built once at startup, and the decide() hot path.

A `CapabilityRuntime` holds the loaded predictor (models/predictor.py), the feature views to read, where each model feature sits in
the online values, its on-demand features compiled, and the rules sorted highest first. `decide()` does no
ORM, file, YAML, parsing or setup work: one online read, the compiled on-demand closures, one `explain()` of
the predictor (the score and the explanation together), the rules, done. A capability called
with a source system's key (`input_dataset`) first reads OneID's lookup of that key to its person: one
more online read. `Capabilities` holds every runtime and swaps one atomically on reload (blue-green);
`Capabilities.sync()` brings it in line with the registry (capabilities/serving.py calls it when the registry moves).

What an answer holds follows the predictor's task (`Answers`): a binary model's `score` is the probability
and `decision` the first score band it reaches; a multiclass model's `decision` is the most probable class,
`score` its probability, and `output.classes` the three most probable classes with their probabilities; a
regression model's `score` and `output.value` are the predicted value and `decision` the first value band
it reaches (`value_bands`), or the value as text when the capability has none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from zhongtai.capabilities.traffic import serving_version
from zhongtai.edge.rules import Rules, top_factors
from zhongtai.errors import ZhongtaiError
from zhongtai.features.keys import capability_lookup, checked_entity_key
from zhongtai.features.on_demand import OnDemandFeatures, check_trained_expressions
from zhongtai.features.online.base import OnlineStore, entity_key
from zhongtai.features.selection import select_features
from zhongtai.meta.records import DecisionRecord, ModelVersion
from zhongtai.meta.time import now
from zhongtai.models.predictor import Predictor, load_predictor
from zhongtai.models.single_row import single_row
from zhongtai.spec.models import (
    CapabilitySpec,
    EntitySpec,
    FeatureViewSpec,
    KeyType,
    ModelSpec,
    OnDemandViewSpec,
)

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

log = logging.getLogger(__name__)
# Model features may be named plainly (`orders_90d`) or qualified by their view (`customer__orders_90d`,
# `customer.orders_90d`); qualified names win, so two views may share a feature name.
_QUALIFIERS = ("__", ".")


@dataclass(frozen=True)
class Decision:
    """One answer of a capability."""

    decision_id: str
    capability: str
    decision: str
    score: float | None
    factors: list[dict[str, Any]]
    model_name: str
    model_version: int | None
    fallback: bool
    features: dict[str, Any] = field(default_factory=dict)
    group_features: dict[str, Any] | None = None  # what the capability's feature groups asked for
    # What a task answers beyond decision and score (an intent's route, a ranking's items, a forecast's
    # interval): part of the answer and of the decision log, under the same keys.
    output: dict[str, Any] | None = None
    arm: str | None = None  # the traffic arm that answered (capabilities/arms.py sets it)
    fallback_reason: str | None = None  # why a fallback answered: no_features, unknown_entity, model_error...

    def to_dict(self, explained: bool = True) -> dict[str, Any]:
        """The public answer (the model's feature values stay in the decision log); its factors only when
        `explained` (the caller may `see_explanation`), else an empty list."""
        answer = {
            "decision_id": self.decision_id,
            "capability": self.capability,
            "decision": self.decision,
            "score": self.score,
            "factors": self.factors if explained else [],
            "model": {"name": self.model_name, "version": self.model_version},
            "fallback": self.fallback,
        }
        if self.arm is not None:
            answer["arm"] = self.arm
        if self.fallback_reason is not None:
            answer["fallback_reason"] = self.fallback_reason
        if self.group_features is not None:
            answer["features"] = self.group_features
        if self.output:
            answer.update(self.output)
        return answer

    def to_record(
        self,
        principal: str,
        inputs: Mapping[str, Any],
        latency_ms: float,
        *,
        at: datetime | None = None,
        output: dict[str, Any] | None = None,
        shadow_of: str | None = None,
    ) -> DecisionRecord:
        """The decision as the log keeps it (`output` replaces the decision's own, e.g. with node details)."""
        return DecisionRecord(
            id=self.decision_id,
            at=at or now(),
            capability=self.capability,
            principal=principal,
            model_name=self.model_name,
            model_version=self.model_version,
            decision=self.decision,
            score=self.score,
            fallback=self.fallback,
            inputs=dict(inputs),
            features=self.features,
            latency_ms=latency_ms,
            output=output if output is not None else self.output,
            arm=self.arm,
            shadow_of=shadow_of,
            fallback_reason=self.fallback_reason,
        )


class Runtime(Protocol):
    """What the gateway, batch scoring and the registry watcher ask of a loaded capability, whatever its
    model's task: `CapabilityRuntime` (binary, multiclass, regression) and each task's own runtime
    (TASK_RUNTIMES) provide it."""

    spec: CapabilitySpec
    name: str
    target: str  # serving_target() of what it was built from
    loaded_at: float
    input: str
    input_keys: tuple[str, ...]
    input_key_types: tuple[KeyType, ...]
    model_name: str
    model_version: int | None

    def decide(self, inputs: Mapping[str, Any]) -> Decision:
        """Answer one request (thread-safe; no I/O but the online store)."""
        ...


# (capability name, stores, what it serves: an alias or `v<number>`) -> its runtime for that version.
RuntimeBuilder = Callable[[str, "MetadataStore", "LakeStorage", OnlineStore, str], Runtime]


def _forecast_runtime(
    name: str, store: MetadataStore, storage: LakeStorage, online: OnlineStore, serves: str
) -> Runtime:
    from zhongtai.capabilities.forecast_runtime import ForecastRuntime

    return ForecastRuntime.build(name, store, storage, online, serves)


# The runtime of each task not served by CapabilityRuntime, by the model's task.
TASK_RUNTIMES: dict[str, RuntimeBuilder] = {"forecast": _forecast_runtime}


def _recommendation(
    name: str, store: MetadataStore, storage: LakeStorage, online: OnlineStore, serves: str
) -> Runtime:
    from zhongtai.capabilities.recommend_runtime import RecommendRuntime

    return RecommendRuntime.build(name, store, storage, online, serves)


TASK_RUNTIMES["recommendation"] = _recommendation


def _text_classification(
    name: str, store: MetadataStore, storage: LakeStorage, online: OnlineStore, serves: str
) -> Runtime:
    from zhongtai.capabilities.text_runtime import TextRuntime

    return TextRuntime.build(name, store, storage, online, serves)


TASK_RUNTIMES["text_classification"] = _text_classification


def build_runtime(
    name: str, store: MetadataStore, storage: LakeStorage, online: OnlineStore, serves: str | None = None
) -> Runtime:
    """Build capability `name`'s runtime, by its model's task, for the version `serves` names (an alias or
    `v<number>`; the spec's alias by default). Traffic arms (capabilities/arms.py) build one per arm."""
    spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
    task = ModelSpec.model_validate(store.spec("models", spec.model)).task
    builder = TASK_RUNTIMES.get(task)
    if builder is not None:
        return builder(name, store, storage, online, serves or spec.alias)
    return CapabilityRuntime.build(name, store, storage, online, serves or spec.alias)


def resolve_features(
    features: Sequence[str], views: Sequence[FeatureViewSpec], on_demand: Sequence[str] = ()
) -> tuple[tuple[int, str], ...]:
    """For each model feature, (index of its view, its name in the view's values), or (-1, name) for an
    on-demand feature; done once at startup."""
    names = [v.name for v in views]
    slots = []
    for feature in features:
        slot = (-1, feature) if feature in on_demand else None
        for sep in _QUALIFIERS:
            view, _, column = feature.partition(sep)
            if column and view in names:
                slot = (names.index(view), column)
                break
        if slot is None:
            holders = [i for i, v in enumerate(views) if any(f.name == feature for f in v.features)]
            if not holders:
                raise ZhongtaiError(
                    "invalid_spec",
                    f"model feature '{feature}' is in none of the views {', '.join(names)}",
                    "retrain the model on the views its spec lists",
                )
            slot = (holders[0], feature)
        slots.append(slot)
    return tuple(slots)


def _as_float(value: Any) -> float:
    """A feature value as the model sees it; anything not numeric (None, text) is missing."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _values(
    features: Sequence[str],
    slots: Sequence[tuple[int, str]],
    per_view: Sequence[Mapping[str, Any] | None],
    computed: Mapping[str, Any],
) -> dict[str, Any]:
    """Each feature's value from its slot: a stored view's values or the on-demand results."""
    out = {}
    for feature, (index, column) in zip(features, slots, strict=True):
        if index < 0:
            out[feature] = computed[column]
        else:
            values = per_view[index]
            out[feature] = None if values is None else values.get(column)
    return out


def _target(capability: Mapping[str, Any], model: Mapping[str, Any], version: ModelVersion) -> str:
    """A digest of everything a runtime is built from that can change while the gateway runs."""
    body = json.dumps(
        [capability, model, version.model, version.version, version.artifact], sort_keys=True, default=str
    )
    return hashlib.sha256(body.encode()).hexdigest()


def serving_target(store: MetadataStore, name: str, serves: str | None = None) -> str:
    """What capability `name` would be built from now for `serves` (an alias or `v<number>`; the spec's
    alias by default): its spec, its model's spec and the version served."""
    capability = store.spec("capabilities", name)
    spec = CapabilitySpec.model_validate(capability)
    version = serving_version(store, spec.model, serves or spec.alias)
    return _target(capability, store.spec("models", spec.model), version)


@dataclass(frozen=True)
class Answers(Rules):
    """How a capability turns its model's scores into answers, by the predictor's task (see the module
    docstring); compiled once, shared by decide() and batch scoring. One request's answer is the edge
    runtime's (edge/rules.py), so a bundle answers as the gateway does; many rows are answered here."""

    @classmethod
    def of(cls, spec: CapabilitySpec, model: Predictor) -> Answers:
        """The answers of capability `spec` over `model`."""
        if model.task == "regression":
            bands = tuple((b.min_value, b.decision) for b in spec.ranked_value_bands())
        else:
            bands = tuple((r.min_score, r.decision) for r in spec.ranked_decisions())
        return cls(model.task, bands, spec.fallback.decision, tuple(getattr(model, "classes", ())))

    def many(self, scores: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Scores (top-class probability for multiclass) and decisions of many rows."""
        if self.task == "multiclass":
            chosen = np.argmax(scores, axis=1)
            return scores.max(axis=1), [str(self.classes[i]) for i in chosen]
        if self.task == "regression" and not self.bands:
            return scores, [format(float(v), ".6g") for v in scores]
        decided = np.full(len(scores), self.otherwise, dtype=object)
        unset = np.ones(len(scores), dtype=bool)
        for lowest, decision in self.bands:
            hit = unset & (scores >= lowest)
            decided[hit] = decision
            unset &= ~hit
        return scores, decided.tolist()


class CapabilityRuntime:
    """One capability ready to answer: built once, then `decide()` per request (thread-safe)."""

    def __init__(
        self,
        spec: CapabilitySpec,
        version: ModelVersion,
        model: Predictor,
        views: Sequence[FeatureViewSpec],
        entity: EntitySpec,
        online: OnlineStore,
        *,
        on_demand_views: Sequence[OnDemandViewSpec] = (),
        group_features: Sequence[str] = (),
        lookup: str | None = None,
        target: str = "",
    ) -> None:
        self.spec = spec
        self.target = target  # what it was built from (serving_target); a different target means rebuild
        self.loaded_at = time.time()
        self.name = spec.name
        self.input = spec.input
        self.model_name = version.model
        self.model_version: int | None = version.version
        self.features = tuple(version.features)
        self.join_keys = tuple(entity.join_keys)
        self.views = tuple(v.name for v in views)
        self._lookup = (lookup,) if lookup else None  # the online view mapping the input to the entity
        # What a caller sends: the entity's typed join keys, or a source dataset's key as one string.
        self.input_keys = (self.input,) if lookup else self.join_keys
        self.input_key_types: tuple[KeyType, ...] = ("string",) if lookup else entity.join_key_types()
        self.group_features = tuple(group_features)
        wanted = [*self.features, *self.group_features]
        # Compiled here, once: a request only calls the closures.
        self._on_demand = OnDemandFeatures(on_demand_views, wanted, self.views) if on_demand_views else None
        computed = [f.name for f in self._on_demand.features] if self._on_demand else []
        self._slots = resolve_features(self.features, views, computed)
        # Which view each feature comes from, for the missing-feature metrics (monitor/metrics.py).
        self.feature_views = {
            f: self.views[i] if i >= 0 else "on_demand"
            for f, (i, _) in zip(self.features, self._slots, strict=True)
        }
        self._group_slots = resolve_features(self.group_features, views, computed)
        self._answers = Answers.of(spec, model)
        self._model = model
        self._online = online
        # Copied per request: cheaper than allocating and filling with NaN each time.
        self._template = np.full((1, len(self.features)), np.nan, dtype=np.float64)
        self._warm()

    @classmethod
    def build(
        cls,
        name: str,
        store: MetadataStore,
        storage: LakeStorage,
        online: OnlineStore,
        serves: str | None = None,
    ) -> CapabilityRuntime:
        """Read the capability's specs and the version `serves` names (an alias or `v<number>`; the spec's
        alias by default) from the metadata store and load the model."""
        spec_payload = store.spec("capabilities", name)
        spec = CapabilitySpec.model_validate(spec_payload)
        model_payload = store.spec("models", spec.model)
        model_spec = ModelSpec.model_validate(model_payload)
        selection = select_features(
            store, model_spec.feature_views, [*model_spec.feature_groups, *spec.feature_groups]
        )
        groups = select_features(store, [], spec.feature_groups).names if spec.feature_groups else []
        entity = EntitySpec.model_validate(store.spec("entities", model_spec.entity))
        version = serving_version(store, spec.model, serves or spec.alias)
        if version.training_set_id is not None:
            trained = store.features.training_set(version.training_set_id).lineage
            check_trained_expressions(version, trained.get("on_demand", {}), selection.on_demand_views)
        found = capability_lookup(store, spec)
        model = single_row(load_predictor(storage, version.artifact, version.artifact_format))
        return cls(
            spec,
            version,
            model,
            selection.stored_views,
            entity,
            online,
            on_demand_views=selection.on_demand_views,
            group_features=groups,
            lookup=found[1] if found else None,
            target=_target(spec_payload, model_payload, version),
        )

    def _warm(self) -> None:
        """One prediction before the first request, so the first caller does not pay for lazy setup."""
        self._model.explain(self._template)

    def entity_key(self, inputs: Mapping[str, Any]) -> str:
        """The online store key for the request; invalid_argument names the input field when it is wrong."""
        return checked_entity_key(inputs.get(self.input), self.input, self.input_keys, self.input_key_types)

    def decide(self, inputs: Mapping[str, Any], explain: bool = True) -> Decision:
        """Answer one request: online read -> on-demand features -> predict (with contributions when
        `explain`) -> rules -> top factors. Without `explain` the answer has no factors and costs a plain
        predict: how a shadow is scored (the log keeps no factors) and a caller not allowed to see them."""
        key = self.entity_key(inputs)
        if self._lookup is not None:
            entity = self._entity_of(self._online.read(key, self._lookup))
            if entity is None:
                return self._fallback()
            key = entity
        return self._decided(inputs, self._online.read(key, self.views), explain)

    async def decide_async(self, inputs: Mapping[str, Any], explain: bool = True) -> Decision:
        """`decide` for the event loop: the online reads are awaited (`read_async`), the rest is the same."""
        key = self.entity_key(inputs)
        if self._lookup is not None:
            entity = self._entity_of(await self._online.read_async(key, self._lookup))
            if entity is None:
                return self._fallback()
            key = entity
        found = await self._online.read_async(key, self.views) if self.views else {}
        return self._decided(inputs, found, explain)

    def _entity_of(self, found: Mapping[str, Mapping[str, Any] | None]) -> str | None:
        """The entity key OneID's lookup maps the input to; None for a key it has not seen (or not yet
        materialized)."""
        entity = found[self._lookup[0]] if self._lookup else None
        return None if entity is None else entity_key([entity[k] for k in self.join_keys])

    def _decided(
        self, inputs: Mapping[str, Any], found: Mapping[str, Mapping[str, Any] | None], explain: bool = True
    ) -> Decision:
        """The decision on the online values read for the request (its factors when `explain`)."""
        request = self._on_demand.request_values(inputs) if self._on_demand else {}
        # Nothing stored about the entity: the fallback. (A model of request fields only has no views to miss.)
        if self.views and all(values is None for values in found.values()):
            return self._fallback()
        per_view = [found.get(view) for view in self.views]
        computed = self._on_demand.compute(per_view, request) if self._on_demand else {}
        used = _values(self.features, self._slots, per_view, computed)
        groups = _values(self.group_features, self._group_slots, per_view, computed)
        row = self._template.copy()
        for position, value in enumerate(used.values()):
            if value is not None:
                row[0, position] = _as_float(value)
        if explain:
            scores, explained = self._model.explain(row)
            factors = self._factors(explained[0][:-1], used)
        else:
            scores, factors = self._model.predict(row), []
        decision, score, output = self._answers.one(scores[0])
        return Decision(
            decision_id=str(uuid.uuid4()),
            capability=self.name,
            decision=decision,
            score=score,
            factors=factors,
            model_name=self.model_name,
            model_version=self.model_version,
            fallback=False,
            features={**used, **groups},
            group_features=groups if self.spec.feature_groups else None,
            output=output,
        )

    def decision_for(self, score: float) -> str:
        """The decision of the first rule (highest `min_score` first) the score reaches; below every rule,
        what the capability answers when it cannot decide (a regression: by `value_bands`)."""
        return self._answers.decision_for(score)

    def _factors(self, contributions: np.ndarray, used: dict[str, Any]) -> list[dict[str, Any]]:
        return top_factors(contributions, self.features, used, self.spec.explain_top)

    def _fallback(self) -> Decision:
        """No online values for the entity: the spec's fallback answer, without calling the model."""
        return Decision(
            decision_id=str(uuid.uuid4()),
            capability=self.name,
            decision=self.spec.fallback.decision,
            score=self.spec.fallback.score,
            factors=[],
            model_name=self.model_name,
            model_version=None,
            fallback=True,
            group_features={} if self.spec.feature_groups else None,
            fallback_reason="unknown_entity",
        )
