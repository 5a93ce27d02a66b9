"""On-demand features: one checked expression, evaluated two ways that agree.

Serving: each expression is compiled ONCE, when a capability loads, into a tree of Python closures; a request
only calls them (no parsing, no `eval`). Training: the same expression is rendered as DuckDB SQL and computed
over the training-set rows, with request fields taken from the label SQL's columns. The closures follow
DuckDB's semantics where Python's differ: NULL propagation and three-valued logic, `/` always a DOUBLE
division (x/0 is ±inf, 0/0 NaN), NaN equal to itself and above every number, `greatest`/`least` ignoring
NULLs, math functions that answer NaN or ±inf instead of raising, DOUBLE -> BIGINT rounding half to even.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# The operators' semantics (NULLs, division by zero, comparisons across kinds) are the edge runtime's, so a
# bundle computes what the gateway does.
from zhongtai.edge.expressions import (
    BINARY,
    UNARY,
    Evaluator,
    Views,
    cast,
    logic,
    sort_key,
    strict1,
    strict2,
    variadic,
)
from zhongtai.errors import ZhongtaiError
from zhongtai.spec.expressions import Reference, parse_expression, to_duckdb
from zhongtai.spec.models import OnDemandViewSpec

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from sqlglot import exp

    from zhongtai.features.selection import FeatureSelection
    from zhongtai.meta.records import ModelVersion

# What a compiled expression reads: the values of each stored view (None when the entity has none) and
# the request fields.
DUCKDB_TYPES = {"int64": "BIGINT", "float64": "DOUBLE", "bool": "BOOLEAN", "string": "VARCHAR"}
Resolve = Callable[[Reference], Evaluator]


def compile_expression(tree: exp.Expr, resolve: Resolve) -> Evaluator:
    """A closure computing the checked expression; `resolve` gives the reader of each reference."""
    from sqlglot import exp

    kind = type(tree).__name__
    if isinstance(tree, exp.Column):
        return resolve(Reference(tree.table or None, tree.name))
    if isinstance(tree, exp.Literal | exp.Boolean | exp.Null):
        constant = _literal(tree)
        return lambda views, request: constant
    if isinstance(tree, exp.Paren):
        return compile_expression(tree.this, resolve)
    if kind in BINARY:
        return strict2(
            BINARY[kind],
            compile_expression(tree.this, resolve),
            compile_expression(tree.expression, resolve),
        )
    if kind in UNARY:
        return strict1(UNARY[kind], compile_expression(tree.this, resolve))
    if isinstance(tree, exp.And | exp.Or):
        return logic(
            isinstance(tree, exp.And),
            compile_expression(tree.this, resolve),
            compile_expression(tree.expression, resolve),
        )
    if isinstance(tree, exp.Is):
        inner = compile_expression(tree.this, resolve)
        return lambda views, request: inner(views, request) is None
    if isinstance(tree, exp.Case | exp.If):
        return _case(tree, resolve)
    arguments = [tree.this, *(a for a in (tree.args.get("expression"),) if a is not None), *tree.expressions]
    return _variadic(tree, [compile_expression(a, resolve) for a in arguments])


def _literal(node: exp.Expr) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if node.is_string:
        return node.this
    return int(node.this) if node.this.isdigit() else float(node.this)


def _case(node: exp.Expr, resolve: Resolve) -> Evaluator:
    from sqlglot import exp

    if isinstance(node, exp.If):
        branches = [(compile_expression(node.this, resolve), compile_expression(node.args["true"], resolve))]
        default = node.args.get("false")
        subject = None
    else:
        branches = [
            (compile_expression(i.this, resolve), compile_expression(i.args["true"], resolve))
            for i in node.args["ifs"]
        ]
        default = node.args.get("default")
        subject = compile_expression(node.this, resolve) if node.this is not None else None
    otherwise = compile_expression(default, resolve) if default is not None else None

    def run(views: Views, request: Mapping[str, Any]) -> Any:
        against = subject(views, request) if subject is not None else None
        for condition, value in branches:
            test = condition(views, request)
            if subject is not None:
                test = None if test is None or against is None else sort_key(test) == sort_key(against)
            if test:
                return value(views, request)
        return otherwise(views, request) if otherwise is not None else None

    return run


def _variadic(node: exp.Expr, args: list[Evaluator]) -> Evaluator:
    return variadic(type(node).__name__, args)


_REQUEST_TYPES: dict[str, tuple[type, ...]] = {
    "float64": (int, float),
    "int64": (int,),
    "bool": (bool,),
    "string": (str,),
}


@dataclass(frozen=True)
class OnDemandFeature:
    """One compiled on-demand feature: its name, declared type and evaluator."""

    view: str
    name: str
    type: str
    evaluate: Evaluator


class OnDemandFeatures:
    """The on-demand features a capability serves, compiled once; `compute` runs per request."""

    def __init__(self, specs: Sequence[OnDemandViewSpec], wanted: Sequence[str], stored_views: Sequence[str]):
        """Compile the features named in `wanted` (feature names of `specs`); `stored_views` is the order in
        which the caller passes each stored view's values to `compute`."""
        positions = {name: i for i, name in enumerate(stored_views)}
        self.request: dict[str, str] = {}
        self.features: list[OnDemandFeature] = []
        for spec in specs:
            fields = {f.name: f.type for f in spec.request}
            for feature in spec.features:
                if feature.name not in wanted:
                    continue
                tree = parse_expression(feature.expression)
                evaluator = compile_expression(tree, _resolver(spec, fields, positions))
                self.features.append(OnDemandFeature(spec.name, feature.name, feature.type, evaluator))
                self.request.update({r.name: fields[r.name] for r in _references(tree) if r.view is None})

    def request_values(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The request fields from a decision request, type-checked; invalid_argument names the field."""
        out = {}
        for name, kind in self.request.items():
            if name not in inputs:
                raise ZhongtaiError(
                    "invalid_argument",
                    f"field '{name}' is required: on-demand features are computed from it",
                    f'send {{"{name}": ...}} (a {kind}, or null when unknown)',
                )
            value = inputs[name]
            allowed = _REQUEST_TYPES[kind]
            if value is not None and (
                not isinstance(value, allowed) or (bool not in allowed and isinstance(value, bool))
            ):
                # The value itself is never quoted: a request field may carry PII.
                raise ZhongtaiError(
                    "invalid_argument", f"field '{name}' must be a {kind}, got a {type(value).__name__}"
                )
            out[name] = float(value) if kind == "float64" and isinstance(value, int | float) else value
        return out

    def compute(self, views: Views, request: Mapping[str, Any]) -> dict[str, Any]:
        """Every compiled feature's value for one request."""
        return {f.name: cast(f.evaluate(views, request), f.type) for f in self.features}


def _references(tree: exp.Expr) -> list[Reference]:
    from zhongtai.spec.expressions import references

    return references(tree)


def _resolver(spec: OnDemandViewSpec, fields: Mapping[str, str], positions: Mapping[str, int]) -> Resolve:
    def resolve(ref: Reference) -> Evaluator:
        name = ref.name
        if ref.view is None:
            if name not in fields:
                raise ZhongtaiError(
                    "invalid_spec", f"on-demand view '{spec.name}': unknown request field '{name}'"
                )
            return lambda views, request: request.get(name)
        if ref.view not in positions:
            raise ZhongtaiError(
                "invalid_spec", f"on-demand view '{spec.name}' reads view '{ref.view}', which is not loaded"
            )
        index = positions[ref.view]

        def stored(views: Views, request: Mapping[str, Any]) -> Any:
            values = views[index]
            return None if values is None else values.get(name)

        return stored

    return resolve


def lineage(selection: FeatureSelection) -> dict[str, Any]:
    """What a training set records of its on-demand features: each expression as computed, and the request
    fields read from the labels (nothing when the model has none)."""
    wanted = set(selection.on_demand_names)
    expressions = {
        f"{view.name}.{f.name}": f.expression
        for view in selection.on_demand_views
        for f in view.features
        if f.name in wanted
    }
    if not expressions:
        return {}
    return {"on_demand": expressions, "request_fields": selection.request_fields}


def check_trained_expressions(
    version: ModelVersion, trained: Mapping[str, str], specs: Sequence[OnDemandViewSpec]
) -> None:
    """Refuse to serve a model version whose on-demand features are now computed by other expressions than
    the ones its training set used (recorded in its lineage): it would be served values it never learned."""
    current = {f"{view.name}.{f.name}": f.expression for view in specs for f in view.features}
    for qualified, expression in trained.items():
        now = current.get(qualified)
        if now is not None and now != expression:
            raise ZhongtaiError(
                "invalid_spec",
                f"model '{version.model}' v{version.version} learned {qualified} as `{expression}`; "
                f"the registered on-demand view now computes `{now}`",
                f"retrain {version.model} (zhongtai train {version.model}) or restore the expression",
            )


def add_to_training_set(
    con: duckdb.DuckDBPyConnection, table: pa.Table, specs: Sequence[OnDemandViewSpec], wanted: Sequence[str]
) -> pa.Table:
    """The training set (or any table of feature rows) with a column per wanted on-demand feature, computed
    by DuckDB over its rows.

    Stored features are columns under their own names and request fields are label columns, so
    `view.feature` reads column `feature` and a request field reads its column.
    """
    from zhongtai.lake import engine

    columns = []
    for spec in specs:
        for feature in spec.features:
            if feature.name in wanted:
                tree = parse_expression(feature.expression)
                sql = to_duckdb(tree, lambda ref: engine.quote(ref.name))
                columns.append(
                    f"TRY_CAST({sql} AS {DUCKDB_TYPES[feature.type]}) AS {engine.quote(feature.name)}"
                )
    if not columns:
        return table
    con.register("__zt_training_rows", table)
    try:
        return con.sql(f"SELECT *, {', '.join(columns)} FROM __zt_training_rows").to_arrow_table()
    finally:
        con.unregister("__zt_training_rows")
