"""`zhongtai features groups` and the breaking/additive notes of `zhongtai plan`, as a user types them."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli.app import app as root_app

from .conftest import SPECS, write_source
from .test_on_demand_training import ON_DEMAND

pytestmark = pytest.mark.integration


@pytest.fixture
def project(zt_env, tmp_path):
    context.reset()
    source = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    write_source(source)
    folder = tmp_path / "project"
    folder.mkdir()

    def write(specs: str) -> str:
        (folder / "specs.yaml").write_text(specs.replace("SOURCE_URL", str(source.url)))
        return str(folder)

    yield write
    source.dispose()
    context.reset()


def _run(*args: str):
    return CliRunner().invoke(root_app, list(args), catch_exceptions=False)


def test_groups_lists_resolved_features_and_expressions(project):
    assert _run("apply", project(ON_DEMAND)).exit_code == 0
    shown = json.loads(_run("features", "groups", "--json").stdout)
    assert shown["feature_groups"] == [
        {
            "name": "signals",
            "entity": "customer",
            "members": ["profile.tier", "spend.orders_so_far"],
            "features": ["tier", "orders_so_far"],
        }
    ]
    assert [f["name"] for f in shown["on_demand_views"][0]["features"]] == ["basket_vs_last", "big_basket"]
    text = _run("features", "groups").stdout
    assert "basket_value - spend.last_amount" in text and "tier, orders_so_far" in text


def test_plan_marks_breaking_and_additive_feature_changes(project):
    assert _run("apply", project(SPECS)).exit_code == 0
    changed = SPECS.replace("{name: tier, type: string}", "{name: tier, type: int64}").replace(
        "      - {name: orders_so_far, type: int64}\n",
        "      - {name: orders_so_far, type: int64}\n      - {name: amount_cents, type: int64}\n",
    )
    result = _run("plan", project(changed))
    assert result.exit_code == 0
    assert "BREAKING: feature tier retyped string -> int64: rebuild and retrain" in result.stdout
    assert "additive: feature amount_cents added (int64): builds made before lack it" in result.stdout
    assert "1 breaking (see above)" in result.stdout
    planned = json.loads(_run("plan", project(changed), "--json").stdout)
    assert {s["name"]: (s["breaking"], s["additive"]) for s in planned} == {
        "profile": (["feature tier retyped string -> int64: rebuild and retrain"], []),
        "spend": (
            [],
            ["feature amount_cents added (int64): builds made before lack it until the view is rebuilt"],
        ),
    }
