"""What the gateway answers, as frozen dataclasses read from its JSON (unknown fields are kept, never refused).

A task's own outputs (an intent's route, a forecast's interval) and any field a newer gateway adds land in
`Decision.output` under their JSON names, so an older SDK keeps working and still shows them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# The fields every decide answer has; anything else is the capability's own output.
_DECISION_FIELDS = frozenset(
    {
        "decision_id",
        "capability",
        "decision",
        "score",
        "factors",
        "model",
        "fallback",
        "fallback_reason",
        "arm",
        "latency_ms",
        "index",
    }
)


@dataclass(frozen=True, slots=True)
class Factor:
    """One of the features that moved the score most, with its value and its contribution to the raw score."""

    feature: str
    value: Any
    contribution: float | None


@dataclass(frozen=True, slots=True)
class ModelRef:
    """The model version that answered (version None on a fallback); alias where the gateway names it."""

    name: str
    version: int | None
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """One answer of a capability."""

    decision_id: str
    capability: str
    decision: str
    score: float | None
    factors: tuple[Factor, ...]
    model: ModelRef
    fallback: bool
    latency_ms: float | None
    # Why the fallback answered (no_features, unknown_entity, model_error...); None when the model did.
    fallback_reason: str | None
    # The traffic arm that answered (A/B, canary): the capability's alias when it has no traffic policy.
    arm: str | None
    # Every other field of the answer (a task's outputs, feature groups, fields of newer gateways), read-only.
    output: Mapping[str, Any]
    # True when the gateway answered a retry with the answer it kept for the request's Idempotency-Key.
    replayed: bool = False

    @classmethod
    def from_json(cls, body: Mapping[str, Any], replayed: bool = False) -> Decision:
        """A decide answer (or a decided result of a batch) as the gateway sent it."""
        model = body.get("model") or {}
        return cls(
            decision_id=str(body["decision_id"]),
            capability=str(body["capability"]),
            decision=str(body["decision"]),
            score=body.get("score"),
            factors=tuple(
                Factor(f.get("feature", ""), f.get("value"), f.get("contribution"))
                for f in body.get("factors") or ()
            ),
            model=ModelRef(str(model.get("name", "")), model.get("version"), model.get("alias")),
            fallback=bool(body.get("fallback", False)),
            latency_ms=body.get("latency_ms"),
            fallback_reason=body.get("fallback_reason"),
            arm=body.get("arm"),
            output=MappingProxyType({k: v for k, v in body.items() if k not in _DECISION_FIELDS}),
            replayed=replayed,
        )


@dataclass(frozen=True, slots=True)
class ItemError:
    """An input of a batch that could not be decided: its position, and the API's error for it."""

    index: int
    code: str
    message: str
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """A batch decide's answer: one result per input, in the order of the inputs."""

    capability: str
    results: tuple[Decision | ItemError, ...]
    latency_ms: float | None
    replayed: bool = False

    @classmethod
    def from_json(cls, body: Mapping[str, Any], replayed: bool = False) -> BatchResult:
        """A batch answer as the gateway sent it."""
        results: list[Decision | ItemError] = []
        for item in body.get("results") or ():
            error = item.get("error")
            if error is None:
                results.append(Decision.from_json(item, replayed))
            else:
                results.append(
                    ItemError(
                        int(item["index"]), str(error["code"]), str(error["message"]), error.get("hint")
                    )
                )
        return cls(str(body["capability"]), tuple(results), body.get("latency_ms"), replayed)

    @property
    def decisions(self) -> list[Decision]:
        """The inputs that were decided."""
        return [r for r in self.results if isinstance(r, Decision)]

    @property
    def errors(self) -> list[ItemError]:
        """The inputs that were not, each with its index and the reason."""
        return [r for r in self.results if isinstance(r, ItemError)]

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[Decision | ItemError]:
        return iter(self.results)

    def __getitem__(self, index: int) -> Decision | ItemError:
        return self.results[index]


@dataclass(frozen=True, slots=True)
class CapabilityInfo:
    """A capability the gateway serves now: its input field, the model version behind it, its decisions."""

    name: str
    description: str | None
    input: str
    model: ModelRef
    decisions: tuple[str, ...]
    loaded_at: str | None
    # The arms and shadows with the version each serves now, as the gateway lists them.
    traffic: tuple[Mapping[str, Any], ...] = ()
    reload_error: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CapabilityInfo:
        """One entry of `GET /v1/capabilities`."""
        model = body.get("model") or {}
        return cls(
            name=str(body["name"]),
            description=body.get("description"),
            input=str(body.get("input", "")),
            model=ModelRef(str(model.get("name", "")), model.get("version"), model.get("alias")),
            decisions=tuple(body.get("decisions") or ()),
            loaded_at=body.get("loaded_at"),
            traffic=tuple(MappingProxyType(dict(t)) for t in body.get("traffic") or ()),
            reload_error=body.get("reload_error"),
        )
