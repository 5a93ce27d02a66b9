"""The runtime of a text classification capability (intent): TASK_RUNTIMES["text_classification"].

A request carries the entity key (or a source system's key that OneID maps to the person) and the text:
`{"customer_id": 1024, "text": "我的快递怎么还没到"}`. `decide()` reads the person's features online (one
round trip, plus the OneID lookup), classifies the text with the loaded head (the encoder is the shared,
preloaded one), and routes the answer by the capability's `routing:` block: `human_review` when the
confidence is under `min_confidence`, the text is out of scope (`other`) or an escalation rule over the
person's features holds, `auto` otherwise; the queue follows. The answer's fields (intent, confidence, top
intents, route, queue, escalation) are the decision's `output`. A person unknown online is still answered,
from the text alone.

The text is free text with PII in it: it is never put in an error, and the decision log scrubs every input
string before writing (capabilities/decision_log.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.features.keys import capability_lookup, checked_entity_key
from zhongtai.features.on_demand import Evaluator, compile_expression
from zhongtai.features.online.base import OnlineStore, entity_key
from zhongtai.features.selection import select_features
from zhongtai.spec.expressions import Reference, parse_expression
from zhongtai.spec.models import CapabilitySpec, EntitySpec, FeatureViewSpec, KeyType, ModelSpec
from zhongtai.spec.text_task import RoutingSpec

if TYPE_CHECKING:
    from zhongtai.capabilities.runtime import Decision
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.records import ModelVersion
    from zhongtai.meta.store import MetadataStore
    from zhongtai.models.text import TextModel

AUTO, HUMAN_REVIEW = "auto", "human_review"
MAX_TEXT_CHARS = 5000
# Names an escalation rule reads besides the person's features.
ANSWER_FIELDS = ("intent", "confidence")


class TextRuntime:
    """One text capability ready to answer: built once, then `decide()` per request (thread-safe)."""

    def __init__(
        self,
        spec: CapabilitySpec,
        version: ModelVersion,
        model: TextModel,
        views: Sequence[FeatureViewSpec],
        entity: EntitySpec,
        online: OnlineStore,
        *,
        lookup: str | None = None,
        target: str = "",
    ) -> None:
        from zhongtai.capabilities.runtime import resolve_features

        self.spec = spec
        self.routing = spec.routing or RoutingSpec()
        self.target = target
        self.loaded_at = time.time()
        self.name = spec.name
        self.input = spec.input
        self.model_name = version.model
        self.model_version: int | None = version.version
        self.join_keys = tuple(entity.join_keys)
        self.views = tuple(v.name for v in views)
        self._lookup = (lookup,) if lookup else None
        self.input_keys = (self.input,) if lookup else self.join_keys
        self.input_key_types: tuple[KeyType, ...] = ("string",) if lookup else entity.join_key_types()
        # The OpenAPI document lists these beside the key (gateway/openapi.py).
        self.request_fields = {
            self.routing.text: {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_TEXT_CHARS,
                "description": "The text to classify (a ticket, a chat message), in "
                + " or ".join(model.languages),
            }
        }
        # ... and the fields the answer adds (gateway/openapi.py).
        self.output_schema = {
            "intent": {
                "type": "string",
                "description": "The class, or the model's `other` under its threshold",
            },
            "confidence": {"type": "number", "description": "The probability of the most likely class"},
            "top_intents": {"type": "array", "description": "The most likely classes with their probability"},
            "route": {"type": "string", "enum": [AUTO, HUMAN_REVIEW]},
            "queue": {"type": "string", "description": "The queue the request goes to"},
            "escalation": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": "The escalation rule that sent it to a person",
            },
        }
        self._model = model
        self._online = online
        self._profile = model.profile
        self._slots = resolve_features(self._profile, views)
        self._escalations = [
            (
                rule.name,
                rule.queue,
                _compile(rule.when, self.views, f"capabilities.{self.name}.routing.escalate[{i}].when"),
            )
            for i, rule in enumerate(self.routing.escalate)
        ]
        self._queues = dict(self.routing.queues)
        self._classes = np.array(model.head.classes, dtype=object)
        self._warm()

    @classmethod
    def build(
        cls,
        name: str,
        store: MetadataStore,
        storage: LakeStorage,
        online: OnlineStore,
        serves: str | None = None,
    ) -> TextRuntime:
        """Read the capability's specs and the version `serves` names (an alias or `v<number>`; the spec's
        alias by default) from the metadata store and load the model."""
        from zhongtai.capabilities.runtime import serving_target
        from zhongtai.capabilities.traffic import serving_version
        from zhongtai.models.text import load_text_model

        spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
        model_spec = ModelSpec.model_validate(store.spec("models", spec.model))
        routing = spec.routing or RoutingSpec()
        stored = select_features(store, model_spec.feature_views, model_spec.feature_groups).stored_views
        names = [v.name for v in stored]
        extra = [
            FeatureViewSpec.model_validate(store.spec("feature_views", view))
            for view in routing.feature_views
            if view not in names
        ]
        entity = EntitySpec.model_validate(store.spec("entities", model_spec.entity))
        version = serving_version(store, spec.model, serves or spec.alias)
        found = capability_lookup(store, spec)
        model = load_text_model(storage, version.artifact)
        return cls(
            spec,
            version,
            model,
            [*stored, *extra],
            entity,
            online,
            lookup=found[1] if found else None,
            target=serving_target(store, name, serves),
        )

    def _warm(self) -> None:
        """One classification before the first request: the encoder and the n-gram transform load lazily."""
        self._model.classify(["warm up"], np.full((1, len(self._profile)), np.nan))

    def decide(self, inputs: Mapping[str, Any]) -> Decision:
        """Answer one request: the person's features -> class probabilities -> `other` threshold -> route."""
        return self.decide_many([inputs])[0]

    def decide_many(self, requests: Sequence[Mapping[str, Any]]) -> list[Decision]:
        """Answer many requests with one classification of all their texts (batch scoring's chunks)."""
        from zhongtai.capabilities.runtime import Decision

        texts = [self._text(inputs) for inputs in requests]
        profile = np.full((len(requests), len(self._profile)), np.nan)
        read, used = [], []
        for row, inputs in enumerate(requests):
            key = checked_entity_key(
                inputs.get(self.input), self.input, self.input_keys, self.input_key_types
            )
            per_view = self._person_values(key)
            values: dict[str, Any] = {}
            for position, (feature, (index, column)) in enumerate(
                zip(self._profile, self._slots, strict=True)
            ):
                found = per_view[index]
                value = None if found is None else found.get(column)
                values[feature] = value
                profile[row, position] = _as_float(value)
            read.append(per_view)
            used.append(values)
        answers = []
        for proba, per_view, values in zip(self._model.classify(texts, profile), read, used, strict=True):
            order = np.argsort(-proba, kind="stable")
            best, confidence = str(self._classes[order[0]]), float(proba[order[0]])
            intent = best if confidence >= self._model.threshold else self._model.other
            output = self._route(intent, confidence, per_view)
            output["top_intents"] = [
                {"intent": str(self._classes[i]), "confidence": round(float(proba[i]), 4)}
                for i in order[: self.routing.top]
            ]
            answers.append(
                Decision(
                    decision_id=str(uuid.uuid4()),
                    capability=self.name,
                    decision=intent,
                    score=confidence,
                    factors=[],
                    model_name=self.model_name,
                    model_version=self.model_version,
                    fallback=False,
                    features=values,
                    output=output,
                )
            )
        return answers

    def _text(self, inputs: Mapping[str, Any]) -> str:
        field = self.routing.text
        text = inputs.get(field)
        # The text itself is never quoted: it is free text with PII in it.
        if not isinstance(text, str) or not text.strip():
            raise ZhongtaiError(
                "invalid_argument",
                f"field '{field}' must be a non-empty string",
                f'send {{"{self.input}": ..., "{field}": "the customer\'s message"}}',
            )
        if len(text) > MAX_TEXT_CHARS:
            raise ZhongtaiError(
                "invalid_argument",
                f"field '{field}' holds {len(text)} characters (at most {MAX_TEXT_CHARS})",
                "send the message itself, without attachments or history",
            )
        return text

    def _person_values(self, key: str) -> list[Mapping[str, Any] | None]:
        """The person's values of every view read (None per view when unknown online)."""
        if not self.views:
            return []
        if self._lookup is not None:
            entity = self._online.read(key, self._lookup)[self._lookup[0]]
            if entity is None:  # a key OneID has not seen: the text alone answers
                return [None] * len(self.views)
            key = entity_key([entity[k] for k in self.join_keys])
        found = self._online.read(key, self.views)
        return [found.get(view) for view in self.views]

    def _route(
        self, intent: str, confidence: float, per_view: Sequence[Mapping[str, Any] | None]
    ) -> dict[str, Any]:
        answer = {"intent": intent, "confidence": confidence}
        values = per_view if per_view else [None] * len(self.views)
        for name, queue, when in self._escalations:
            if when(values, answer) is True:
                return {**answer, "route": HUMAN_REVIEW, "queue": queue, "escalation": name}
        if intent == self._model.other or confidence < self.routing.min_confidence:
            return {**answer, "route": HUMAN_REVIEW, "queue": self.routing.review_queue, "escalation": None}
        queue = self._queues.get(intent, self.routing.default_queue)
        return {**answer, "route": AUTO, "queue": queue, "escalation": None}


def _compile(text: str, views: Sequence[str], where: str) -> Evaluator:
    """An escalation rule compiled once: `intent` and `confidence` bare, the person's features as
    `view.feature` of the views the runtime reads."""
    try:
        tree = parse_expression(text)
    except ValueError as exc:
        raise ZhongtaiError("invalid_spec", f"{where}: {exc}") from exc
    positions = {view: i for i, view in enumerate(views)}

    def resolve(ref: Reference) -> Evaluator:
        name = ref.name
        if ref.view is None:
            if name not in ANSWER_FIELDS:
                raise ZhongtaiError(
                    "invalid_spec",
                    f"{where}: unknown name '{name}'",
                    f"use {' or '.join(ANSWER_FIELDS)}, or view.feature of {', '.join(views) or 'a view'}",
                )
            return lambda values, answer: answer.get(name)
        if ref.view not in positions:
            raise ZhongtaiError(
                "invalid_spec",
                f"{where}: view '{ref.view}' is not read by this capability",
                "list it in routing.feature_views",
            )
        index = positions[ref.view]

        def stored(values: Any, answer: Mapping[str, Any]) -> Any:
            found = values[index]
            return None if found is None else found.get(name)

        return stored

    return compile_expression(tree, resolve)


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
