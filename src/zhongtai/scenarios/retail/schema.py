"""Table definitions of the CRM and the ERP, shared by SQLite, PostgreSQL and MariaDB.

Every table has a primary key and an `updated_at`, so ingest can pull increments by watermark. There are no
secondary indexes: a watermark scan of these tables is quick, and an index would add a quarter to their size.
Money is decimal(12,2), moments are timestamps (local time, no zone, as these systems store them).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

TEXT_ARGS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4"}
MONEY = sa.Numeric(12, 2)


def _key(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger, primary_key=True, autoincrement=False)


def _updated() -> sa.Column:
    return sa.Column("updated_at", sa.DateTime, nullable=False)


CRM = sa.MetaData()

customers = sa.Table(
    "customers",
    CRM,
    _key("customer_id"),
    sa.Column("full_name", sa.String(120)),
    sa.Column("gender", sa.String(1)),
    sa.Column("birth_date", sa.Date),
    sa.Column("mobile", sa.String(40)),
    sa.Column("email", sa.String(120)),
    sa.Column("id_number", sa.String(30)),
    sa.Column("province", sa.String(20)),
    sa.Column("city", sa.String(20)),
    sa.Column("address", sa.String(200)),
    sa.Column("register_channel", sa.String(20), nullable=False),
    sa.Column("registered_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("marketing_opt_in", sa.Boolean, nullable=False),
    _updated(),
    **TEXT_ARGS,
)

loyalty_members = sa.Table(
    "loyalty_members",
    CRM,
    sa.Column("member_id", sa.String(12), primary_key=True),
    sa.Column("customer_id", sa.BigInteger),
    sa.Column("full_name", sa.String(120)),
    sa.Column("gender", sa.String(1)),
    sa.Column("birthday", sa.Date),
    sa.Column("mobile", sa.String(40)),
    sa.Column("email", sa.String(120)),
    sa.Column("id_number", sa.String(30)),
    sa.Column("tier", sa.String(10), nullable=False),
    sa.Column("points_balance", sa.BigInteger, nullable=False),
    sa.Column("spend_12m", MONEY, nullable=False),
    sa.Column("enroll_store_id", sa.BigInteger, nullable=False),
    sa.Column("enrolled_on", sa.Date, nullable=False),
    _updated(),
    **TEXT_ARGS,
)

ERP = sa.MetaData()

products = sa.Table(
    "products",
    ERP,
    _key("product_id"),
    sa.Column("sku", sa.String(30), nullable=False),
    sa.Column("product_name", sa.String(120), nullable=False),
    sa.Column("category", sa.String(20), nullable=False),
    sa.Column("category_name", sa.String(20), nullable=False),
    sa.Column("brand", sa.String(40), nullable=False),
    sa.Column("list_price", MONEY, nullable=False),
    sa.Column("status", sa.String(15), nullable=False),
    sa.Column("launched_on", sa.Date, nullable=False),
    _updated(),
    **TEXT_ARGS,
)

stores = sa.Table(
    "stores",
    ERP,
    _key("store_id"),
    sa.Column("store_code", sa.String(10), nullable=False),
    sa.Column("store_name", sa.String(60), nullable=False),
    sa.Column("store_format", sa.String(15), nullable=False),
    sa.Column("province", sa.String(20)),
    sa.Column("city", sa.String(20)),
    sa.Column("district", sa.String(20)),
    sa.Column("address", sa.String(120)),
    sa.Column("opened_on", sa.Date, nullable=False),
    _updated(),
    **TEXT_ARGS,
)

orders = sa.Table(
    "orders",
    ERP,
    _key("order_id"),
    sa.Column("order_no", sa.String(20), nullable=False),
    sa.Column("channel", sa.String(15), nullable=False),
    sa.Column("store_id", sa.BigInteger, nullable=False),
    sa.Column("account_id", sa.String(12)),
    sa.Column("member_id", sa.String(12)),
    sa.Column("buyer_name", sa.String(120)),
    sa.Column("buyer_phone", sa.String(40)),
    sa.Column("buyer_email", sa.String(120)),
    sa.Column("shipping_address", sa.String(200)),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("payment_method", sa.String(15), nullable=False),
    sa.Column("item_count", sa.BigInteger, nullable=False),
    sa.Column("total_amount", MONEY, nullable=False),
    sa.Column("discount_amount", MONEY, nullable=False),
    sa.Column("ordered_at", sa.DateTime, nullable=False),
    _updated(),
    **TEXT_ARGS,
)

order_lines = sa.Table(
    "order_lines",
    ERP,
    sa.Column("order_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("line_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("product_id", sa.BigInteger, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price", MONEY, nullable=False),
    sa.Column("discount_amount", MONEY, nullable=False),
    sa.Column("line_amount", MONEY, nullable=False),
    _updated(),
    **TEXT_ARGS,
)
