"""`zhongtai train` and `zhongtai models ...` as a user types them, on the embedded stores."""

from __future__ import annotations

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from zhongtai.cli import context, project
from zhongtai.cli import models as models_cli
from zhongtai.cli import runs as runs_cli
from zhongtai.cli.app import _Group
from zhongtai.models import train as train_module

from .conftest import synthetic_table, training_set_of

pytestmark = pytest.mark.integration

SPECS = """\
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: customer_activity
    entity: customer
    sql: SELECT customer_id, ts, spend_90d, visits_30d FROM orders
    features: [{name: spend_90d}, {name: visits_30d, type: int64}]
models:
  - name: churn
    entity: customer
    label: {sql: "SELECT customer_id, ts, churned AS label FROM churn_labels"}
    feature_views: [customer_activity]
    params: {n_estimators: 120}
    threshold: 0.3
"""


def _app() -> typer.Typer:
    """The commands under test, with the root's error handling (app.py wires the same functions)."""
    root = typer.Typer(cls=_Group, no_args_is_help=True, pretty_exceptions_enable=False)
    project.register(root)
    models_cli.register(root)
    root.add_typer(models_cli.app, name="models")
    root.add_typer(runs_cli.app, name="runs")
    return root


@pytest.fixture
def cli(zt_env, tmp_path, monkeypatch):
    context.reset()
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "specs.yaml").write_text(SPECS)
    table = synthetic_table(rows=2000)
    # The training set comes in-process: these tests are about training and the registry, not the join.
    monkeypatch.setattr(
        train_module,
        "_build_training_set",
        lambda store, storage, name, engine=None: (training_set_of(table, name), table),
    )
    runner, app = CliRunner(), _app()

    def invoke(*args: str, principal: str | None = "alice"):
        """Run a command as `principal` (ZT_PRINCIPAL; None: unset)."""
        return runner.invoke(app, list(args), env={"ZT_PRINCIPAL": principal}, catch_exceptions=False)

    assert invoke("apply", str(folder), "--json").exit_code == 0
    yield invoke
    context.reset()


def test_train_prints_json_with_metrics_against_the_baseline(cli):
    result = cli("train", "churn", "--json")
    assert result.exit_code == 0, result.output
    version = json.loads(result.stdout)
    assert version["model"] == "churn" and version["version"] == 1
    assert version["metrics"]["validation"]["auc"] > version["metrics"]["baseline"]["auc"] == 0.5
    assert version["metrics"]["validation"]["threshold"] == 0.3
    assert version["params"]["num_boost_round"] == 120
    assert version["artifact"].endswith("/model.txt") and "/lake/_models/churn/" in version["artifact"]


def test_train_shows_the_metrics_table_and_the_version(cli):
    result = cli("train", "churn")
    assert result.exit_code == 0, result.output
    for text in ("AUC", "log loss", "baseline", "0.5000", "churn v1", "lightgbm-text"):
        assert text in result.stdout


def test_list_show_and_alias(cli):
    cli("train", "churn", "--json")
    cli("train", "churn", "--json")
    listed = json.loads(cli("models", "list", "--json").stdout)
    assert [(v["model"], v["version"]) for v in listed] == [("churn", 1), ("churn", 2)]

    cli("models", "submit", "churn", "1")
    cli("models", "approve", "churn:1", principal="bob")
    aliased = json.loads(cli("models", "alias", "churn", "1", "champion", "--json").stdout)
    assert aliased["version"] == 1 and aliased["aliases"] == ["champion"]
    assert "churn@challenger → v2" in cli("models", "alias", "churn", "2", "challenger").stdout

    newest = json.loads(cli("models", "show", "churn", "--json").stdout)
    assert newest["version"] == 2 and newest["model_aliases"] == {"challenger": 2, "champion": 1}
    first = json.loads(cli("models", "show", "churn", "--version", "1", "--json").stdout)
    assert first["aliases"] == ["champion"] and first["training_set_id"]

    shown = cli("models", "show", "churn", "--version", "1").stdout
    assert "churn v1" in shown and "champion → v1" in shown and "spend_90d" in shown
    table = cli("models", "list").stdout
    assert "champion" in table and "challenger" in table


def test_errors_are_one_line_with_a_hint(cli):
    result = cli("models", "show", "churn")
    assert result.exit_code == 1
    assert "model 'churn' has no trained versions" in result.output
    assert "zhongtai train churn" in result.output
    cli("train", "churn", "--json")
    bad = cli("models", "alias", "churn", "1", "Best")
    assert bad.exit_code == 1 and "alias 'Best' is not valid" in bad.output
    missing = cli("train", "fraud")
    assert missing.exit_code == 1 and "model 'fraud' is not registered" in missing.output


def test_train_prints_its_run_and_runs_list_show_compare(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")  # a terminal wide enough for the run tables
    result = cli("train", "churn")
    assert result.exit_code == 0, result.output
    assert re.search(r"run [0-9a-f]{32} · zhongtai runs show [0-9a-f]{12}", result.output)
    assert "candidate 1 of 1: lightgbm" in result.output
    trained = json.loads(cli("train", "churn", "--json").stdout)
    assert re.fullmatch(r"[0-9a-f]{32}", trained["run"])

    listed = json.loads(cli("runs", "list", "--model", "churn", "--json").stdout)
    assert [(r["status"], r["version"]) for r in listed] == [("finished", 2), ("finished", 1)]
    newest, oldest = listed
    assert newest["id"] == trained["run"]
    table = cli("runs", "list").stdout
    assert newest["short_id"] in table and "finished" in table and "v2" in table

    shown = json.loads(cli("runs", "show", newest["short_id"], "--json").stdout)
    assert shown["id"] == newest["id"] and shown["metrics"]["logistic_baseline"]["auc"] > 0.5
    assert "card" not in shown
    page = cli("runs", "show", newest["id"][:6]).stdout
    assert "logistic baseline" in page and "candidates" in page and "peak memory" in page

    both = cli("runs", "compare", oldest["id"], newest["id"], "--json")
    rows = {r["field"]: r["values"] for r in json.loads(both.stdout)["rows"]}
    assert rows["version"] == ["1", "2"] and rows["param num_boost_round"] == ["120", "120"]
    diff = {
        r["field"]
        for r in json.loads(cli("runs", "compare", oldest["id"], newest["id"], "--diff", "--json").stdout)[
            "rows"
        ]
    }
    assert "version" in diff and "param num_boost_round" not in diff and "model auc" not in diff
    side_by_side = cli("runs", "compare", oldest["id"][:8], newest["id"][:8], "--diff").stdout
    assert "version" in side_by_side and "num_boost_round" not in side_by_side
    one = cli("runs", "compare", oldest["id"])
    assert one.exit_code == 1 and "compare needs at least two runs" in one.output


def test_models_card_as_markdown_and_json(cli):
    cli("train", "churn", "--json")
    page = cli("models", "card", "churn")
    assert page.exit_code == 0, page.output
    assert page.stdout.startswith("# Model card: churn v1") and "## Calibration" in page.stdout
    body = json.loads(cli("models", "card", "churn:1", "--format", "json").stdout)
    assert body["version"] == 1 and body["schema"] == "zhongtai-card/1"
    assert body["metrics"]["model"]["auc"]["low"] <= body["metrics"]["model"]["auc"]["value"]
    bad = cli("models", "card", "churn", "--format", "pdf")
    assert bad.exit_code == 1 and "--format 'pdf': use md or json" in bad.output
    missing = cli("models", "card", "churn@champion")
    assert missing.exit_code == 1 and "churn@champion" in missing.output
