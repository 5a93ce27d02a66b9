"""The CRM in the real PostgreSQL and the ERP in the real MariaDB, as `--crm-url` / `--erp-url` write them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from zhongtai.errors import SourceError
from zhongtai.scenarios.retail import generate, schema
from zhongtai.scenarios.retail.sql_homes import driver_url
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration


def counts(url: str, tables: list[str]) -> dict[str, int]:
    engine = sa.create_engine(driver_url(url))
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sa.text(f"select count(*) from {t}")).scalar_one() for t in tables}
    finally:
        engine.dispose()


def test_crm_in_postgresql_and_erp_in_mariadb(tmp_path: Path, pg_url: str, mariadb_url: str) -> None:
    report = generate(tmp_path, 500, seed=9, crm_url=pg_url, erp_url=mariadb_url)
    assert counts(pg_url, ["customers", "loyalty_members"]) == {
        "customers": report.rows["crm.customers"],
        "loyalty_members": report.rows["crm.loyalty_members"],
    }
    assert counts(mariadb_url, ["orders", "order_lines", "products", "stores"]) == {
        name: report.rows[f"erp.{name}"] for name in ("orders", "order_lines", "products", "stores")
    }
    project = load_project(tmp_path / "project", environ={})
    assert project.sources["crm"].url.startswith("postgresql+psycopg://")
    assert project.sources["erp"].url.startswith("mysql+pymysql://")


def test_servers_hold_the_same_rows_as_sqlite(tmp_path: Path, pg_url: str, mariadb_url: str) -> None:
    generate(tmp_path / "servers", 300, seed=4, crm_url=pg_url, erp_url=mariadb_url)
    generate(tmp_path / "embedded", 300, seed=4)
    embedded = tmp_path / "embedded" / "systems"
    orders = sa.select(schema.orders).order_by(schema.orders.c.order_id)
    assert rows(mariadb_url, orders) == rows(f"sqlite:///{embedded / 'erp.db'}", orders)
    members = sa.select(schema.loyalty_members).order_by(schema.loyalty_members.c.member_id)
    assert rows(pg_url, members) == rows(f"sqlite:///{embedded / 'crm.db'}", members)
    lines = sa.select(sa.func.sum(schema.order_lines.c.line_amount))
    total = rows(mariadb_url, lines)[0][0]
    assert isinstance(total, Decimal) and total > 0


def rows(url: str, query: sa.Select) -> list[tuple]:
    """Typed rows through SQLAlchemy: SQLite's text timestamps and decimals must read back like the servers'."""
    engine = sa.create_engine(driver_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]
    finally:
        engine.dispose()


def test_unreachable_database_names_the_url_without_password(tmp_path: Path) -> None:
    url = "postgresql://crm:s3cret@127.0.0.1:1/crm"
    with pytest.raises(SourceError, match=r"cannot reach postgresql://crm:\*\*\*@127.0.0.1:1/crm") as caught:
        generate(tmp_path, 10, crm_url=url)
    assert "s3cret" not in caught.value.message
