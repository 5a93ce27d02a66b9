from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.catalog.test_lineage import SPECS
from zhongtai.cli import context
from zhongtai.cli.app import app

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(zt_env, tmp_path):
    context.reset()
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "specs.yaml").write_text(SPECS)
    runner = CliRunner()
    assert runner.invoke(app, ["apply", str(tmp_path / "p")]).exit_code == 0
    yield lambda *args: runner.invoke(app, list(args))
    context.reset()


def test_lineage_search_show(cli):
    described = json.loads(cli("lineage", "churn-risk", "--json").stdout)
    assert {
        "from": {"kind": "source", "name": "erp"},
        "to": {"kind": "dataset", "name": "orders"},
        "relation": "feeds",
    } in described["upstream"]
    tree = cli("lineage", "churn-risk").stdout
    assert "dataset orders (orders) reads" in tree and "source erp feeds" in tree
    hits = json.loads(cli("catalog", "search", "customer", "--json").stdout)
    assert "customers" in {h["name"] for h in hits}
    shown = json.loads(cli("catalog", "show", "customers", "--json").stdout)
    assert shown["fields"] == [] and shown["source"] == "crm"
    missing = cli("lineage", "nope")
    assert missing.exit_code == 1 and "nothing named 'nope' is registered" in missing.output
