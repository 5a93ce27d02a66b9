"""On-demand features at the edge: the bundle's JSON trees compute what the platform's compiled closures do,
for every allowed construct over awkward values (NULLs, NaN, ±inf, -0.0, division by zero)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.features.test_on_demand import NAMES, SPEC, _same, rows
from zhongtai.edge import EdgeError
from zhongtai.edge.bundle import OnDemand
from zhongtai.edge.expressions import compile_tree
from zhongtai.features.on_demand import OnDemandFeatures
from zhongtai.integrate.bundle import tree_of
from zhongtai.spec.expressions import parse_expression

pytestmark = pytest.mark.unit
PLATFORM = OnDemandFeatures([SPEC], NAMES, ["v"])
EDGE = OnDemand(
    {
        "request": PLATFORM.request,
        "features": [
            {"name": f.name, "type": f.type, "tree": tree_of(parse_expression(f.expression))}
            for f in SPEC.features
        ],
    },
    ["v"],
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_the_edge_computes_what_the_platform_computes(batch):
    for basket_value, flag, channel, spend, orders in batch:
        inputs = {"basket_value": basket_value, "flag": flag, "channel": channel}
        views = [{"spend": spend, "orders": orders}]
        platform = PLATFORM.compute(views, PLATFORM.request_values(inputs))
        edge = EDGE.compute(views, EDGE.request_values(inputs))
        for name in NAMES:
            assert _same(edge[name], platform[name]), (name, platform[name], edge[name])


def test_a_view_without_values_reads_as_nulls_at_the_edge_too():
    request = {"basket_value": 80.0, "flag": None, "channel": None}
    assert EDGE.compute([None], EDGE.request_values(request)) == PLATFORM.compute(
        [None], PLATFORM.request_values(request)
    )


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"flag": True, "channel": "app"},
            "field 'basket_value' is required: on-demand features are computed",
        ),
        (
            {"basket_value": "12", "flag": True, "channel": "app"},
            "field 'basket_value' must be a float64, got a str",
        ),
        ({"basket_value": 1.0, "flag": 1, "channel": "app"}, "field 'flag' must be a bool, got a int"),
    ],
)
def test_request_fields_are_checked_as_the_gateway_checks_them(inputs, message):
    with pytest.raises(EdgeError, match=message):
        EDGE.request_values(inputs)


def test_an_operator_the_edge_does_not_know_is_refused():
    with pytest.raises(EdgeError, match="operator 'Eval' is not known at the edge"):
        compile_tree({"op": "Eval", "args": [{"const": 1}]}, lambda view, name: lambda v, r: None)
