"""Which features a model or capability asks for, and what must be read to give them.

A model names whole views (`feature_views`, stored or on-demand) and feature groups (`feature_groups`, a named
set of `view.feature` members). Resolved against the registry, that becomes a `FeatureSelection`: the
features in order, the stored views to read narrowed to the features needed (the wanted ones plus those
on-demand expressions read), and the on-demand views to compute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zhongtai.errors import NotFound, ZhongtaiError
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.expressions import parse_expression, references
from zhongtai.spec.models import FeatureGroupSpec, FeatureViewSpec, OnDemandViewSpec

Member = tuple[str, str]  # (view, feature)


@dataclass(frozen=True)
class FeatureSelection:
    """Resolved features: `members` in order, with what serving and training must read and compute."""

    members: tuple[Member, ...]
    stored_views: tuple[FeatureViewSpec, ...]  # narrowed to the features needed, in first-use order
    on_demand_views: tuple[OnDemandViewSpec, ...]

    @property
    def names(self) -> list[str]:
        """Feature names in order: the training-set columns and the model's inputs."""
        return [feature for _, feature in self.members]

    @property
    def on_demand_names(self) -> list[str]:
        on_demand = {v.name for v in self.on_demand_views}
        return [feature for view, feature in self.members if view in on_demand]

    @property
    def request_fields(self) -> dict[str, str]:
        """Request field name -> type, for every on-demand feature selected."""
        wanted = set(self.on_demand_names)
        fields: dict[str, str] = {}
        for view in self.on_demand_views:
            declared = {f.name: f.type for f in view.request}
            for feature in view.features:
                if feature.name in wanted:
                    for ref in references(parse_expression(feature.expression)):
                        if ref.view is None:
                            fields[ref.name] = declared[ref.name]
        return fields


def select_features(store: MetadataStore, views: Sequence[str], groups: Sequence[str]) -> FeatureSelection:
    """Resolve whole views and groups (registered specs) into one selection; duplicates are kept once."""
    members: dict[Member, None] = {}
    specs: dict[str, FeatureViewSpec | OnDemandViewSpec] = {}
    for name in views:
        spec = _view(store, specs, name)
        members.update(dict.fromkeys((name, f.name) for f in spec.features))
    for group_name in groups:
        group = FeatureGroupSpec.model_validate(store.spec("feature_groups", group_name))
        for member in group.features:
            view, _, feature = member.partition(".")
            spec = _view(store, specs, view)
            declared = [f.name for f in spec.features]
            if feature != "*" and feature not in declared:
                raise ZhongtaiError(
                    "invalid_spec",
                    f"feature group '{group_name}': view '{view}' has no feature '{feature}'",
                    "apply the project again after fixing the group",
                )
            members.update(dict.fromkeys((view, f) for f in (declared if feature == "*" else [feature])))
    return _narrow(store, specs, list(members))


def _view(
    store: MetadataStore, specs: dict[str, FeatureViewSpec | OnDemandViewSpec], name: str
) -> FeatureViewSpec | OnDemandViewSpec:
    if name not in specs:
        try:
            specs[name] = FeatureViewSpec.model_validate(store.spec("feature_views", name))
        except NotFound:
            try:
                specs[name] = OnDemandViewSpec.model_validate(store.spec("on_demand_views", name))
            except NotFound:
                raise NotFound(
                    "feature view", name, "zhongtai features list shows what is registered"
                ) from None
    return specs[name]


def _narrow(
    store: MetadataStore, specs: dict[str, FeatureViewSpec | OnDemandViewSpec], members: list[Member]
) -> FeatureSelection:
    needed: dict[Member, None] = {}
    on_demand: dict[str, OnDemandViewSpec] = {}
    for view, feature in members:
        spec = specs[view]
        if isinstance(spec, OnDemandViewSpec):
            on_demand[view] = spec
            expression = next(f.expression for f in spec.features if f.name == feature)
            for ref in references(parse_expression(expression)):
                if ref.view is not None:
                    _view(store, specs, ref.view)
                    needed[(ref.view, ref.name)] = None
        else:
            needed[(view, feature)] = None
    stored: dict[str, list[str]] = {}
    for view, feature in needed:
        stored.setdefault(view, []).append(feature)
    narrowed = []
    for view, features in stored.items():
        spec = specs[view]
        keep = [f for f in spec.features if f.name in features]
        narrowed.append(spec.model_copy(update={"features": keep}))
    return FeatureSelection(tuple(members), tuple(narrowed), tuple(on_demand.values()))  # type: ignore[arg-type]
