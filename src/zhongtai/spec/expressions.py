"""On-demand feature expressions: a small SQL expression language, parsed with sqlglot and checked against a
whitelist, so user text is never evaluated as code.

An expression reads request fields by bare name (`basket_value`) and stored features qualified by their view
(`customer_orders.spend_90d`). Only arithmetic, comparisons, boolean logic, CASE and a handful of numeric
functions are allowed; everything else (subqueries, casts, string or table functions) is refused with a message
that names what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

# What a user may write, by the sqlglot node that parses it; the names go into error messages.
FUNCTIONS = ("abs", "ceil", "coalesce", "exp", "floor", "greatest", "least", "ln", "nullif", "power", "sqrt")
OPERATORS = "+ - * / = <> < <= > >= AND OR NOT IS [NOT] NULL CASE IF"


@dataclass(frozen=True)
class Reference:
    """A column an expression reads: a request field (`view` is None) or a view's stored feature."""

    view: str | None
    name: str

    def __str__(self) -> str:
        return self.name if self.view is None else f"{self.view}.{self.name}"


def _allowed_nodes() -> dict[type, str]:
    from sqlglot import exp

    return {
        exp.Column: "column",
        exp.Identifier: "name",
        exp.Literal: "literal",
        exp.Boolean: "literal",
        exp.Null: "NULL",
        exp.Paren: "()",
        exp.Add: "+",
        exp.Sub: "-",
        exp.Mul: "*",
        exp.Div: "/",
        exp.Neg: "-",
        exp.EQ: "=",
        exp.NEQ: "<>",
        exp.LT: "<",
        exp.LTE: "<=",
        exp.GT: ">",
        exp.GTE: ">=",
        exp.And: "AND",
        exp.Or: "OR",
        exp.Not: "NOT",
        exp.Is: "IS NULL",
        exp.Case: "CASE",
        exp.If: "IF",
        exp.Abs: "abs",
        exp.Ceil: "ceil",
        exp.Coalesce: "coalesce",
        exp.Exp: "exp",
        exp.Floor: "floor",
        exp.Greatest: "greatest",
        exp.Least: "least",
        exp.Ln: "ln",
        exp.Nullif: "nullif",
        exp.Pow: "power",
        exp.Sqrt: "sqrt",
    }


