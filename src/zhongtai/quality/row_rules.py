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
    reason: str  # SQL: the failing row's reason, kept beside the row in the quarantine
    qualify: bool = False
    summary: str = ""  # the rule's failure without any row's value, for the metadata store and the CLI


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


def _value_rule(
    rule: str,
    on_fail: str,
    condition: str,
    name: str,
    expr: str,
    message: str,
    pii: str | None,
) -> RowRule:
    """A rule whose reason quotes the row's value (unless PII) and whose summary never does."""
    reason = f"{literal(name + ' ')} || {shown(expr, pii)} || {literal(' ' + message)}"
    placeholder = f"<{pii}>" if pii is not None else "<value>"
    return RowRule(rule, on_fail, condition, reason, summary=f"{name} {placeholder} {message}")


def field_rule(
    name: str, check: FieldCheck, reference_sql: str | None = None, pii: str | None = None
) -> RowRule:
    """The SQL for one field check; `reference_sql` is the lookup query of a `references` check; a field of
    PII class `pii` has its value left out of the reason."""
    col = quote(name)
    kind = check.kind
    rule = f"{name}.{kind}"
    if kind == "not_null":
        return RowRule(
            rule, check.on_fail, f"{col} IS NULL", literal(f"{name} is null"), summary=f"{name} is null"
        )
    if kind == "unique":
        count = f"count(*) OVER (PARTITION BY {col})"
        reason = f"{literal(name + ' ')} || {shown(col, pii)} || ' appears ' || {count} || ' times'"
        summary = f"{name} {'<' + pii + '>' if pii else '<value>'} appears more than once"
        condition = f"{col} IS NOT NULL AND {count} > 1"
        return RowRule(rule, check.on_fail, condition, reason, qualify=True, summary=summary)
    if kind == "accepted_values":
        values = check.accepted_values or []
        listed = ", ".join(literal(_text(v)) for v in values)
        allowed = ", ".join(_text(v) for v in values)
        condition = f"{col} IS NOT NULL AND CAST({col} AS VARCHAR) NOT IN ({listed})"
        return _value_rule(rule, check.on_fail, condition, name, col, f"is not one of {allowed}", pii)
    if kind == "range":
        return _range_rule(name, rule, check, pii)
    if kind == "regex":
        pattern = check.regex or ""
        condition = f"{col} IS NOT NULL AND NOT regexp_matches(CAST({col} AS VARCHAR), {literal(pattern)})"
        return _value_rule(rule, check.on_fail, condition, name, col, f"does not match {pattern}", pii)
    target = check.references
    where = f"{target.dataset}.{target.field}" if target else ""
    condition = f"{col} IS NOT NULL AND {col} NOT IN ({reference_sql})"
    return _value_rule(rule, check.on_fail, condition, name, col, f"is not in {where}", pii)


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
    condition = f"{col} IS NOT NULL AND ({' OR '.join(tests)})"
    return _value_rule(rule, check.on_fail, condition, name, col, f"is not {' and '.join(words)}", pii)


def parse_rule(
    name: str, suffix: str, before: str, after: str, message: str, pii: str | None = None
) -> RowRule:
    """A value that did not survive its `date` transform or declared type: quarantined, never nulled.

    `before` names the helper column holding the value going in, `after` is the SQL of what came out.
    """
    text = quote(before)
    condition = f"{text} IS NOT NULL AND {after} IS NULL"
    return _value_rule(f"{name}.{suffix}", "quarantine", condition, name, text, message, pii)


def _text(value: object) -> str:
    """How DuckDB spells a value cast to text, so `accepted_values: [true, 1]` compares like the data."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def safe_identifier(text: str) -> str:
    """A suffix for helper column names made from a field name."""
    return re.sub(r"[^a-z0-9_]", "_", text.lower())
