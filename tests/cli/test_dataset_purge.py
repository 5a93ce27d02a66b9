"""`zhongtai datasets purge`: the explicit, final removal of a retired dataset's history and lake files."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli.app import app

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(zt_env, tmp_path):
    context.reset()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL)"))
        conn.execute(sa.text("INSERT INTO orders VALUES (:i, :a)"), [{"i": i, "a": i} for i in range(5)])
    engine.dispose()
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(
        "sources:\n  - {name: shop, type: sql, url: 'sqlite:///../shop.db'}\n"
        "datasets:\n  - {name: orders, source: shop, table: orders, primary_key: [id]}\n"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "main.yaml").write_text("")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    invoke.project, invoke.empty = project, empty  # type: ignore[attr-defined]
    invoke.lake = tmp_path / "zt_home" / "lake"  # type: ignore[attr-defined]
    yield invoke
    context.reset()


def test_purge_deletes_a_retired_dataset_for_good(cli):
    assert cli("apply", str(cli.project)).exit_code == 0
    assert cli("ingest", "orders").exit_code == 0
    assert any((cli.lake / "orders").rglob("*.parquet"))

    live = cli("datasets", "purge", "orders", "--yes")
    assert live.exit_code == 1
    assert "dataset 'orders' is declared in the project; only a retired dataset can be purged" in live.output

    assert cli("apply", "--allow-delete", str(cli.empty)).exit_code == 0
    assert any((cli.lake / "orders").rglob("*.parquet"))  # retired, not erased
    listed = json.loads(cli("datasets", "purge", "--json").stdout)
    assert [(r["name"], r["versions"], r["current_version"]) for r in listed] == [("orders", 1, 1)]

    unconfirmed = cli("datasets", "purge", "orders")
    assert unconfirmed.exit_code == 1
    assert (
        "purging deletes dataset 'orders': its 1 version, their ingest runs and lake files for good and no one "
        "confirmed it; nothing was deleted" in unconfirmed.output
    )
    assert json.loads(cli("datasets", "purge", "--json").stdout)[0]["name"] == "orders"

    purged = json.loads(cli("datasets", "purge", "orders", "--yes", "--json").stdout)
    assert (purged["versions"], purged["ingest_runs"], purged["folders_left"]) == (1, 1, [])
    assert not (cli.lake / "orders").exists()
    assert json.loads(cli("datasets", "purge", "--json").stdout) == []

    assert cli("apply", str(cli.project)).exit_code == 0
    assert json.loads(cli("datasets", "versions", "orders", "--json").stdout) == []
    assert json.loads(cli("datasets", "runs", "orders", "--json").stdout) == []


def test_purging_an_unknown_name_says_how_to_list_the_retired(cli):
    result = cli("datasets", "purge", "nope", "--yes")
    assert result.exit_code == 1
    assert "dataset 'nope' is not registered" in result.output
    assert "`zhongtai datasets purge` with no name lists the retired datasets" in result.output
