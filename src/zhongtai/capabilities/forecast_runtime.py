"""The runtime of a capability over a forecast model (`stock-risk`): a look-up of the served version's forecasts.

It answers from the artifact of the version the capability's alias points at, loaded once at build: the
forecast of the next days and their total, the total's interval, the stock-out risk (the score) and the
decision of the capability's score bands on that risk. Reading the artifact rather than the published view
keeps an answer consistent with the version it names: an alias move rebuilds the runtime (its `target`
changes) and the next answer is the new version's, whereas the online view changes only once that version's
outputs are published and materialized. Both hold the same numbers for the same version. The
capability's feature groups (the published view, today's shelf) are read from the online store in one round
trip and returned beside the answer under `features`, as any capability's are.

A request names the series by the entity's join keys, each in its own field (`{"product_id": 1001,
"store_id": 3}`), or all of them as a list in the capability's `input` field. A series the version has no
forecast for gets the capability's fallback.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.capabilities.runtime import Decision, serving_target
from zhongtai.capabilities.traffic import serving_version
from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.features.keys import checked_entity_key
from zhongtai.features.selection import select_features
from zhongtai.models.forecast import FORMAT, ForecastArtifact, load_forecast
from zhongtai.spec.models import CapabilitySpec, EntitySpec, KeyType, ModelSpec

if TYPE_CHECKING:
    from zhongtai.features.online.base import OnlineStore
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.records import ModelVersion
    from zhongtai.meta.store import MetadataStore


class ForecastRuntime:
    """One forecast capability ready to answer: built once, then `decide()` per request (thread-safe)."""

    def __init__(
        self,
        spec: CapabilitySpec,
        version: ModelVersion,
        artifact: ForecastArtifact,
        entity: EntitySpec,
        online: OnlineStore,
        group_members: Sequence[tuple[str, str]] = (),
        target: str = "",
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.target = target
        self.loaded_at = time.time()
        self.input = spec.input
        self.input_keys = tuple(entity.join_keys)
        self.input_key_types: tuple[KeyType, ...] = entity.join_key_types()
        self.model_name = version.model
        self.model_version: int | None = version.version
        self._artifact = artifact
        self._online = online
        self._members = tuple(group_members)
        self._views = tuple(dict.fromkeys(view for view, _ in self._members))
        self._rules = tuple((r.min_score, r.decision) for r in spec.ranked_decisions())
        document = artifact.document
        self._days = int(document["risk_days"])
        self._level = int(document["levels"][0])
        start = artifact.forecast_date + timedelta(days=1)
        self._dates = [(start + timedelta(days=d)).isoformat() for d in range(self._days)]
        self._as_of = artifact.forecast_date.isoformat()

    @classmethod
    def build(
        cls,
        name: str,
        store: MetadataStore,
        storage: LakeStorage,
        online: OnlineStore,
        serves: str | None = None,
    ) -> ForecastRuntime:
        """Read the capability, its model's entity and the version `serves` names (an alias or `v<number>`;
        the spec's alias by default), and load the version's forecasts."""
        spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
        model = ModelSpec.model_validate(store.spec("models", spec.model))
        entity = EntitySpec.model_validate(store.spec("entities", model.entity))
        version = serving_version(store, spec.model, serves or spec.alias)
        if version.artifact_format != FORMAT:
            raise ZhongtaiError(
                "invalid_argument",
                f"capability '{name}': {spec.model} v{version.version} is a {version.artifact_format} "
                f"artifact, not {FORMAT}",
                "retrain the model as task forecast",
            )
        artifact = load_forecast(storage, version.artifact)
        members: tuple[tuple[str, str], ...] = ()
        if spec.feature_groups:
            selection = select_features(store, [], spec.feature_groups)
            if selection.on_demand_views:
                raise ZhongtaiError(
                    "invalid_spec",
                    f"capability '{name}' feature_groups: a forecast capability returns stored features only, "
                    f"and {', '.join(v.name for v in selection.on_demand_views)} are computed on demand",
                )
            members = selection.members
        target = serving_target(store, name, serves)
        return cls(spec, version, artifact, entity, online, members, target=target)

    def entity_key(self, inputs: Mapping[str, Any]) -> str:
        """The series key: all join keys as a list in `input`, or each join key in its own field; an error
        names the field at fault, never its value."""
        if self.input in inputs:
            return checked_entity_key(inputs[self.input], self.input, self.input_keys, self.input_key_types)
        pairs = list(zip(self.input_keys, self.input_key_types, strict=True))
        hint = "send " + json.dumps({key: 100005 if kind == "int64" else "A100" for key, kind in pairs})
        return "|".join(
            checked_entity_key(inputs.get(key), key, (key,), (kind,), hint) for key, kind in pairs
        )

    def decide(self, inputs: Mapping[str, Any]) -> Decision:
        """Answer one request: the series' forecast, interval and stock-out risk, and the band it falls in."""
        key = self.entity_key(inputs)
        features = self._group_features(key)
        row = self._artifact.index.get(key)
        if row is None:
            return self._fallback(features)
        arrays = self._artifact.arrays
        level = self._level
        days = [
            {
                "date": self._dates[d],
                "mean": _number(arrays["mean"][row, d]),
                "lo": _number(arrays[f"lo_{level}"][row, d]),
                "hi": _number(arrays[f"hi_{level}"][row, d]),
            }
            for d in range(self._days)
        ]
        risk = _number(arrays["risk"][row]) if "risk" in arrays else None
        output: dict[str, Any] = {
            "forecast": {
                "as_of": self._as_of,
                "days": self._days,
                "total": _number(arrays["sum_mean"][row]),
                "daily": days,
            },
            "interval": {
                "level": level,
                "lo": _number(arrays[f"sum_lo_{level}"][row]),
                "hi": _number(arrays[f"sum_hi_{level}"][row]),
            },
            "risk": risk,
        }
        if "stock" in arrays:
            output["stock_position"] = _number(arrays["stock"][row])
        return Decision(
            decision_id=str(uuid.uuid4()),
            capability=self.name,
            decision=self.decision_for(risk),
            score=risk,
            factors=[],
            model_name=self.model_name,
            model_version=self.model_version,
            fallback=False,
            features=features or {},
            group_features=features,
            output=output,
        )

    def _group_features(self, key: str) -> dict[str, Any] | None:
        """The feature groups' values for the series (None when the capability names no group)."""
        if not self._members:
            return None
        try:
            found = self._online.read(key, self._views)
        except ZhongtaiError as exc:
            if exc.code != ErrorCode.UNAVAILABLE:
                raise
            return None  # the forecast is the artifact's: an online outage costs only the features beside it
        values = {}
        for view, feature in self._members:
            stored = found.get(view)
            values[feature] = None if stored is None else stored.get(feature)
        return values

    def decision_for(self, risk: float | None) -> str:
        """The decision of the first band (highest `min_score` first) the risk reaches; without a risk (no
        stock column), the capability's fallback decision."""
        if risk is not None:
            for min_score, decision in self._rules:
                if risk >= min_score:
                    return decision
        return self.spec.fallback.decision

    def _fallback(self, features: dict[str, Any] | None) -> Decision:
        return Decision(
            decision_id=str(uuid.uuid4()),
            capability=self.name,
            decision=self.spec.fallback.decision,
            score=self.spec.fallback.score,
            factors=[],
            model_name=self.model_name,
            model_version=None,
            fallback=True,
            features=features or {},
            group_features=features,
            fallback_reason="unknown_entity",
        )


def _number(value: Any) -> float | None:
    """A JSON number, rounded for people; NaN (unknown stock) as null."""
    number = float(value)
    return round(number, 4) if np.isfinite(number) else None
