"""The CLI end to end in one process: each command as a user types it."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli.app import app

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {{name: shop, type: sql, url: "sqlite:///{db}"}}
datasets:
  - name: orders
    source: shop
    table: orders
    primary_key: [id]
    incremental: {{watermark: id}}
entities:
  - {{name: customer, join_keys: [customer_id]}}
"""


@pytest.fixture
def cli(zt_env, tmp_path):
    context.reset()
    db = tmp_path / "shop.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount NUMERIC(10,2), note TEXT)"))
        conn.execute(
            sa.text("INSERT INTO orders VALUES (:i, :a, :n)"),
            [{"i": i, "a": i * 1.5, "n": "订单"} for i in range(25)],
        )
    engine.dispose()
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(SPECS.format(db=db))
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        return result

    invoke.project = project  # type: ignore[attr-defined]
    yield invoke
    context.reset()


def test_help_lists_the_commands():
    result = CliRunner().invoke(app, ["--help"])
    for command in ("info", "plan", "apply", "ingest", "sources", "datasets"):
        assert command in result.output


def test_info_masks_secrets(cli, monkeypatch):
    monkeypatch.setenv("ZT_METADATA_URL", "postgresql://zt:s3cret@db.internal/zt")
    context.reset()
    shown = json.loads(cli("info", "--json").stdout)
    assert shown["metadata_url"] == "postgresql://zt:***@db.internal/zt"
    assert shown["lake_url"].endswith("zt_home/lake")


def test_plan_apply_ingest_list(cli):
    planned = json.loads(cli("plan", str(cli.project), "--json").stdout)
    assert [(s["action"], s["name"]) for s in planned] == [
        ("create", "shop"),
        ("create", "orders"),
        ("create", "customer"),
    ]
    assert cli("apply", str(cli.project)).exit_code == 0
    assert "No changes" in cli("plan", str(cli.project)).output
    ingested = json.loads(cli("ingest", "orders", "--json").stdout)
    assert ingested[0]["version"] == 1 and ingested[0]["rows"] == 25
    listed = json.loads(cli("datasets", "list", "--json").stdout)
    assert [(d["name"], d["version"], d["rows"]) for d in listed] == [("orders", 1, 25)]
    shown = json.loads(cli("datasets", "show", "orders", "--json").stdout)
    assert [(f["name"], f["type"]) for f in shown["fields"]] == [
        ("id", "int64"),
        ("amount", "decimal(10,2)"),
        ("note", "string"),
    ]
    preview = json.loads(cli("datasets", "preview", "orders", "-n", "2", "--json").stdout)
    assert len(preview) == 2 and preview[0]["note"] == "订单"
    tested = json.loads(cli("sources", "test", "shop", "--json").stdout)
    assert tested["ok"] and tested["datasets"]["orders"][0] == {"name": "id", "type": "int64"}
    runs = json.loads(cli("datasets", "runs", "orders", "--json").stdout)
    assert runs[0]["status"] == "succeeded"
    assert json.loads(cli("entities", "list", "--json").stdout) == [
        {"name": "customer", "join_keys": ["customer_id"], "description": ""}
    ]
    sources = json.loads(cli("sources", "list", "--json").stdout)
    assert [(s["name"], s["type"], s["datasets"]) for s in sources] == [("shop", "sql", ["orders"])]


def test_bad_spec_applies_nothing(cli, capsys):
    (cli.project / "bad.yaml").write_text("datasets:\n  - {name: x, source: nowhere, table: t}\n")
    result = cli("apply", str(cli.project))
    assert result.exit_code == 1
    assert "bad.yaml:2 datasets.x.source: unknown source 'nowhere'" in result.output
    (cli.project / "bad.yaml").unlink()
    assert json.loads(cli("datasets", "list", "--json").stdout) == []


def test_unknown_dataset_is_one_clear_line(cli):
    result = cli("ingest", "nope")
    assert result.exit_code == 1
    assert "dataset 'nope' is not registered" in result.output
    assert "Traceback" not in result.output
