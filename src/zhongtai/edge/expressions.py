"""On-demand feature expressions at the edge: a checked expression tree, compiled once into closures.

The platform parses and checks each expression (spec/expressions.py, with sqlglot) and the bundle carries
the checked tree as JSON, so the edge needs no parser. The closures follow the semantics the platform's
serving and training agree on (features/on_demand.py): NULL propagation and three-valued logic, `/` always a
float division (x/0 is ±inf, 0/0 NaN), NaN equal to itself and above every number, `greatest`/`least`
ignoring NULLs, math functions that answer NaN or ±inf instead of raising, float -> int64 rounding half to
even.

A tree node is one of `{"ref": [view or null, name]}`, `{"const": value}`, `{"op": NAME, "args": [...]}`
and `{"case": [[condition, value], ...], "subject": node or null, "default": node or null}`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .errors import EdgeError

Views = Sequence[Mapping[str, Any] | None]
Evaluator = Callable[[Views, Mapping[str, Any]], Any]
_INF = math.inf
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def sort_key(value: Any) -> tuple[int, Any]:
    # NaN sorts above every number and equals itself.
    return (1, 0.0) if value != value else (0, value)


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if a != a or b != b:
            return op(sort_key(a), sort_key(b))
        return op(a, b)

    return compare


def _divide(a: Any, b: Any) -> float:
    if b:
        return float(a) / b
    a, b = float(a), float(b)
    if b == 0.0:
        if a == 0.0 or a != a:
            return math.nan
        return math.copysign(_INF, a) * math.copysign(1.0, b)
    return a / b


def _pow(a: Any, b: Any) -> float:
    a, b = float(a), float(b)
    try:
        return math.pow(a, b)
    except ValueError:
        if a == 0.0:  # C's pow: ±0 to a negative power is ±infinity (the sign kept for odd integers)
            odd = b.is_integer() and b % 2 == 1
            return math.copysign(_INF, a) if odd else _INF
        return math.nan
    except OverflowError:
        return _INF if a > 0 or (b.is_integer() and b % 2 == 0) else -_INF


def _ln(a: Any) -> float:
    a = float(a)
    if a == 0.0:
        return -_INF
    return math.nan if a < 0 else math.log(a)


def _exp(a: Any) -> float:
    try:
        return math.exp(float(a))
    except OverflowError:
        return _INF


def _sqrt(a: Any) -> float:
    a = float(a)
    return math.nan if a < 0 else math.sqrt(a)


def _rounded(fn: Callable[[float], int]) -> Callable[[Any], float]:
    def run(a: Any) -> float:
        a = float(a)
        return float(fn(a)) if math.isfinite(a) else a

    return run


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "Add": operator.add,
    "Sub": operator.sub,
    "Mul": operator.mul,
    "Div": _divide,
    "Pow": _pow,
    "EQ": _compare(operator.eq),
    "NEQ": _compare(operator.ne),
    "LT": _compare(operator.lt),
    "LTE": _compare(operator.le),
    "GT": _compare(operator.gt),
    "GTE": _compare(operator.ge),
}
UNARY: dict[str, Callable[[Any], Any]] = {
    "Neg": operator.neg,
    "Not": operator.not_,
    "Abs": abs,
    "Ln": _ln,
    "Exp": _exp,
    "Sqrt": _sqrt,
    "Floor": _rounded(math.floor),
    "Ceil": _rounded(math.ceil),
}
VARIADIC = ("Coalesce", "Nullif", "Greatest", "Least")
LOGIC = ("And", "Or")
Resolve = Callable[[str | None, str], Evaluator]


def compile_tree(node: Any, resolve: Resolve) -> Evaluator:
    """A closure computing the tree; `resolve(view, name)` gives the reader of each reference."""
    if not isinstance(node, dict):
        raise EdgeError("invalid_argument", "an on-demand expression node is not an object")
    if "ref" in node:
        view, name = node["ref"]
        return resolve(view, name)
    if "const" in node:
        constant = node["const"]
        return lambda views, request: constant
    if "case" in node:
        return _case(node, resolve)
    kind = node.get("op")
    args = [compile_tree(a, resolve) for a in node.get("args", [])]
    if kind in BINARY and len(args) == 2:
        return strict2(BINARY[kind], *args)
    if kind in UNARY and len(args) == 1:
        return strict1(UNARY[kind], args[0])
    if kind in LOGIC and len(args) == 2:
        return logic(kind == "And", *args)
    if kind == "Is" and len(args) == 1:
        inner = args[0]
        return lambda views, request: inner(views, request) is None
    if kind in VARIADIC and args:
        return variadic(kind, args)
    raise EdgeError("invalid_argument", f"on-demand expression operator {kind!r} is not known at the edge")


def strict1(op: Callable[[Any], Any], a: Evaluator) -> Evaluator:
    def run(views: Views, request: Mapping[str, Any]) -> Any:
        value = a(views, request)
        return None if value is None else op(value)

    return run


def strict2(op: Callable[[Any, Any], Any], a: Evaluator, b: Evaluator) -> Evaluator:
    def run(views: Views, request: Mapping[str, Any]) -> Any:
        left = a(views, request)
        if left is None:
            return None
        right = b(views, request)
        return None if right is None else op(left, right)

    return run


def logic(is_and: bool, a: Evaluator, b: Evaluator) -> Evaluator:
    # Three-valued: AND is FALSE if either side is, OR is TRUE if either side is, otherwise NULL wins.
    decisive = not is_and

    def run(views: Views, request: Mapping[str, Any]) -> Any:
        left = a(views, request)
        if left is not None and bool(left) is decisive:
            return decisive
        right = b(views, request)
        if right is not None and bool(right) is decisive:
            return decisive
        return None if left is None or right is None else not decisive

    return run


def _case(node: Mapping[str, Any], resolve: Resolve) -> Evaluator:
    branches = [(compile_tree(c, resolve), compile_tree(v, resolve)) for c, v in node["case"]]
    subject = compile_tree(node["subject"], resolve) if node.get("subject") is not None else None
    otherwise = compile_tree(node["default"], resolve) if node.get("default") is not None else None

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


def variadic(kind: str, args: list[Evaluator]) -> Evaluator:
    def values(views: Views, request: Mapping[str, Any]) -> list[Any]:
        return [arg(views, request) for arg in args]

    if kind == "Coalesce":
        return lambda views, request: next((v for v in values(views, request) if v is not None), None)
    if kind == "Nullif":
        a, b = args

        def nullif(views: Views, request: Mapping[str, Any]) -> Any:
            left, right = a(views, request), b(views, request)
            return (
                None if left is not None and right is not None and sort_key(left) == sort_key(right) else left
            )

        return nullif
    pick = max if kind == "Greatest" else min

    def extreme(views: Views, request: Mapping[str, Any]) -> Any:
        present = [v for v in values(views, request) if v is not None]
        return pick(present, key=sort_key) if present else None

    return extreme


def cast(value: Any, kind: str) -> Any:
    """The value as the feature's declared type, as the platform's TRY_CAST gives it."""
    if value is None:
        return None
    if kind == "float64":
        return float(value)
    if kind == "int64":
        number = round(value) if isinstance(value, float) and math.isfinite(value) else value
        return number if isinstance(number, int) and _INT64_MIN <= number <= _INT64_MAX else None
    return bool(value)
