"""Recommendation settings: the model side (`ModelSpec.recommend`) and the capability side
(`CapabilitySpec.recommend`: k, the store in the request, the stock rules).

A recommendation model learns from interactions: the model's `label.sql` returns one row per interaction with
the model entity's join key (the person), the item key (`recommend.item`), the time (`label.timestamp`) and,
optionally, a weight (`recommend.weight`, quantity say). The stock rules belong to the capability, because
they are about where and when an answer is given, not about what was learnt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from zhongtai.spec.base import Name, Spec

_VIEW_FEATURE = re.compile(r"^[a-z][a-z0-9_]{0,62}\.[a-z][a-z0-9_]{0,62}$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _view_feature(value: str) -> str:
    if not _VIEW_FEATURE.match(value):
        raise ValueError(f"expected view.feature, got {value!r}")
    return value


def _column(value: str) -> str:
    if not _COLUMN.match(value):
        raise ValueError(f"expected a column name, got {value!r}")
    return value


ViewFeature = Annotated[str, AfterValidator(_view_feature)]
Column = Annotated[str, AfterValidator(_column)]


class CandidateSourcesSpec(Spec):
    """How many candidates each generator proposes per person before the ranker orders them."""

    cooccurrence: int = Field(
        default=100, ge=0, le=2000, description="Items bought together with the person's recent items."
    )
    als: int = Field(
        default=100, ge=0, le=2000, description="Items nearest the person's implicit-ALS vector (0: no ALS)."
    )
    popular: int = Field(
        default=50, ge=1, le=2000, description="The most popular items (also the cold start)."
    )
    neighbours: int = Field(
        default=50, ge=1, le=500, description="Co-occurring items kept per item in the candidate table."
    )
    als_factors: int = Field(default=32, ge=2, le=256, description="Latent factors of the ALS model.")
    als_iterations: int = Field(default=15, ge=1, le=100, description="ALS sweeps over the data.")
    als_regularization: float = Field(default=0.05, gt=0, description="ALS L2 regularization.")
    als_alpha: float = Field(
        default=10.0, gt=0, description="ALS confidence per unit of weight (1 + alpha x weight)."
    )


class RankerSpec(Spec):
    """The LightGBM lambdarank ranker over the candidates."""

    num_boost_round: int = Field(default=150, ge=1, le=5000, description="Boosting rounds.")
    learning_rate: float = Field(default=0.05, gt=0, le=1, description="Shrinkage per round.")
    num_leaves: int = Field(default=31, ge=2, le=1024, description="Leaves per tree.")
    min_data_in_leaf: int = Field(default=50, ge=1, description="Fewest candidates in a leaf.")
    max_users: int = Field(
        default=20_000, ge=10, description="Persons sampled (seeded) for the ranker's training examples."
    )


class ItemsSpec(Spec):
    """What is known of the items beyond their interactions, from SQL over lake datasets."""

    sql: str = Field(
        description="SQL returning the item key column (`recommend.item`) and the columns below."
    )
    category: Column | None = Field(
        default=None, description="A category column: the person's share of purchases in it is a feature."
    )
    attributes: list[Column] = Field(default=[], description="Numeric columns fed to the ranker (price...).")
    title: Column | None = Field(
        default=None, description='A display name column used in reasons ("bought with <title>").'
    )


class RecommendSpec(Spec):
    """A recommendation model: interactions in, candidates + a lambdarank ranker out."""

    item: Column = Field(description="The label SQL's column holding the item key.")
    item_entity: Name = Field(
        description="The entity the items are (`product`); its join key is the item key."
    )
    weight: Column | None = Field(
        default=None, description="The label SQL's column of an interaction's weight (default 1 each)."
    )
    items: ItemsSpec | None = Field(default=None, description="Item categories, attributes and titles.")
    candidates: CandidateSourcesSpec = Field(
        default=CandidateSourcesSpec(), description="Candidate generators and their sizes."
    )
    ranker: RankerSpec = Field(default=RankerSpec(), description="The lambdarank ranker's parameters.")
    repeat: bool = Field(
        default=False, description="Recommend items the person already has (groceries) or only new ones."
    )
    history: int = Field(
        default=30, ge=1, le=500, description="Recent items per person the candidates start from."
    )
    recent_items: ViewFeature | None = Field(
        default=None,
        description="A `view.feature` of the person holding their recent item keys, newest first, comma "
        "separated: read online with the person's features, so items taken since training count.",
    )
    k: int = Field(
        default=10, ge=1, le=100, description="The cut-off of the validation metrics (hit rate, NDCG)."
    )


class StockRuleSpec(Spec):
    """Stock at the person's store: out-of-stock items are never recommended, risky ones demoted."""

    in_stock: ViewFeature = Field(
        description="A `view.feature` keyed by item x store: true (or > 0) when the item is on the shelf."
    )
    unknown: Literal["exclude", "allow"] = Field(
        default="exclude",
        description="An item with no stock row at the store: `exclude` (never shown) or `allow`.",
    )
    risk: ViewFeature | None = Field(
        default=None,
        description="A `view.feature` keyed by item x store: the stock-out risk (0-1), e.g. "
        "`stock_risk.stockout_risk_7d`; none: no demotion.",
    )
    demote_above: float = Field(
        default=0.5, ge=0, le=1, description="Items whose risk is above this go after every safer item."
    )
    drop_above: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Items whose risk is above this are not recommended at all (none: only demoted); "
        "an answer may then hold fewer than k items.",
    )


