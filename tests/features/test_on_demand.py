"""On-demand features: the serving evaluator and DuckDB agree on every value, and unsafe text is refused."""

from __future__ import annotations

import math

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhongtai.errors import ZhongtaiError
from zhongtai.features.on_demand import OnDemandFeatures, add_to_training_set
from zhongtai.spec.expressions import parse_expression
from zhongtai.spec.models import OnDemandViewSpec

pytestmark = pytest.mark.unit

# (name, type, expression): every allowed construct appears at least once.
EXPRESSIONS = [
    ("gap", "float64", "basket_value - v.spend / nullif(v.orders, 0)"),
    (
        "branchy",
        "float64",
        "CASE WHEN v.orders > 3 AND flag THEN power(basket_value, 2) WHEN v.spend IS NULL THEN -1 "
        "ELSE ln(abs(basket_value) + 1) END",
    ),
    ("fallback", "float64", "coalesce(v.spend, basket_value, 0) * 1.1"),
    ("spread", "float64", "greatest(basket_value, v.spend, 10) - least(v.orders, 2)"),
    ("maths", "float64", "sqrt(basket_value) + exp(v.orders / 100.0) + floor(v.spend) - ceil(basket_value)"),
    ("integral", "int64", "(v.orders + 1) * 3 - v.orders"),
    ("rounded", "int64", "basket_value / v.orders"),
    ("logic", "bool", "NOT flag OR v.spend >= basket_value OR v.orders IS NOT NULL AND flag"),
    ("by_channel", "int64", "CASE channel WHEN 'app' THEN 1 WHEN 'store' THEN 2 ELSE 0 END"),
    ("odd", "float64", "if(channel = 'app', basket_value / 0, 0.0 / 0)"),
    ("negated", "float64", "-(v.spend - 0.1 * 3)"),
]
SPEC = OnDemandViewSpec.model_validate(
    {
        "name": "basket",
        "entity": "customer",
        "request": [
            {"name": "basket_value", "type": "float64"},
            {"name": "flag", "type": "bool"},
            {"name": "channel", "type": "string"},
        ],
        "features": [{"name": n, "type": t, "expression": e} for n, t, e in EXPRESSIONS],
    }
)
NAMES = [name for name, _, _ in EXPRESSIONS]

doubles = st.one_of(
    st.none(),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, 3.5, -2.5, math.inf, -math.inf, math.nan, 0.1, 1e308]),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
rows = st.lists(
    st.tuples(
        doubles,
        st.one_of(st.none(), st.booleans()),
        st.one_of(st.none(), st.sampled_from(["app", "store", "web", ""])),
        doubles,
        st.one_of(st.none(), st.integers(min_value=-5, max_value=50)),
    ),
    min_size=1,
    max_size=40,
)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _assert_paths_agree(spec: OnDemandViewSpec, batch: list[tuple]) -> None:
    names = [f.name for f in spec.features]
    table = pa.table(
        {
            "basket_value": pa.array([r[0] for r in batch], pa.float64()),
            "flag": pa.array([r[1] for r in batch], pa.bool_()),
            "channel": pa.array([r[2] for r in batch], pa.string()),
            "spend": pa.array([r[3] for r in batch], pa.float64()),
            "orders": pa.array([r[4] for r in batch], pa.int64()),
        }
    )
    con = duckdb.connect()
    try:
        offline = add_to_training_set(con, table, [spec], names).to_pylist()
    finally:
        con.close()
    serving = OnDemandFeatures([spec], names, ["v"])
    for row, expected in zip(batch, offline, strict=True):
        request = {"basket_value": row[0], "flag": row[1], "channel": row[2]}
        got = serving.compute([{"spend": row[3], "orders": row[4]}], request)
        for name in names:
            assert _same(got[name], expected[name]), (name, row, got[name], expected[name])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_serving_and_training_compute_identical_values(batch):
    """The closures a capability runs per request and the SQL a training set runs give the same values."""
    _assert_paths_agree(SPEC, batch)


def test_a_view_without_values_reads_as_nulls():
    serving = OnDemandFeatures([SPEC], ["gap", "fallback"], ["v"])
    request = serving.request_values({"basket_value": 80.0, "flag": None, "channel": None})
    assert serving.compute([None], request) == {"gap": None, "fallback": pytest.approx(88.0)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("system('rm -rf /')", "function 'system' is not allowed in an on-demand expression"),
        ("read_csv('/etc/passwd')", "function 'read_csv' is not allowed"),
        ("(SELECT max(amount) FROM orders)", "is not allowed in an on-demand expression"),
        ("CAST(a AS INT)", "function 'cast' is not allowed"),
        ("__import__('os').system('x')", "is not allowed in an on-demand expression"),
        ("a; DROP TABLE x", "expected one expression, not several statements"),
        ("a IS TRUE", "IS is allowed only as IS NULL or IS NOT NULL"),
        ("a.b.c", "write a feature as view.feature"),
        ("a +", "the expression does not parse"),
        ("  ", "the expression is empty"),
    ],
)
def test_anything_outside_the_whitelist_is_refused(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_expression(text)


def test_request_fields_are_required_and_typed():
    serving = OnDemandFeatures([SPEC], ["gap"], ["v"])
    with pytest.raises(ZhongtaiError, match="field 'basket_value' is required: on-demand features"):
        serving.request_values({})
    with pytest.raises(ZhongtaiError, match="field 'basket_value' must be a float64, got a str"):
        serving.request_values({"basket_value": "lots"})
    with pytest.raises(ZhongtaiError, match="field 'basket_value' must be a float64, got a bool"):
        serving.request_values({"basket_value": True})
    # Only what the compiled features read is asked for; an int is a fine float64.
    assert serving.request_values({"basket_value": 3}) == {"basket_value": 3.0}


def _numbers(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(["basket_value", "v.spend", "v.orders", "NULL"]),
        st.integers(min_value=0, max_value=100).map(str),
        st.sampled_from(["0.1", "2.5", "1e3", "0.0"]),
    )
    if depth == 0:
        return leaves
    inner, test = _numbers(depth - 1), _booleans(depth - 1)
    return st.one_of(
        leaves,
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda a: f"-({a})"),
        st.tuples(st.sampled_from(["abs", "ceil", "floor", "exp", "ln", "sqrt"]), inner).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        st.tuples(st.sampled_from(["power", "nullif", "greatest", "least", "coalesce"]), inner, inner).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        st.tuples(test, inner, inner).map(lambda t: f"CASE WHEN {t[0]} THEN {t[1]} ELSE {t[2]} END"),
    )


def _booleans(depth: int) -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["flag", "TRUE", "NULL", "channel = 'app'", "v.spend IS NULL"])
    if depth == 0:
        return leaves
    inner, number = _booleans(depth - 1), _numbers(depth - 1)
    return st.one_of(
        leaves,
        st.tuples(number, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), number).map(" ".join),
        st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda a: f"NOT ({a})"),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_numbers(3).map(lambda e: ("float64", e)), _booleans(3).map(lambda e: ("bool", e))), rows)
def test_random_expressions_agree_between_serving_and_training(typed, batch):
    """Expressions drawn from the whole grammar, not only the hand-written ones, agree on random rows."""
    kind, expression = typed
    spec = SPEC.model_copy(
        update={"features": [SPEC.features[0].model_copy(update={"type": kind, "expression": expression})]}
    )
    _assert_paths_agree(spec, batch)
