"""Dataset checks: rules on the whole new version (freshness, row-count change, composite keys)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.engine import one, quote
from zhongtai.quality.results import RuleResult
from zhongtai.spec.base import duration_seconds
from zhongtai.spec.models import DatasetSpec
from zhongtai.spec.quality import DatasetCheck


def check_version(
    con: duckdb.DuckDBPyConnection,
    version_sql: str,
    spec: DatasetSpec,
    rows: int,
    previous_rows: int | None,
    at: datetime,
) -> list[RuleResult]:
    """Evaluate every dataset check on the new version (`version_sql` scans its files)."""
    results = []
    for check in spec.checks:
        kind = check.kind
        if kind == "freshness":
            failed, rule, reason = _freshness(con, version_sql, check, at, spec.name)
        elif kind == "row_count_change":
            failed, rule, reason = _row_count(check, rows, previous_rows)
        else:
            failed, rule, reason = _unique(con, version_sql, check)
        results.append(RuleResult(rule, "dataset", check.on_fail, 1, int(failed), reason))
    return results


def _freshness(
    con: duckdb.DuckDBPyConnection, version_sql: str, check: DatasetCheck, at: datetime, dataset: str
) -> tuple[bool, str, str]:
    rule = check.freshness
    if rule is None:
        return False, "freshness", ""
    column, max_age = rule.column, rule.max_age
    try:
        (newest,) = one(con, f"SELECT max({quote(column)}) FROM {version_sql}")
    except duckdb.BinderException:
        raise ZhongtaiError(
            "invalid_spec",
            f"dataset '{dataset}': check freshness names column '{column}', which the data does not have",
        ) from None
    name = f"freshness({column})"
    if newest is None:
        return True, name, f"{column} has no values"
    moment = _as_utc(newest, column, dataset)
    age = at - moment
    if age > timedelta(seconds=duration_seconds(max_age)):
        return True, name, f"newest {column} is {moment.isoformat()}, {_human(age)} old (max {max_age})"
    return False, name, ""


def _as_utc(value: object, column: str, dataset: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)  # naive timestamps are taken as UTC
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ZhongtaiError(
        "invalid_spec",
        f"dataset '{dataset}': check freshness needs a date or timestamp column; '{column}' holds "
        f"{type(value).__name__}",
        f"add `clean: [date]` to field {column}, or declare its type",
    )


def _human(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


def _row_count(check: DatasetCheck, rows: int, previous: int | None) -> tuple[bool, str, str]:
    bounds = check.row_count_change
    name = "row_count_change"
    if bounds is None or not previous:
        return False, name, ""  # nothing to compare with yet
    if bounds.max_drop is not None and rows < previous * (1 - bounds.max_drop):
        drop = (previous - rows) / previous
        return (
            True,
            name,
            f"rows fell from {previous:,} to {rows:,} ({drop:.0%}, max drop {bounds.max_drop:.0%})",
        )
    if bounds.max_growth is not None and rows > previous * bounds.max_growth:
        growth = rows / previous
        return (
            True,
            name,
            f"rows grew from {previous:,} to {rows:,} ({growth:.1f}x, max {bounds.max_growth:g}x)",
        )
    return False, name, ""


def _unique(con: duckdb.DuckDBPyConnection, version_sql: str, check: DatasetCheck) -> tuple[bool, str, str]:
    keys = check.unique or []
    listed = ", ".join(quote(k) for k in keys)
    name = f"unique({', '.join(keys)})"
    try:
        (repeated,) = one(
            con,
            f"""SELECT count(*) FROM (
                  SELECT 1 FROM {version_sql} GROUP BY {listed} HAVING count(*) > 1)""",
        )
    except duckdb.BinderException:
        raise ZhongtaiError("invalid_spec", f"check {name} names a column the data does not have") from None
    if repeated:
        # No example key: keys are often personal (a phone, an ID number) and the reason is stored and shown.
        return True, name, f"{repeated:,} key values appear more than once"
    return False, name, ""
