"""A loaded bundle: one capability deciding in process, with no platform behind it.

`load_bundle(folder)` checks every file against the manifest's SHA-256, then builds what a decision needs
once (the models, the compiled on-demand features, the rules); `Bundle.decide(inputs)` answers as the
gateway does for the versions the bundle was exported with: the same checks of the entity key, the same
fallback, score, decision and top factors. Under a traffic split the bundle holds every arm (`Arm`) and
picks one per request by the gateway's sticky hash of the entity key.

Feature values come from the caller (`views`: each feature view's values, as the online store holds them)
or from the bundle's snapshot of the online store, read by entity key. A capability called with a source
system's key (`input_dataset`) reads OneID's lookup of that key from the snapshot first, as the gateway
reads it from the online store.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .arms import ArmChooser, sticky_key
from .errors import EdgeError
from .expressions import Evaluator, cast, compile_tree
from .keys import checked_key
from .manifest import listed, read_manifest
from .rules import Rules, top_factors
from .scoring import Scorer, load_scorer

CAPABILITY_FILE = "capability.json"
SNAPSHOT_FILE = "snapshot.json"
_REQUEST_TYPES: dict[str, tuple[type, ...]] = {
    "float64": (int, float),
    "int64": (int,),
    "bool": (bool,),
    "string": (str,),
}
ViewValues = Mapping[str, Mapping[str, Any] | None]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise EdgeError("invalid_argument", f"{path} is not JSON") from None


def _as_float(value: Any) -> float:
    """A feature value as the model sees it; anything not numeric (None, text) is missing."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class OnDemand:
    """The bundle's on-demand features, compiled once from their checked trees."""

    def __init__(self, body: Mapping[str, Any], views: Sequence[str]) -> None:
        positions = {name: i for i, name in enumerate(views)}
        self.request: dict[str, str] = dict(body.get("request", {}))
        self.features: list[tuple[str, str, Evaluator]] = []
        for feature in body.get("features", []):
            tree = compile_tree(feature["tree"], self._resolver(positions))
            self.features.append((feature["name"], feature["type"], tree))

    def _resolver(self, positions: Mapping[str, int]) -> Any:
        def resolve(view: str | None, name: str) -> Evaluator:
            if view is None:
                return lambda views, request: request.get(name)
            if view not in positions:
                raise EdgeError("invalid_argument", f"an on-demand feature reads view '{view}', not bundled")
            index = positions[view]

            def stored(views: Sequence[Mapping[str, Any] | None], request: Mapping[str, Any]) -> Any:
                values = views[index]
                return None if values is None else values.get(name)

            return stored

        return resolve

    def request_values(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The request fields from a decision request, type-checked; the value is never quoted."""
        out = {}
        for name, kind in self.request.items():
            if name not in inputs:
                raise EdgeError(
                    "invalid_argument",
                    f"field '{name}' is required: on-demand features are computed from it",
                    f'send {{"{name}": ...}} (a {kind}, or null when unknown)',
                )
            value = inputs[name]
            allowed = _REQUEST_TYPES[kind]
            if value is not None and (
                not isinstance(value, allowed) or (bool not in allowed and isinstance(value, bool))
            ):
                raise EdgeError(
                    "invalid_argument", f"field '{name}' must be a {kind}, got a {type(value).__name__}"
                )
            out[name] = float(value) if kind == "float64" and isinstance(value, int | float) else value
        return out

    def compute(
        self, views: Sequence[Mapping[str, Any] | None], request: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Every feature's value for one request."""
        return {name: cast(evaluate(views, request), kind) for name, kind, evaluate in self.features}


class Arm:
    """One traffic arm of the bundle: a model version with its feature order, rules and on-demand features."""

    def __init__(
        self, body: Mapping[str, Any], views: Sequence[str], scorer: Scorer, explain_top: int
    ) -> None:
        self.name: str = body["name"]
        self.model_name: str = body["model"]["name"]
        self.model_version: int = body["model"]["version"]
        self.features = tuple(body["features"])
        self._slots = [tuple(s) for s in body["slots"]]
        self.group_features = tuple(body["group_features"])
        self._group_slots = [tuple(s) for s in body["group_slots"]]
        classes = tuple(body["model"].get("classes", ()))
        bands = tuple((lowest, decision) for lowest, decision in body["rules"])
        self._rules = Rules(body["model"]["task"], bands, body["otherwise"], classes)
        on_demand = body.get("on_demand") or {}
        self.on_demand = OnDemand(on_demand, views) if on_demand.get("features") else None
        self._scorer = scorer
        self._explain_top = explain_top
        self._template = np.full((1, len(self.features)), np.nan, dtype=np.float64)

    def answer(
        self, per_view: Sequence[Mapping[str, Any] | None], request: Mapping[str, Any]
    ) -> tuple[str, float, list[dict[str, Any]], dict[str, Any] | None, dict[str, Any]]:
        """Decision, score, top factors, task output and feature-group values of one entity's values."""
        computed = self.on_demand.compute(per_view, request) if self.on_demand else {}
        used = _values(self.features, self._slots, per_view, computed)
        groups = _values(self.group_features, self._group_slots, per_view, computed)
        row = self._template.copy()
        for position, value in enumerate(used.values()):
            if value is not None:
                row[0, position] = _as_float(value)
        scores, explained = self._scorer.explain(row)
        decision, score, output = self._rules.one(scores[0])
        factors = top_factors(explained[0][:-1], self.features, used, self._explain_top)
        return decision, score, factors, output, groups


class Bundle:
    """One capability ready to decide in process: built once by `load_bundle`, then `decide()` per request."""

    def __init__(
        self, folder: Path, manifest: Mapping[str, Any], body: Mapping[str, Any], arms: list[Arm]
    ) -> None:
        self.folder = folder
        self.manifest = dict(manifest)
        self.name: str = body["capability"]
        self.input: str = body["input"]
        self._input_keys = tuple(body["input_keys"])
        self._input_key_types = tuple(body["input_key_types"])
        self._join_keys = tuple(body["join_keys"])
        self._lookup: str | None = body.get("lookup")
        self.views = tuple(body["views"])
        self._has_groups = bool(body.get("feature_groups"))
        self._fallback = body["fallback"]
        self.arms = arms
        weights = [float(a["weight"]) for a in body["arms"]]
        self._chooser = ArmChooser(self.name, weights)
        # The heaviest arm speaks for the bundle where one version is shown (as the gateway's listing does).
        main = arms[max(range(len(arms)), key=lambda i: weights[i])]
        self.arm, self.model_name, self.model_version = main.name, main.model_name, main.model_version
        self._snapshot: dict[str, dict[str, Any]] | None = None
        if SNAPSHOT_FILE in manifest["files"]:
            self._snapshot = _read_json(folder / SNAPSHOT_FILE)["views"]

    @property
    def snapshot_keys(self) -> list[str]:
        """The entity keys the bundle's snapshot holds values for (input keys when the capability maps a
        source system's key to its entity)."""
        if self._snapshot is None:
            return []
        if self._lookup is not None:
            return sorted(self._snapshot.get(self._lookup, {}))
        return sorted({k for values in self._snapshot.values() for k in values})

    def entity_key(self, inputs: Mapping[str, Any]) -> str:
        """The store key of the request's input field; invalid_argument names the field when it is wrong."""
        return checked_key(inputs.get(self.input), self.input, self._input_keys, self._input_key_types)

    def decide(self, inputs: Mapping[str, Any], views: ViewValues | None = None) -> dict[str, Any]:
        """Answer one request as the gateway answers it, through the arm the entity key falls in. `views`
        gives each feature view's values for the entity (a view missing or None: nothing stored); without
        it they are read from the snapshot."""
        arm = self.arms[self._chooser.choose(sticky_key(inputs, self.input))]
        key = self.entity_key(inputs)
        if views is None:
            found = self._read_snapshot(key)
            if found is None:
                return self._fallback_answer(arm)
        else:
            found = {view: views.get(view) for view in self.views}
        request = arm.on_demand.request_values(inputs) if arm.on_demand else {}
        if self.views and all(found.get(view) is None for view in self.views):
            return self._fallback_answer(arm)
        decision, score, factors, output, groups = arm.answer([found.get(v) for v in self.views], request)
        answer = self._answer(arm, decision, score, factors)
        answer["model"]["version"] = arm.model_version
        answer["fallback"] = False
        if self._has_groups:
            answer["features"] = groups
        if output:
            answer.update(output)
        return answer

    def _read_snapshot(self, key: str) -> dict[str, Any] | None:
        if self._snapshot is None:
            raise EdgeError(
                "invalid_argument",
                f"bundle of {self.name} holds no snapshot of feature values",
                "pass the entity's feature values (views=...), or export the bundle with --entities",
            )
        if self._lookup is not None:
            entity = self._snapshot.get(self._lookup, {}).get(key)
            if entity is None:  # a key OneID had not seen when the snapshot was taken
                return None
            key = "|".join(str(entity[k]) for k in self._join_keys)
        return {view: self._snapshot.get(view, {}).get(key) for view in self.views}

    def _answer(
        self, arm: Arm, decision: str, score: float | None, factors: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return {
            "decision_id": str(uuid.uuid4()),
            "capability": self.name,
            "decision": decision,
            "score": score,
            "factors": factors,
            "model": {"name": arm.model_name, "version": None},
            "fallback": True,
            "arm": arm.name,
        }

    def _fallback_answer(self, arm: Arm) -> dict[str, Any]:
        """Nothing known about the entity: the capability's fallback, without calling the model."""
        answer = self._answer(arm, self._fallback["decision"], self._fallback.get("score"), [])
        if self._has_groups:
            answer["features"] = {}
        return answer


def _values(
    features: Sequence[str],
    slots: Sequence[tuple[Any, ...]],
    per_view: Sequence[Mapping[str, Any] | None],
    computed: Mapping[str, Any],
) -> dict[str, Any]:
    """Each feature's value from its slot: a view's values (index, column) or an on-demand result (-1)."""
    out = {}
    for feature, (index, column) in zip(features, slots, strict=True):
        if index < 0:
            out[feature] = computed[column]
        else:
            values = per_view[index]
            out[feature] = None if values is None else values.get(column)
    return out


def load_bundle(folder: str | Path) -> Bundle:
    """Load the bundle in `folder` after checking every file against its manifest; EdgeError when a file is
    missing, changed or malformed."""
    where = Path(folder)
    manifest = read_manifest(where)
    body = _read_json(listed(manifest, where, CAPABILITY_FILE))
    try:
        arms = []
        for arm in body["arms"]:
            model = arm["model"]
            path = listed(manifest, where, model["files"][0])
            classes = tuple(model.get("classes", ()))
            scorer = load_scorer(path, model["format"], len(arm["features"]), classes)
            arms.append(Arm(arm, body["views"], scorer, int(body["explain_top"])))
        return Bundle(where, manifest, body, arms)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise EdgeError(
            "invalid_argument",
            f"{where / CAPABILITY_FILE} is malformed ({type(exc).__name__})",
            "export the bundle again",
        ) from None
