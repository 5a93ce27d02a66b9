"""The SQL connector against SQLite and the real PostgreSQL and MariaDB servers."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa

from zhongtai.connect.base import Connector, open_connector
from zhongtai.errors import SourceError, ZhongtaiError
from zhongtai.spec.models import DatasetSpec, SqlSource

ROWS = 50
BASE = dt.datetime(2024, 3, 1, 8, 0, 0)

BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.unit, id="sqlite"),
    pytest.param("postgresql", marks=pytest.mark.integration, id="postgresql"),
    pytest.param("mariadb", marks=pytest.mark.integration, id="mariadb"),
]


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'source.db'}"
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "mariadb_url")


def _row(i: int) -> dict:
    return {
        "id": i,
        "qty": i % 7,
        "big": 10_000_000_000 + i,
        "customer": f"张三{i}",
        "note": None if i % 2 == 0 else f"备注 {i}",
        "amount": None if i == 3 else Decimal(f"{i}.25"),
        "ratio": i / 4,
        "active": i % 3 == 0,
        "born": dt.date(1990, 1, 1) + dt.timedelta(days=i),
        "updated_at": BASE + dt.timedelta(hours=i),
        "created_tz": dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC) + dt.timedelta(minutes=i),
        "payload": {"城市": "上海", "n": i},
        "blob": bytes([i, 255 - i]),
        "at_time": dt.time(9, i % 60),
        "status": "paid" if i % 2 else "new",
    }


@pytest.fixture
def orders_url(db_url) -> str:
    """The database with an `orders` table of 50 rows covering the common column types."""
    engine = sa.create_engine(db_url)
    metadata = sa.MetaData()
    table = sa.Table(
        "orders",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("qty", sa.SmallInteger),
        sa.Column("big", sa.BigInteger),
        sa.Column("customer", sa.String(50)),
        sa.Column("note", sa.Text),
        sa.Column("amount", sa.Numeric(12, 2)),
        sa.Column("ratio", sa.Float),
        sa.Column("active", sa.Boolean),
        sa.Column("born", sa.Date),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("created_tz", sa.DateTime(timezone=True)),
        sa.Column("payload", sa.JSON),
        sa.Column("blob", sa.LargeBinary),
        sa.Column("at_time", sa.Time),
        sa.Column("status", sa.Enum("new", "paid", name="order_status")),
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [_row(i) for i in range(ROWS)])
    engine.dispose()
    return db_url


def _connector(url: str, **source: object) -> Connector:
    return open_connector(SqlSource(name="crm", type="sql", url=url, **source), {})


def _dataset(**fields: object) -> DatasetSpec:
    fields.setdefault("table", "orders")
    return DatasetSpec(name="orders", source="crm", **fields)


def _read(url: str, dataset: DatasetSpec, since: object = None) -> list[pa.RecordBatch]:
    connector = _connector(url)
    try:
        return list(connector.read(dataset, since))
    finally:
        connector.close()


def _rows_of(batches: list[pa.RecordBatch]) -> list[dict]:
    return pa.Table.from_batches(batches).to_pylist()


def _backend(url: str) -> str:
    return sa.make_url(url).get_backend_name()


def test_connector_satisfies_the_protocol(orders_url):
    assert isinstance(_connector(orders_url), Connector)


def test_reflected_schema_maps_column_types(orders_url):
    connector = _connector(orders_url)
    schema = connector.schema(_dataset())
    connector.close()
    backend = _backend(orders_url)
    expected = {
        "id": pa.int64(),
        "qty": pa.int32(),
        "big": pa.int64(),
        "customer": pa.string(),
        "note": pa.string(),
        "amount": pa.decimal128(12, 2),
        "ratio": pa.float64(),
        # MariaDB stores BOOLEAN as TINYINT(1) and SQLAlchemy reflects it as an integer.
        "active": pa.int64() if backend == "mysql" else pa.bool_(),
        "born": pa.date32(),
        "updated_at": pa.timestamp("us"),
        "created_tz": pa.timestamp("us", tz="UTC") if backend == "postgresql" else pa.timestamp("us"),
        "payload": pa.string(),
        "blob": pa.binary(),
        "at_time": pa.time64("us"),
        "status": pa.string(),
    }
    assert dict(zip(schema.names, schema.types, strict=True)) == expected


def test_read_returns_every_row_with_its_values(orders_url):
    table = pa.Table.from_batches(_read(orders_url, _dataset()))
    rows = sorted(table.to_pylist(), key=lambda row: row["id"])
    assert len(rows) == ROWS
    row = rows[5]
    assert row["customer"] == "张三5"
    assert row["note"] == "备注 5"
    assert rows[4]["note"] is None
    assert row["amount"] == Decimal("5.25")
    assert rows[3]["amount"] is None
    assert row["big"] == 10_000_000_005
    assert row["ratio"] == 1.25
    assert bool(row["active"]) is False and bool(rows[6]["active"]) is True
    assert row["born"] == dt.date(1990, 1, 6)
    assert row["updated_at"] == BASE + dt.timedelta(hours=5)
    assert json.loads(row["payload"]) == {"城市": "上海", "n": 5}
    assert row["blob"] == bytes([5, 250])
    assert row["at_time"] == dt.time(9, 5)
    assert row["status"] == "paid"


@pytest.mark.integration
def test_timezone_aware_column_reads_as_utc_instants(pg_url):
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("SET TIME ZONE 'Asia/Shanghai'"))
        conn.execute(sa.text("CREATE TABLE events (id int, at timestamptz)"))
        conn.execute(sa.text("INSERT INTO events VALUES (1, '2024-05-01 08:00:00+08:00')"))
    engine.dispose()
    batches = _read(pg_url, _dataset(table="events"))
    assert batches[0].schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert batches[0].column("at")[0].as_py() == dt.datetime(2024, 5, 1, 0, 0, tzinfo=dt.UTC)


def test_batches_hold_at_most_batch_rows_and_keep_the_reflected_schema(orders_url):
    connector = _connector(orders_url)
    dataset = _dataset(batch_rows=7)
    schema = connector.schema(dataset)
    batches = list(connector.read(dataset))
    connector.close()
    assert [batch.num_rows for batch in batches] == [7] * 7 + [1]
    assert all(batch.schema == schema for batch in batches)


def test_an_all_null_batch_keeps_the_reflected_type(orders_url):
    dataset = _dataset(query=None, batch_rows=1, incremental={"watermark": "id"})
    batches = _read(orders_url, dataset, since=ROWS - 2)
    assert [batch.column("note").to_pylist() for batch in batches] == [[None], ["备注 49"]]
    assert [batch.schema.field("note").type for batch in batches] == [pa.string(), pa.string()]


def test_incremental_read_pushes_since_down_and_orders_by_the_watermark(orders_url):
    dataset = _dataset(incremental={"watermark": "updated_at"}, batch_rows=4)
    since = BASE + dt.timedelta(hours=40)
    rows = pa.Table.from_batches(_read(orders_url, dataset, since)).to_pylist()
    assert [row["id"] for row in rows] == list(range(40, ROWS))
    text_rows = pa.Table.from_batches(_read(orders_url, dataset, since.isoformat())).to_pylist()
    assert [row["id"] for row in text_rows] == list(range(40, ROWS))


def test_incremental_read_without_since_is_ordered(orders_url):
    engine = sa.create_engine(orders_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE orders SET updated_at = :at WHERE id = 0"), {"at": BASE + dt.timedelta(days=9)}
        )
    engine.dispose()
    rows = pa.Table.from_batches(
        _read(orders_url, _dataset(incremental={"watermark": "updated_at"}))
    ).to_pylist()
    assert [row["id"] for row in rows] == [*range(1, ROWS), 0]


def test_declared_types_are_applied(orders_url):
    dataset = _dataset(fields=[{"name": "qty", "type": "int64"}, {"name": "amount", "type": "float64"}])
    batch = _read(orders_url, dataset)[0]
    assert batch.schema.field("qty").type == pa.int64()
    assert batch.schema.field("amount").type == pa.float64()
    assert _connector(orders_url).schema(dataset).field("amount").type == pa.float64()


def test_query_dataset_infers_types_from_values(orders_url):
    query = "SELECT id, customer, amount, updated_at FROM orders WHERE id < 10;"
    dataset = DatasetSpec(
        name="recent", source="crm", query=query, batch_rows=4, incremental={"watermark": "id"}
    )
    batches = _read(orders_url, dataset)
    assert [batch.num_rows for batch in batches] == [4, 4, 2]
    table = pa.Table.from_batches(batches)
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("customer").type == pa.string()
    assert table.column("customer").to_pylist() == [f"张三{i}" for i in range(10)]
    if _backend(orders_url) == "sqlite":
        # A query reaches SQLite's storage classes directly: NUMERIC is a float, DATETIME is text.
        assert table.schema.field("amount").type == pa.float64()
        assert table.column("updated_at")[1].as_py() == "2024-03-01 09:00:00.000000"
        return
    assert table.schema.field("amount").type == pa.decimal128(38, 2)
    assert table.schema.field("updated_at").type == pa.timestamp("us")
    assert table.column("amount").to_pylist()[:3] == [Decimal("0.25"), Decimal("1.25"), Decimal("2.25")]
    assert table.column("updated_at")[1].as_py() == BASE + dt.timedelta(hours=1)


def test_query_column_null_in_the_first_batch_takes_the_later_type(orders_url):
    query = "SELECT id, CASE WHEN id >= 5 THEN customer END AS late FROM orders WHERE id < 8"
    dataset = DatasetSpec(
        name="late", source="crm", query=query, batch_rows=3, incremental={"watermark": "id"}
    )
    batches = _read(orders_url, dataset)
    assert [batch.schema.field("late").type for batch in batches] == [pa.null(), pa.string(), pa.string()]
    assert pa.Table.from_batches([batches[2]]).column("late").to_pylist() == ["张三6", "张三7"]
    connector = _connector(orders_url)
    assert connector.schema(dataset).field("late").type == pa.string()
    connector.close()


def test_query_text_keeps_colons_and_percent_signs(orders_url):
    query = "SELECT id, ':abc 100%' AS label FROM orders WHERE id < 2"
    dataset = DatasetSpec(name="labels", source="crm", query=query, incremental={"watermark": "id"})
    assert _rows_of(_read(orders_url, dataset)) == [
        {"id": 0, "label": ":abc 100%"},
        {"id": 1, "label": ":abc 100%"},
    ]


def test_query_without_rows_has_a_schema_of_null_columns(orders_url):
    dataset = DatasetSpec(name="none", source="crm", query="SELECT id, customer FROM orders WHERE id < 0")
    assert _read(orders_url, dataset) == []
    connector = _connector(orders_url)
    assert connector.schema(dataset) == pa.schema([("id", pa.null()), ("customer", pa.null())])
    connector.close()


def test_query_incremental_filters_on_the_watermark(orders_url):
    dataset = DatasetSpec(
        name="recent",
        source="crm",
        query="SELECT id, updated_at FROM orders",
        incremental={"watermark": "updated_at"},
    )
    rows = pa.Table.from_batches(_read(orders_url, dataset, BASE + dt.timedelta(hours=47))).to_pylist()
    assert [row["id"] for row in rows] == [47, 48, 49]


def test_missing_table_names_it_and_lists_existing_tables(orders_url):
    connector = _connector(orders_url)
    with pytest.raises(
        SourceError, match=r"source 'crm' dataset 'orders': table 'ordrs' not found; existing tables: orders"
    ):
        list(connector.read(_dataset(table="ordrs")))
    connector.close()


def test_bad_query_is_a_source_error(orders_url):
    dataset = DatasetSpec(name="broken", source="crm", query="SELECT no_such_column FROM orders")
    with pytest.raises(SourceError, match=r"source 'crm' dataset 'broken': query failed: .*no_such_column"):
        _read(orders_url, dataset)


def test_missing_watermark_column_is_named(orders_url):
    with pytest.raises(ZhongtaiError, match=r"watermark column 'changed' is not in table 'orders'"):
        _read(orders_url, _dataset(incremental={"watermark": "changed"}))


def test_check_describes_the_server(orders_url):
    connector = _connector(orders_url)
    described = connector.check()
    connector.close()
    url = sa.make_url(orders_url)
    expected = {
        "sqlite": rf"sqlite 3\.\d+\.\d+ at {url.database}",
        "postgresql": rf"postgresql \d+\.\d+ at 127\.0\.0\.1:5432/{url.database}",
        "mysql": rf"mariadb \d+\.\d+\.\d+ at 127\.0\.0\.1:3306/{url.database}",
    }[_backend(orders_url)]
    assert re.fullmatch(expected, described), described


@pytest.mark.integration
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://crm_reader:${env:CRM_PASSWORD}@127.0.0.1:1/crm",
            r"postgresql\+psycopg://crm_reader:\*\*\*@127\.0\.0\.1:1/crm",
        ),
        (
            "mysql+pymysql://crm_reader:${env:CRM_PASSWORD}@127.0.0.1:1/crm",
            r"mysql\+pymysql://crm_reader:\*\*\*@127\.0\.0\.1:1/crm",
        ),
    ],
)
def test_unreachable_server_is_a_source_error_with_the_password_masked(url, shown):
    source = SqlSource(name="crm", type="sql", url=url)
    connector = open_connector(source, {"CRM_PASSWORD": "pa55word"})
    with pytest.raises(SourceError, match=rf"^source 'crm': cannot connect to {shown}: ") as caught:
        connector.check()
    assert "pa55word" not in caught.value.message
    connector.close()


@pytest.mark.unit
def test_missing_secret_names_the_variable():
    source = SqlSource(
        name="crm", type="sql", url="postgresql+psycopg://crm_reader:${env:CRM_PASSWORD}@db/crm"
    )
    with pytest.raises(
        ZhongtaiError, match=r"^source 'crm': environment variable CRM_PASSWORD is not set"
    ) as caught:
        open_connector(source, {}).check()
    assert caught.value.code == "secret_missing"
