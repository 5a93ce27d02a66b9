"""Field checks as SQL: a condition true for a failing row and an expression saying why it failed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from zhongtai.lake.engine import quote
from zhongtai.quality.transforms import literal
from zhongtai.spec.models import DECIMAL_TYPE
from zhongtai.spec.quality import FieldCheck

_DUCK_TYPES = {
    "string": "VARCHAR",
    "json": "VARCHAR",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamp_tz": "TIMESTAMPTZ",
    "binary": "BLOB",
}


@dataclass(frozen=True)
class RowRule:
    """One field rule over the staged rows. With `qualify`, `condition` is a window test (QUALIFY)."""

    rule: str
    on_fail: str
    condition: str
    reason: str
    qualify: bool = False


def duck_type(logical: str) -> str:
    """DuckDB's name for a lake logical type (used to cast cleaned values to a declared type)."""
    match = DECIMAL_TYPE.match(logical)
    if match:
        return f"DECIMAL({match.group(1)},{match.group(2)})"
    return _DUCK_TYPES[logical]


def shown(expr: str, pii: str | None = None) -> str:
    """A value as quoted text in a reason, cut short so one huge value cannot bloat the quarantine.

    A PII field's value is never written into a reason (reasons land in the quarantine and the metadata
    store in clear): `<phone>` stands in for it."""
    if pii is not None:
        return literal(f"<{pii}>")
    return f"'''' || left(CAST({expr} AS VARCHAR), 80) || ''''"


def field_rule(
    name: str, check: FieldCheck, reference_sql: str | None = None, pii: str | None = None
) -> RowRule:
    """The SQL for one field check; `reference_sql` is the lookup query of a `references` check; a field of
    PII class `pii` has its value left out of the reason."""
    col = quote(name)
    kind = check.kind
    rule = f"{name}.{kind}"
    if kind == "not_null":
        return RowRule(rule, check.on_fail, f"{col} IS NULL", literal(f"{name} is null"))
    if kind == "unique":
        count = f"count(*) OVER (PARTITION BY {col})"
        reason = f"{literal(name + ' ')} || {shown(col, pii)} || ' appears ' || {count} || ' times'"
        return RowRule(rule, check.on_fail, f"{col} IS NOT NULL AND {count} > 1", reason, qualify=True)
    if kind == "accepted_values":
        values = check.accepted_values or []
        listed = ", ".join(literal(_text(v)) for v in values)
        allowed = ", ".join(_text(v) for v in values)
        return RowRule(
            rule,
            check.on_fail,
            f"{col} IS NOT NULL AND CAST({col} AS VARCHAR) NOT IN ({listed})",
            f"{literal(name + ' ')} || {shown(col, pii)} || {literal(' is not one of ' + allowed)}",
        )
    if kind == "range":
        return _range_rule(name, rule, check, pii)
    if kind == "regex":
        pattern = check.regex or ""
        return RowRule(
            rule,
            check.on_fail,
            f"{col} IS NOT NULL AND NOT regexp_matches(CAST({col} AS VARCHAR), {literal(pattern)})",
            f"{literal(name + ' ')} || {shown(col, pii)} || {literal(' does not match ' + pattern)}",
        )
    target = check.references
    where = f"{target.dataset}.{target.field}" if target else ""
    return RowRule(
        rule,
        check.on_fail,
        f"{col} IS NOT NULL AND {col} NOT IN ({reference_sql})",
        f"{literal(name + ' ')} || {shown(col, pii)} || {literal(' is not in ' + where)}",
    )


def _range_rule(name: str, rule: str, check: FieldCheck, pii: str | None) -> RowRule:
    bounds = check.range
    col = quote(name)
    tests, words = [], []
    if bounds is not None and bounds.min is not None:
        tests.append(f"{col} < {literal(bounds.min)}")
        words.append(f"at least {bounds.min}")
    if bounds is not None and bounds.max is not None:
        tests.append(f"{col} > {literal(bounds.max)}")
        words.append(f"at most {bounds.max}")
    return RowRule(
        rule,
        check.on_fail,
        f"{col} IS NOT NULL AND ({' OR '.join(tests)})",
        f"{literal(name + ' ')} || {shown(col, pii)} || {literal(' is not ' + ' and '.join(words))}",
    )


def parse_rule(
    name: str, suffix: str, before: str, after: str, message: str, pii: str | None = None
) -> RowRule:
    """A value that did not survive its `date` transform or declared type: quarantined, never nulled.

    `before` names the helper column holding the value going in, `after` is the SQL of what came out.
    """
    text = quote(before)
    return RowRule(
        f"{name}.{suffix}",
        "quarantine",
        f"{text} IS NOT NULL AND {after} IS NULL",
        f"{literal(name + ' ')} || {shown(text, pii)} || {literal(' ' + message)}",
    )


def _text(value: object) -> str:
    """How DuckDB spells a value cast to text, so `accepted_values: [true, 1]` compares like the data."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def safe_identifier(text: str) -> str:
    """A suffix for helper column names made from a field name."""
    return re.sub(r"[^a-z0-9_]", "_", text.lower())
