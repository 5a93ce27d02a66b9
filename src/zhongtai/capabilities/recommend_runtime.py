"""The runtime of a recommendation capability (TASK_RUNTIMES["recommendation"]): top-k items with reasons,
never an item out of stock at the person's store.

Built once: the artifact (ranker, candidate tables, histories) in memory, the stock views' key layout
resolved. A request `{"customer_id": ..., "store_id": ..., "k": 10}` costs at most four online reads: OneID's
lookup of the caller's key, the person's feature views (one read), the candidates' stock at the store (one
batched read) and their stock-out risk (the same read when risk lives in the stock view). Then:

- a person with a history: co-occurrence, ALS and popular candidates, ordered by the lambdarank Booster
  (num_threads=1); a person the model never saw, or with no history: popular items (cold start);
- stock: an item whose in-stock value at the store is false, zero or missing (`unknown: exclude`) is dropped,
  whatever its rank; then items whose risk is above `demote_above` go after every safer item;
- each item carries a reason: "bought with <item>", "matches your purchases", "popular and in stock at your
  store", "you bought it before".
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.capabilities.runtime import Decision, serving_target
from zhongtai.capabilities.traffic import serving_version
from zhongtai.errors import ZhongtaiError
from zhongtai.features.keys import capability_lookup, checked_entity_key
from zhongtai.features.online.base import OnlineStore
from zhongtai.models.recommend_artifact import Recommender
from zhongtai.models.recommend_core import ALS, COOC, POPULAR, REPEAT, History, shelf_order, with_recent
from zhongtai.models.recommend_rank import ranked_pool
from zhongtai.spec.models import CapabilitySpec, EntitySpec, FeatureViewSpec, KeyType, ModelSpec
from zhongtai.spec.recommend_task import RecommendCapabilitySpec

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

# Candidates kept for the stock check beyond k: enough that a store missing many still fills k.
POOL_FACTOR = 5


@dataclass(frozen=True)
class _Slot:
    """Where a `view.feature` is read: the view, the feature, and the order of its entity's join keys
    (`item` first or `store` first)."""

    view: str
    feature: str
    item_first: bool


@dataclass(frozen=True)
class StockRule:
    """The stock rule compiled: the in-stock slot, the risk slot (or None), and the settings."""

    in_stock: _Slot
    risk: _Slot | None
    allow_unknown: bool
    demote_above: float
    drop_above: float | None
    store_type: KeyType


class RecommendRuntime:
    """One recommendation capability ready to answer (thread-safe: decide() only reads)."""

    def __init__(
        self,
        spec: CapabilitySpec,
        model_version: int | None,
        model_name: str,
        recommender: Recommender,
        online: OnlineStore,
        entity: EntitySpec,
        item_type: KeyType,
        stock: StockRule | None,
        *,
        lookup: str | None = None,
        target: str = "",
    ) -> None:
        self.spec = spec
        self.settings = spec.recommend or RecommendCapabilitySpec()
        self.name = spec.name
        self.target = target
        self.loaded_at = time.time()
        self.input = spec.input
        self.model_name = model_name
        self.model_version = model_version
        self._lookup = lookup
        self._person_key = entity.join_keys[0]
        self.input_keys: tuple[str, ...] = (self.input,) if lookup else tuple(entity.join_keys)
        self.input_key_types: tuple[KeyType, ...] = ("string",) if lookup else entity.join_key_types()
        self._model = recommender
        self._online = online
        self._item_int = item_type == "int64"
        self._stock = stock
        # The OpenAPI document lists these beside the key (gateway/openapi.py): the store, a join key the
        # request must carry when stock is looked at, and `k`, which it may leave out.
        self.request_keys: dict[str, KeyType] = {self.settings.store_input: stock.store_type} if stock else {}
        self.optional_request_fields = {
            "k": {
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": self.settings.max_k},
                    {"type": "null"},
                ],
                "description": f"How many items (default {self.settings.k}, also when null)",
            }
        }
        read = [
            *recommender.person_features,
            *([recommender.recent_items] if recommender.recent_items else []),
        ]
        self._person_views = tuple(dict.fromkeys(f.split(".", 1)[0] for f in read))
        self._item_index = {str(key): i for i, key in enumerate(recommender.item_keys)}
        self._by_popularity = np.argsort(
            -(recommender.candidates.recent_popularity + recommender.candidates.popularity), kind="stable"
        )
        self._booster = recommender.booster
        self._item_strings = [str(key) for key in recommender.item_keys]  # stock keys are made per request
        # One prediction before the first request, so the first caller does not pay for lazy setup.
        self._booster.predict(np.zeros((1, len(recommender.features))), num_threads=1)

    @classmethod
    def build(
        cls,
        name: str,
        store: MetadataStore,
        storage: LakeStorage,
        online: OnlineStore,
        serves: str | None = None,
    ) -> RecommendRuntime:
        """Read the capability, its model and the stock views from the registry and load the artifact of
        the version `serves` names (an alias or `v<number>`; the spec's alias by default)."""
        spec = CapabilitySpec.model_validate(store.spec("capabilities", name))
        model_spec = ModelSpec.model_validate(store.spec("models", spec.model))
        if model_spec.recommend is None:
            raise ZhongtaiError(
                "invalid_spec", f"capability '{name}': model '{spec.model}' is not a recommender"
            )
        entity = EntitySpec.model_validate(store.spec("entities", model_spec.entity))
        item_entity = EntitySpec.model_validate(store.spec("entities", model_spec.recommend.item_entity))
        version = serving_version(store, spec.model, serves or spec.alias)
        recommender = Recommender.load(storage, version.artifact)
        settings = spec.recommend or RecommendCapabilitySpec()
        stock = _stock_rule(store, name, settings, item_entity) if settings.stock else None
        found = capability_lookup(store, spec)
        return cls(
            spec,
            version.version,
            version.model,
            recommender,
            online,
            entity,
            item_entity.join_key_types()[0],
            stock,
            lookup=found[1] if found else None,
            target=serving_target(store, name, serves),
        )

    def decide(self, inputs: Mapping[str, Any]) -> Decision:
        """Top-k in-stock items for the person at the store, each with a reason."""
        key = checked_entity_key(inputs.get(self.input), self.input, self.input_keys, self.input_key_types)
        k = self._k(inputs.get("k"))
        store_key = self._store_key(inputs)
        person = self._person(key)
        values = self._person_values(person)
        history = self._history(person, values)
        cold = not len(history.items)
        items, scores, sources, because = self._ranked(history, values) if not cold else self._popular()
        on_shelf, risk, chosen = self._shelf(items, store_key, k)
        answer = [
            {
                "item": self._item(int(items[i])),
                "score": None if math.isnan(scores[i]) else round(float(scores[i]), 6),
                "reason": self._reason(int(sources[i]), int(because[i])),
                "stock_risk": None if risk is None or math.isnan(risk[i]) else round(float(risk[i]), 4),
            }
            for i in chosen
        ]
        logged = {
            **{name: values.get(name) for name in self._model.person_features},
            # the size of the history the candidates came from (never its items)
            "history_items": len(history.items),
            # ranked items passed over because the store's shelf is empty (or its stock unknown)
            "off_shelf_skipped": int((~on_shelf[: chosen.max() + 1]).sum()) if len(chosen) else 0,
        }
        return Decision(
            decision_id=str(uuid.uuid4()),
            capability=self.name,
            decision="popular" if cold else "personalised",
            score=None,
            factors=[],
            model_name=self.model_name,
            model_version=self.model_version,
            fallback=cold,
            fallback_reason="no_history" if cold else None,
            features=logged,
            output={"items": answer},
        )

    def _k(self, value: Any) -> int:
        if value is None:
            return self.settings.k
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON does not tell 15 from 15.0
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= self.settings.max_k:
            raise ZhongtaiError(
                "invalid_argument",
                f"field 'k' must be a whole number from 1 to {self.settings.max_k}",
                f'send {{"k": {self.settings.k}}} or leave it out',
            )
        return value

    def _store_key(self, inputs: Mapping[str, Any]) -> str | None:
        field = self.settings.store_input
        if self._stock is None:
            return None
        return checked_entity_key(inputs.get(field), field, (field,), (self._stock.store_type,))

    def _person(self, key: str) -> str | None:
        """The person's key: the request's own, or OneID's person for a source system's key."""
        if self._lookup is None:
            return key
        found = self._online.read(key, (self._lookup,))[self._lookup]
        if found is None or found.get(self._person_key) is None:
            return None
        return str(found[self._person_key])

    def _history(self, person: str | None, values: Mapping[str, Any]) -> History:
        """The person's items at training, with the recent items read online (if the model names a view of
        them) in front: a purchase since training already counts."""
        if person is None:
            return History.empty()
        history = self._model.history(person)
        recent = values.get(self._model.recent_items) if self._model.recent_items else None
        if not isinstance(recent, str) or not recent:
            return history
        found = [self._item_index.get(key.strip()) for key in recent.split(",")]
        indexes = np.array([i for i in found if i is not None], dtype=np.int64)
        return with_recent(history, indexes, self._model.trained_until)

    def _person_values(self, person: str | None) -> dict[str, Any]:
        if person is None or not self._person_views:
            return {}
        found = self._online.read(person, self._person_views)
        out = {}
        wanted = [
            *self._model.person_features,
            *([self._model.recent_items] if self._model.recent_items else []),
        ]
        for name in wanted:
            view, feature = name.split(".", 1)
            row = found.get(view)
            out[name] = None if row is None else row.get(feature)
        return out

    def _ranked(
        self, history: History, values: Mapping[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        model = self._model
        person = np.array([_number(values.get(n)) for n in model.person_features], dtype=np.float64)
        return ranked_pool(
            model.candidates, self._booster, history, model.trained_until, model.settings, model.items,
            person, self._by_popularity, self.settings.max_k * POOL_FACTOR,
        )  # fmt: skip

    def _popular(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        items = self._by_popularity[: self.settings.max_k * POOL_FACTOR]
        model = self._model.candidates
        shares = (
            model.recent_popularity[items] + model.popularity[items]
        ) / 2  # the order popularity ranks by
        return items, shares, np.full(len(items), POPULAR), np.full(len(items), -1)

    def _shelf(
        self, items: np.ndarray, store_key: str | None, k: int
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """The stock rule over the ranked items: (on the shelf, risk, answer positions). Stock is read in
        batches of k x POOL_FACTOR items, best first, until k items pass (one read when the store stocks
        most of them); an item not read is not on the shelf as far as the answer goes."""
        rule = self._stock
        if rule is None or store_key is None:
            return np.ones(len(items), dtype=bool), None, np.arange(min(k, len(items)))
        on_shelf = np.zeros(len(items), dtype=bool)
        risk = np.full(len(items), np.nan) if rule.risk is not None else None
        chosen = np.zeros(0, dtype=np.int64)
        step = k * POOL_FACTOR
        for start in range(0, len(items), step):
            batch = slice(start, start + step)
            keys = self._stock_keys(items[batch], store_key, rule.in_stock)
            rows = self._online.read_many(rule.in_stock.view, keys)
            on_shelf[batch] = [_on_shelf(row, rule) for row in rows]
            if rule.risk is not None and risk is not None:
                if rule.risk.view != rule.in_stock.view:
                    rows = self._online.read_many(
                        rule.risk.view, self._stock_keys(items[batch], store_key, rule.risk)
                    )
                risk[batch] = [
                    math.nan if row is None else _number(row.get(rule.risk.feature)) for row in rows
                ]
            chosen = shelf_order(on_shelf, risk, rule.demote_above, rule.drop_above)[:k]
            if len(chosen) >= k:
                break
        return on_shelf, risk, chosen

    def _stock_keys(self, items: np.ndarray, store_key: str, slot: _Slot) -> list[str]:
        keys = self._item_strings
        if slot.item_first:
            return [f"{keys[i]}|{store_key}" for i in items]
        return [f"{store_key}|{keys[i]}" for i in items]

    def _item(self, index: int) -> int | str:
        key = str(self._model.item_keys[index])
        return int(key) if self._item_int and key.lstrip("-").isdigit() else key

    def _reason(self, source: int, because: int) -> str:
        if source == COOC and because >= 0:
            titles = self._model.titles
            name = titles[because] if titles and titles[because] else str(self._model.item_keys[because])
            return f"bought with {name}"
        if source == ALS:
            return "matches your purchases"
        if source == REPEAT:
            return "you bought it before"
        return "popular and in stock at your store" if self._stock else "popular"


def _on_shelf(row: Mapping[str, Any] | None, rule: StockRule) -> bool:
    if row is None or row.get(rule.in_stock.feature) is None:
        return rule.allow_unknown
    value = row[rule.in_stock.feature]
    if isinstance(value, bool):
        return value
    return _number(value) > 0


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _stock_rule(
    store: MetadataStore, capability: str, settings: RecommendCapabilitySpec, item_entity: EntitySpec
) -> StockRule:
    rule = settings.stock
    if rule is None:  # callers check; kept for the type checker
        raise ZhongtaiError("invalid_spec", f"capability '{capability}' has no stock rule")
    in_stock = _slot(store, capability, "in_stock", rule.in_stock, item_entity, settings.store_input)
    risk = (
        _slot(store, capability, "risk", rule.risk, item_entity, settings.store_input) if rule.risk else None
    )
    entity = EntitySpec.model_validate(
        store.spec(
            "entities", FeatureViewSpec.model_validate(store.spec("feature_views", in_stock.view)).entity
        )
    )
    store_type = entity.key_types.get(settings.store_input, "string")
    return StockRule(in_stock, risk, rule.unknown == "allow", rule.demote_above, rule.drop_above, store_type)


def _slot(
    store: MetadataStore, capability: str, field: str, value: str, item_entity: EntitySpec, store_input: str
) -> _Slot:
    """Resolve `view.feature` of the stock rule; the view's entity must be keyed by the item and the store."""
    where = f"capabilities.{capability}.recommend.stock.{field}"
    view_name, feature = value.split(".", 1)
    if view_name not in store.registered("feature_views"):
        raise ZhongtaiError("invalid_spec", f"{where}: no feature view '{view_name}'", "apply the view first")
    view = FeatureViewSpec.model_validate(store.spec("feature_views", view_name))
    if feature not in {f.name for f in view.features}:
        raise ZhongtaiError("invalid_spec", f"{where}: view '{view_name}' has no feature '{feature}'")
    keys = EntitySpec.model_validate(store.spec("entities", view.entity)).join_keys
    item_key = item_entity.join_keys[0]
    if sorted(keys) != sorted([item_key, store_input]):
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: view '{view_name}' is keyed by {', '.join(keys)}, not by the item ({item_key}) "
            f"and the store ({store_input})",
            "point it at a view of the item x store entity, or set recommend.store_input",
        )
    return _Slot(view_name, feature, keys[0] == item_key)