def parse_expression(text: str) -> exp.Expr:
    """Parse and check an expression; ValueError says what is wrong and what is allowed."""
    import sqlglot
    from sqlglot import exp

    if not text.strip():
        raise ValueError("the expression is empty")
    try:
        statements = sqlglot.parse(text, read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        raise ValueError(f"the expression does not parse: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1 or statements[0] is None:
        raise ValueError("expected one expression, not several statements")
    tree = statements[0]
    allowed = _allowed_nodes()
    for node in tree.walk():
        if type(node) not in allowed:
            raise ValueError(_refusal(node))
        if isinstance(node, exp.Column) and (node.args.get("db") or node.args.get("catalog")):
            raise ValueError(f"'{node.sql()}': write a feature as view.feature, a request field by its name")
        if isinstance(node, exp.Is) and not isinstance(node.expression, exp.Null):
            raise ValueError("IS is allowed only as IS NULL or IS NOT NULL")
        if isinstance(node, exp.Div) and (node.args.get("typed") or node.args.get("safe")):
            raise ValueError("only plain division / is allowed")
        if isinstance(node, exp.Floor | exp.Ceil) and node.args.get("decimals") is not None:
            raise ValueError(f"{allowed[type(node)]} takes one argument")
    return tree


def _refusal(node: exp.Expr) -> str:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous | exp.Func):
        name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
        return (
            f"function '{name.lower()}' is not allowed in an on-demand expression "
            f"(allowed: {', '.join(FUNCTIONS)})"
        )
    shown = node.sql(dialect="duckdb")
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return (
        f"'{shown}' is not allowed in an on-demand expression (allowed: {OPERATORS}, {', '.join(FUNCTIONS)})"
    )


def references(tree: exp.Expr) -> list[Reference]:
    """The request fields and stored features an expression reads, in order of first use."""
    from sqlglot import exp

    found: dict[Reference, None] = {}
    for column in tree.find_all(exp.Column):
        found[Reference(column.table or None, column.name)] = None
    return list(found)


_INFIX = {
    "Add": "+",
    "Sub": "-",
    "Mul": "*",
    "Div": "/",
    "EQ": "=",
    "NEQ": "<>",
    "LT": "<",
    "LTE": "<=",
    "GT": ">",
    "GTE": ">=",
    "And": "AND",
    "Or": "OR",
}


def to_duckdb(tree: exp.Expr, column: Callable[[Reference], str]) -> str:
    """The checked expression as DuckDB SQL, with each reference written as `column(reference)`.

    Numeric literals are cast to BIGINT or DOUBLE, so DuckDB computes in the same number types as the serving
    evaluator (a bare `0.1` would otherwise be an exact DECIMAL and round differently).
    """
    from sqlglot import exp

    def sql(node: exp.Expr) -> str:
        kind = type(node).__name__
        if kind in _INFIX:
            return f"({sql(node.this)} {_INFIX[kind]} {sql(node.expression)})"
        if isinstance(node, exp.Column):
            return column(Reference(node.table or None, node.name))
        if isinstance(node, exp.Literal):
            if node.is_string:
                return "'" + node.this.replace("'", "''") + "'"
            integral = node.this.isdigit()
            return f"CAST({node.this} AS {'BIGINT' if integral else 'DOUBLE'})"
        if isinstance(node, exp.Boolean):
            return "TRUE" if node.this else "FALSE"
        if isinstance(node, exp.Null):
            return "NULL"
        if isinstance(node, exp.Paren):
            return sql(node.this)
        if isinstance(node, exp.Neg):
            return f"(-{sql(node.this)})"
        if isinstance(node, exp.Not):
            return f"(NOT {sql(node.this)})"
        if isinstance(node, exp.Is):
            return f"({sql(node.this)} IS NULL)"
        if isinstance(node, exp.Case):
            subject = f" {sql(node.this)}" if node.this is not None else ""
            whens = " ".join(f"WHEN {sql(i.this)} THEN {sql(i.args['true'])}" for i in node.args["ifs"])
            default = node.args.get("default")
            otherwise = f" ELSE {sql(default)}" if default is not None else ""
            return f"(CASE{subject} {whens}{otherwise} END)"
        if isinstance(node, exp.If):
            false_branch = node.args.get("false")
            tail = f" ELSE {sql(false_branch)}" if false_branch is not None else ""
            return f"(CASE WHEN {sql(node.this)} THEN {sql(node.args['true'])}{tail} END)"
        name = _allowed_nodes()[type(node)]
        args = [node.this, *(a for a in (node.args.get("expression"),) if a is not None)]
        args += node.expressions
        return f"{name}({', '.join(sql(a) for a in args)})"

    return sql(tree)


_KINDS = {"int64": "number", "float64": "number", "bool": "boolean", "string": "text"}
_NUMERIC_NODES = ("Add", "Sub", "Mul", "Div", "Neg", "Pow", "Abs", "Ln", "Exp", "Sqrt", "Floor", "Ceil")
_COMPARISONS = ("EQ", "NEQ", "LT", "LTE", "GT", "GTE")


def result_kind(tree: exp.Expr, types: Callable[[Reference], str]) -> str:
    """`number`, `boolean`, `text` or `null`: what the expression gives, given each reference's declared type.

    Operands must be of one kind where SQL would otherwise cast silently (`'abc' + 1`, `channel = 1`), so
    serving never meets a value it cannot compute with; ValueError names the offending part.
    """
    from sqlglot import exp

    def kind(node: exp.Expr) -> str:
        name = type(node).__name__
        if isinstance(node, exp.Column):
            return _KINDS[types(Reference(node.table or None, node.name))]
        if isinstance(node, exp.Literal):
            return "text" if node.is_string else "number"
        if isinstance(node, exp.Boolean):
            return "boolean"
        if isinstance(node, exp.Null):
            return "null"
        if isinstance(node, exp.Paren):
            return kind(node.this)
        if isinstance(node, exp.Is):
            kind(node.this)
            return "boolean"
        if name in _NUMERIC_NODES:
            return _all_of("number", node, [node.this, node.args.get("expression")])
        if name in ("And", "Or", "Not"):
            return _all_of("boolean", node, [node.this, node.args.get("expression")])
        if name in _COMPARISONS:
            _same(node, [node.this, node.expression])
            return "boolean"
        if isinstance(node, exp.If):
            _all_of("boolean", node, [node.this])
            return _same(node, [node.args["true"], node.args.get("false")])
        if isinstance(node, exp.Case):
            for branch in node.args["ifs"]:
                if node.this is not None:
                    _same(node, [node.this, branch.this])
                else:
                    _all_of("boolean", node, [branch.this])
            return _same(node, [*(b.args["true"] for b in node.args["ifs"]), node.args.get("default")])
        return _same(node, [node.this, node.args.get("expression"), *node.expressions])

    def _all_of(wanted: str, node: exp.Expr, operands: list[exp.Expr | None]) -> str:
        for operand in operands:
            if operand is not None and kind(operand) not in (wanted, "null"):
                raise ValueError(
                    f"'{operand.sql(dialect='duckdb')}' is {kind(operand)}, {node.key} needs {wanted}"
                )
        return wanted

    def _same(node: exp.Expr, operands: list[exp.Expr | None]) -> str:
        found = {kind(o) for o in operands if o is not None} - {"null"}
        if len(found) > 1:
            raise ValueError(f"'{node.sql(dialect='duckdb')}' mixes {' and '.join(sorted(found))}")
        return found.pop() if found else "null"

    return kind(tree)
