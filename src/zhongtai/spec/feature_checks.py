"""Checks across feature specs: what on-demand expressions, feature groups, models and capabilities refer to.

Each problem reads `file:line kind.name.field: reason`, the line being the one of the field at fault.
Expressions are also bound by DuckDB over typed empty inputs, so a type error (`'a' + 1`) or a result that
does not fit the declared type fails at `zhongtai plan`, not at the first request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zhongtai.spec.expressions import Reference, parse_expression, references, result_kind, to_duckdb
from zhongtai.spec.models import FeatureGroupSpec, OnDemandViewSpec

if TYPE_CHECKING:
    from zhongtai.spec.project import Project

Report = Callable[[str, str, tuple[Any, ...], str], None]
_DUCKDB = {"int64": "BIGINT", "float64": "DOUBLE", "bool": "BOOLEAN", "string": "VARCHAR"}


def check_feature_specs(project: Project, report: Report) -> None:
    """Report every bad reference among on-demand views, feature groups, models and capabilities.

    `report(kind, name, path_below_object, message)` turns a problem into a located line.
    """
    for name in project.on_demand_views:
        if name in project.feature_views:
            report("on_demand_views", name, ("name",), f"a feature view is also called '{name}'")
    for view in project.on_demand_views.values():
        _check_on_demand(project, view, report)
    for group in project.feature_groups.values():
        _check_group(project, group, report)
    for name, model in project.models.items():
        _check_members(
            project, "models", name, model.entity, model.feature_views, model.feature_groups, report
        )
    for name, capability in project.capabilities.items():
        served = project.models.get(capability.model)
        if served is not None:
            _check_members(
                project, "capabilities", name, served.entity, [], capability.feature_groups, report
            )


def view_features(project: Project, view: str) -> dict[str, str] | None:
    """Feature name -> type of a stored or on-demand view, or None if no view has that name."""
    if view in project.feature_views:
        return {f.name: f.type for f in project.feature_views[view].features}
    if view in project.on_demand_views:
        return {f.name: f.type for f in project.on_demand_views[view].features}
    return None


def view_entity(project: Project, view: str) -> str | None:
    found = project.feature_views.get(view) or project.on_demand_views.get(view)
    return found.entity if found is not None else None


def _check_on_demand(project: Project, view: OnDemandViewSpec, report: Report) -> None:
    if view.entity not in project.entities:
        report("on_demand_views", view.name, ("entity",), f"unknown entity '{view.entity}'")
        return
    fields: dict[str, str] = {f.name: f.type for f in view.request}
    for index, feature in enumerate(view.features):
        where = ("features", index, "expression")
        tree = parse_expression(feature.expression)
        inputs: dict[Reference, str] = {}
        for ref in references(tree):
            problem = _reference_problem(project, view, fields, ref)
            if problem:
                report("on_demand_views", view.name, where, problem)
            else:
                # _reference_problem found no problem, so the view exists and has the feature.
                inputs[ref] = (
                    fields[ref.name]
                    if ref.view is None
                    else (view_features(project, ref.view) or {})[ref.name]
                )
        if len(inputs) == len(references(tree)):
            problem = _kind_problem(tree, inputs, feature.type) or _bind_problem(
                to_duckdb(tree, lambda r: f'"{r}"'), inputs
            )
            if problem:
                report("on_demand_views", view.name, where, problem)


def _reference_problem(
    project: Project, view: OnDemandViewSpec, fields: dict[str, str], ref: Reference
) -> str:
    if ref.view is None:
        if ref.name not in fields:
            known = ", ".join(fields) or "none declared under request"
            return f"'{ref.name}' is not a request field (known: {known}); write a stored feature as view.feature"
        return ""
    stored = project.feature_views.get(ref.view)
    if stored is None:
        known = ", ".join(sorted(project.feature_views)) or "none declared"
        return f"'{ref}': unknown feature view '{ref.view}' (known: {known})"
    if stored.entity != view.entity:
        return f"'{ref}': view '{ref.view}' describes '{stored.entity}', this view '{view.entity}'"
    names = [f.name for f in stored.features]
    if ref.name not in names:
        return f"'{ref}': view '{ref.view}' has no feature '{ref.name}' (it has: {', '.join(names)})"
    return ""


def _kind_problem(tree: Any, inputs: dict[Reference, str], declared: str) -> str:
    """Operands of one kind, and a result that fits the declared type."""
    try:
        kind = result_kind(tree, inputs.__getitem__)
    except ValueError as exc:
        return f"does not type-check: {exc}"
    wanted = "boolean" if declared == "bool" else "number"
    if kind not in (wanted, "null"):
        return f"the expression gives {kind}, but the feature is declared {declared}"
    return ""


def _bind_problem(sql: str, inputs: dict[Reference, str]) -> str:
    """Run the SQL the training set will run over one row of typed NULLs: it must bind and execute."""
    import duckdb

    row = ", ".join(f'CAST(NULL AS {_DUCKDB[kind]}) AS "{ref}"' for ref, kind in inputs.items()) or "1 AS one"
    con = duckdb.connect()
    try:
        con.sql(f"SELECT {sql} AS value FROM (SELECT {row})").fetchall()
    except duckdb.Error as exc:
        return f"does not run in DuckDB: {str(exc).strip().splitlines()[0]}"
    finally:
        con.close()
    return ""


def _check_group(project: Project, group: FeatureGroupSpec, report: Report) -> None:
    if group.entity not in project.entities:
        report("feature_groups", group.name, ("entity",), f"unknown entity '{group.entity}'")
    for index, member in enumerate(group.features):
        view, _, feature = member.partition(".")
        features = view_features(project, view)
        where = ("features", index)
        if features is None:
            report(
                "feature_groups", group.name, where, f"'{member}': no feature view or on-demand view '{view}'"
            )
        elif view_entity(project, view) != group.entity:
            report(
                "feature_groups",
                group.name,
                where,
                f"'{member}': view '{view}' describes '{view_entity(project, view)}', the group '{group.entity}'",
            )
        elif feature != "*" and feature not in features:
            report(
                "feature_groups",
                group.name,
                where,
                f"'{member}': view '{view}' has no feature '{feature}' (it has: {', '.join(features)})",
            )


def _check_members(
    project: Project,
    kind: str,
    name: str,
    entity: str,
    views: list[str],
    groups: list[str],
    report: Report,
) -> None:
    for index, view in enumerate(views):
        found = view_entity(project, view)
        if found is None:
            known = ", ".join(sorted([*project.feature_views, *project.on_demand_views])) or "none declared"
            report(kind, name, ("feature_views", index), f"unknown feature view '{view}' (known: {known})")
        elif found != entity:
            report(
                kind,
                name,
                ("feature_views", index),
                f"view '{view}' describes '{found}', the model '{entity}'",
            )
    for index, group_name in enumerate(groups):
        group = project.feature_groups.get(group_name)
        if group is None:
            known = ", ".join(sorted(project.feature_groups)) or "none declared"
            report(
                kind,
                name,
                ("feature_groups", index),
                f"unknown feature group '{group_name}' (known: {known})",
            )
        elif group.entity != entity:
            report(
                kind,
                name,
                ("feature_groups", index),
                f"group '{group_name}' describes '{group.entity}', the model '{entity}'",
            )
