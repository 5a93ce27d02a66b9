"""Generation as a whole: determinism, argument errors, the report, the project folder and the CLI."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from zhongtai.cli.retail import app
from zhongtai.errors import ZhongtaiError
from zhongtai.scenarios.retail import STAGES, generate
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.unit


def fingerprints(out: Path) -> dict[str, str]:
    """Hash of every written file except the project (whose SQLite URLs name the folder)."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and "project" not in p.parts
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    generate(folder, 400, seed=3)
    return folder


def test_same_seed_gives_identical_files(small: Path, tmp_path: Path) -> None:
    generate(tmp_path, 400, seed=3)
    assert fingerprints(tmp_path) == fingerprints(small)
    assert len(fingerprints(small)) > 20


def test_another_seed_gives_other_data(small: Path, tmp_path: Path) -> None:
    generate(tmp_path, 400, seed=4)
    first, second = fingerprints(small), fingerprints(tmp_path)
    assert first["truth/persons.parquet"] != second["truth/persons.parquet"]
    assert first["systems/crm.db"] != second["systems/crm.db"]
    assert first["systems/service/tickets.jsonl"] != second["systems/service/tickets.jsonl"]


def test_rerun_into_the_same_folder_replaces_the_data(tmp_path: Path) -> None:
    generate(tmp_path, 300, seed=5, today=date(2026, 3, 31))
    report = generate(tmp_path, 300, seed=5)
    months = sorted(p.name for p in (tmp_path / "systems" / "clickstream").iterdir())
    assert months[-1] == "events-2026-10.jsonl"
    assert len(months) in (12, 13)
    with sqlite3.connect(tmp_path / "systems" / "erp.db") as conn:
        assert conn.execute("select count(*) from orders").fetchone()[0] == report.rows["erp.orders"]


def test_report_counts_what_was_written(tmp_path: Path) -> None:
    stages: list[tuple[str, int]] = []
    report = generate(tmp_path, 300, seed=1, on_progress=lambda stage, rows: stages.append((stage, rows)))
    assert [s for s, _ in stages] == list(STAGES)
    with sqlite3.connect(tmp_path / "systems" / "crm.db") as conn:
        assert conn.execute("select count(*) from customers").fetchone()[0] == report.rows["crm.customers"]
    inventory = tmp_path / "systems" / "inventory"
    stock_rows = sum(pacsv.read_csv(p).num_rows for p in inventory.glob("stock-*.csv"))
    assert stock_rows == report.rows["inventory.stock"]
    assert pacsv.read_csv(inventory / "promotions.csv").num_rows == report.rows["inventory.promotions"]
    tickets = (tmp_path / "systems" / "service" / "tickets.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(tickets) == report.rows["service.tickets"]
    assert report.to_dict()["project_dir"] == str(tmp_path / "project")
    assert set(report.seconds) == set(STAGES)


def test_project_folder_loads_and_matches_the_data(small: Path) -> None:
    project = load_project(small / "project", environ={})
    assert sorted(project.sources) == ["clickstream", "crm", "erp", "inventory", "service"]
    assert sorted(project.datasets) == sorted(
        [
            "crm_customers",
            "crm_loyalty_members",
            "erp_products",
            "erp_stores",
            "erp_orders",
            "erp_order_lines",
            "click_events",
            "service_tickets",
            "inventory_stock",
            "promotion_calendar",
        ]
    )
    assert {"person", "customer", "product", "store"} <= set(project.entities)
    assert not any("truth" in p.read_text(encoding="utf-8") for p in (small / "project").glob("*.yaml"))
    for name in ("crm_customers", "erp_order_lines"):
        dataset = project.datasets[name]
        system = project.sources[dataset.source].url.rsplit("/", 1)[1]
        with sqlite3.connect(small / "systems" / system) as conn:
            columns = [row[1] for row in conn.execute(f"pragma table_info({dataset.table})")]
        assert [f.name for f in dataset.fields] == columns
        assert dataset.incremental is not None and dataset.incremental.watermark == "updated_at"
    event = json.loads(
        (next((small / "systems" / "clickstream").glob("*.jsonl"))).read_text().splitlines()[0]
    )
    assert [f.name for f in project.datasets["click_events"].fields] == list(event)
    ticket = json.loads((small / "systems" / "service" / "tickets.jsonl").read_text().splitlines()[0])
    assert [f.name for f in project.datasets["service_tickets"].fields] == list(ticket)
    assert project.datasets["crm_customers"].declared_types()["updated_at"] == "timestamp"
    pii = {f.name: f.pii for f in project.datasets["erp_orders"].fields}
    assert pii["buyer_phone"] == "phone" and pii["shipping_address"] == "address"


def test_stock_carries_what_is_on_order_and_the_promotion_calendar_runs_ahead(small: Path) -> None:
    inventory = small / "systems" / "inventory"
    stock = pacsv.read_csv(next(inventory.glob("stock-*.csv")))
    assert stock.column_names[-1] == "on_order" and min(stock["on_order"].to_pylist()) >= 0
    calendar = pacsv.read_csv(inventory / "promotions.csv").to_pylist()
    by_day = {row["date"]: row for row in calendar}
    assert max(by_day) == date(2026, 10, 31) + timedelta(days=120)  # planned four months ahead
    assert (by_day[date(2026, 11, 11)]["promotion"], by_day[date(2026, 11, 11)]["promo_level"]) == (
        "double11",
        2,
    )
    assert by_day[date(2026, 11, 5)]["promo_level"] == 1
    assert by_day[date(2027, 2, 8)]["festival"] == "spring_festival"  # Spring Festival 2027 is 6 February


def test_fewer_than_one_customer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ZhongtaiError, match="--customers must be at least 1, got 0"):
        generate(tmp_path, 0)


def test_unwritable_folder_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ZhongtaiError, match="cannot write the scenario here"):
        generate(blocker / "out", 10)


def test_unsupported_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ZhongtaiError, match="unsupported database 'oracle'"):
        generate(tmp_path, 10, crm_url="oracle://scott:tiger@db/orcl")


def test_cli_prints_a_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["generate", "--customers", "200", "--out", str(tmp_path), "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "customers" in result.stdout and "order_lines" in result.stdout
    assert (tmp_path / "project" / "sources.yaml").exists()


def test_cli_json_summary(tmp_path: Path) -> None:
    args = ["generate", "--customers", "200", "--out", str(tmp_path), "--json", "--today", "2026-06-30"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["customers"] == 200 and summary["today"] == "2026-06-30"
    assert summary["rows"]["erp.orders"] > 0


def test_cli_rejects_a_bad_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["generate", "--customers", "10", "--out", str(tmp_path), "--today", "31/10"]
    )
    assert isinstance(result.exception, ZhongtaiError)
    with pytest.raises(ZhongtaiError, match="--today '31/10' is not a date"):
        raise result.exception
