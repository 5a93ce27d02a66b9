"""Finding the datasets a feature view's SQL reads."""

from __future__ import annotations

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.features.sql import timestamp_expr
from zhongtai.spec.references import referenced_tables

pytestmark = pytest.mark.unit


def test_tables_are_found_and_cte_names_are_not():
    sql = """
        WITH recent AS (SELECT * FROM Orders WHERE amount > 0)
        SELECT r.customer_id, c.tier FROM recent r JOIN customers c USING (customer_id)
        WHERE r.customer_id IN (SELECT customer_id FROM churn)
    """
    assert referenced_tables(sql, "view 'x'") == ["churn", "customers", "orders"]


def test_table_functions_are_not_datasets():
    assert referenced_tables("SELECT * FROM read_parquet('a.parquet'), orders", "view 'x'") == ["orders"]


def test_qualified_table_is_an_error():
    with pytest.raises(ZhongtaiError, match=r"view 'x': table 'shop.orders' is qualified"):
        referenced_tables("SELECT * FROM shop.orders", "view 'x'")


def test_two_statements_are_an_error():
    with pytest.raises(ZhongtaiError, match="expected exactly one SELECT statement"):
        referenced_tables("SELECT 1; SELECT 2", "view 'x'")


def test_unparseable_sql_is_an_error():
    with pytest.raises(ZhongtaiError, match="view 'x': the SQL does not parse"):
        referenced_tables("SELECT FROM WHERE (", "view 'x'")


def test_a_number_is_not_an_event_time():
    with pytest.raises(ZhongtaiError, match="column 'ts' is BIGINT, not a timestamp"):
        timestamp_expr("ts", "BIGINT")