class RecommendCapabilitySpec(Spec):
    """The request and the rules of a recommendation capability."""

    k: int = Field(default=10, ge=1, le=100, description="Items answered when the request gives no `k`.")
    max_k: int = Field(default=50, ge=1, le=200, description="The largest `k` a request may ask for.")
    store_input: Name = Field(
        default="store_id", description="The request field naming the store (a join key of the stock views)."
    )
    stock: StockRuleSpec | None = Field(
        default=None, description="Stock rules; none: stock is not looked at (and the store is optional)."
    )


Report = Callable[[str, str, tuple[Any, ...], str], None]


def check_recommend_references(project: Any, report: Report) -> None:
    """At plan: the entities and `view.feature`s a recommender and its capabilities name exist and are keyed
    as they must be (`project` is a spec.project.Project; `report(kind, name, path, message)` adds a
    problem with its file and line)."""
    for name, model in project.models.items():
        settings = model.recommend
        if settings is None:
            continue
        item_entity = project.entities.get(settings.item_entity)
        if item_entity is None:
            report("models", name, ("recommend", "item_entity"), f"no entity '{settings.item_entity}'")
        elif len(item_entity.join_keys) != 1:
            report(
                "models",
                name,
                ("recommend", "item_entity"),
                f"entity '{settings.item_entity}' has a composite key",
            )
        if settings.recent_items:
            problem = _feature_problem(project, settings.recent_items, {model.entity})
            if problem:
                report("models", name, ("recommend", "recent_items"), problem)
    for name, capability in project.capabilities.items():
        settings = capability.recommend
        model = project.models.get(capability.model)
        if settings is None or model is None:
            continue
        if model.recommend is None:
            report("capabilities", name, ("recommend",), f"model '{capability.model}' is not a recommender")
            continue
        if settings.stock is None or model.recommend.item_entity not in project.entities:
            continue
        item_key = project.entities[model.recommend.item_entity].join_keys[0]
        for field in ("in_stock", "risk"):
            value = getattr(settings.stock, field)
            problem = value and _feature_problem(project, value, None, (item_key, settings.store_input))
            if problem:
                report("capabilities", name, ("recommend", "stock", field), problem)


def _feature_problem(
    project: Any, value: str, entities: set[str] | None, keys: tuple[str, str] | None = None
) -> str | None:
    view_name, feature = value.split(".", 1)
    view = project.feature_views.get(view_name)
    if view is None:
        return f"no feature view '{view_name}'"
    if feature not in {f.name for f in view.features}:
        return f"feature view '{view_name}' has no feature '{feature}'"
    if entities is not None and view.entity not in entities:
        return f"feature view '{view_name}' describes '{view.entity}', not '{', '.join(sorted(entities))}'"
    entity = project.entities.get(view.entity)
    if keys is not None and entity is not None and sorted(entity.join_keys) != sorted(keys):
        return (
            f"feature view '{view_name}' is keyed by {', '.join(entity.join_keys)}, not by the item and the "
            f"store ({', '.join(keys)}; recommend.store_input names the store)"
        )
    return None
