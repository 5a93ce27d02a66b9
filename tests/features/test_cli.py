"""`zhongtai features build | materialize | list | show` as a user types them."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli import features as features_cli
from zhongtai.cli.app import _Group
from zhongtai.cli.app import app as root_app
from zhongtai.features.online import open_online_store
from zhongtai.lake.ingest import ingest
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

from .conftest import SPECS, write_source

pytestmark = pytest.mark.integration


def _root() -> typer.Typer:
    """The real root command once it mounts `features`; until then the same error handling around the sub-app."""
    if any(group.name == "features" for group in root_app.registered_groups):
        return root_app
    root = typer.Typer(cls=_Group)
    root.add_typer(features_cli.app, name="features")
    return root


@pytest.fixture
def cli(zt_env, tmp_path):
    context.reset()
    source = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    write_source(source)
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(SPECS.replace("SOURCE_URL", str(source.url)))
    store, lake = context.store(), context.lake()
    apply_plan(build_plan(load_project(project), store), store)
    for name in ("customers", "orders", "churn"):
        ingest(store, lake, name)
    source.dispose()
    runner, root = CliRunner(), _root()

    def invoke(*args: str):
        return runner.invoke(root, ["features", *args], catch_exceptions=False)

    yield invoke
    context.reset()


def test_build_materialize_list_show(cli):
    built = cli("build", "spend", "--json")
    assert built.exit_code == 0, built.output
    body = json.loads(built.stdout)
    assert (body["view"], body["build"], body["rows"], body["inputs"]) == ("spend", 1, 3, {"orders": 1})

    table = cli("build", "profile")
    assert table.exit_code == 0 and "profile" in table.stdout and "customers@1" in table.stdout

    done = json.loads(cli("materialize", "spend", "--json").stdout)
    assert done == {"view": "spend", "build": 1, "rows": 1}
    online = open_online_store(context.settings().online_url)
    try:
        assert online.read("1", ["spend"]) == {"spend": {"last_amount": 30.0, "orders_so_far": 2}}
    finally:
        online.close()

    listed = {v["name"]: v for v in json.loads(cli("list", "--json").stdout)}
    assert set(listed) == {"spend", "profile"}
    assert listed["spend"]["latest"]["materialized_at"] is not None
    assert listed["profile"]["latest"]["materialized_at"] is None
    assert "spend" in cli("list").stdout

    shown = json.loads(cli("show", "spend", "--json").stdout)
    assert shown["spec"]["ttl"] == "30d"
    assert [b["build"] for b in shown["builds"]] == [1]
    text = cli("show", "spend").stdout
    assert "last_amount" in text and "orders@1" in text


def test_errors_are_one_red_line(cli):
    unknown = cli("build", "nope")
    assert unknown.exit_code == 1
    assert "feature view 'nope' is not registered" in unknown.stderr
    unbuilt = cli("materialize", "profile")
    assert unbuilt.exit_code == 1
    assert "feature view 'profile' has not been built" in unbuilt.stderr
    assert "zhongtai features build profile" in unbuilt.stderr
