"""The row pass of an ingest: clean the staged rows, check them, quarantine failures, dedupe, write the rest.

Everything runs as DuckDB SQL over the staged Parquet files; a row is identified by its file and position,
so only the ids and reasons of failing rows are held, never the rows themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import duckdb
import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.engine import one, quote, run
from zhongtai.lake.parts import PartWriter
from zhongtai.lake.storage import LakeStorage
from zhongtai.quality.results import QualityOutcome, RuleResult
from zhongtai.quality.row_rules import RowRule, duck_type, field_rule, parse_rule
from zhongtai.quality.transforms import clean_column, literal
from zhongtai.spec.models import DatasetSpec, FieldSpec

BATCH = 100_000
IDS = "_zt_file, _zt_pos"
# Given a referenced dataset's name, the SQL scan of its current version (errors if it has none).
ReferenceScan = Callable[[str], str]


@dataclass
class RowPass:
    """The cleaned rows to turn into a version, and what happened to the others."""

    files: list[str]
    outcome: QualityOutcome


def has_row_rules(spec: DatasetSpec) -> bool:
    """Whether the dataset declares anything that looks at rows (checks, transforms, dedupe)."""
    return bool(spec.dedupe) or any(f.checks or f.clean for f in spec.fields)


def staging_spec(spec: DatasetSpec) -> DatasetSpec:
    """The spec the connector reads with: declared types of cleaned fields wait until after cleaning.

    `phone: ' 138-0000-0000 '` cannot be cast to anything before it is cleaned; after cleaning, a value that
    still does not fit its type is quarantined with the reason instead of failing the whole ingest.
    """
    fields = [f.model_copy(update={"type": None}) if f.clean else f for f in spec.fields]
    return spec.model_copy(update={"fields": fields})


def check_rows(
    con: duckdb.DuckDBPyConnection,
    storage: LakeStorage,
    raw_files: list[str],
    spec: DatasetSpec,
    *,
    kept_folder: str,
    quarantine_folder: str,
    watermark: str | None,
    reference_scan: ReferenceScan,
) -> RowPass:
    """Run transforms, field checks and dedupe over the staged files; write kept and quarantined rows."""
    where = f"dataset '{spec.name}'"
    paths = ", ".join(literal(storage.display(f)) for f in raw_files)
    run(
        con,
        f"""CREATE OR REPLACE TEMP VIEW zt_raw AS SELECT * EXCLUDE (file_row_number), file_row_number AS _zt_pos
        FROM read_parquet([{paths}], union_by_name=true, filename='_zt_file', file_row_number=true)""",
    )
    raw_types = _types(con, "zt_raw")
    columns = [c for c in raw_types if c not in ("_zt_file", "_zt_pos")]
    _require_columns(spec, columns, where)
    parse_rules = _stage_view(con, spec, columns, raw_types)
    stage_types = _types(con, "zt_stage")
    (rows_in,) = one(con, "SELECT count(*) FROM zt_raw")
    run(con, "CREATE OR REPLACE TEMP TABLE zt_fail (_zt_file VARCHAR, _zt_pos BIGINT, rule VARCHAR, "
        "reason VARCHAR, quarantine BOOLEAN)")  # fmt: skip
    early, late = _field_rules(spec, stage_types, reference_scan)
    for rule in parse_rules + early:
        _record(con, rule, "zt_stage")
    run(con, f"CREATE OR REPLACE TEMP TABLE zt_out AS SELECT DISTINCT {IDS} FROM zt_fail WHERE quarantine")
    deduped = _dedupe(con, spec, watermark)
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW zt_survivors AS SELECT * FROM zt_stage ANTI JOIN zt_out USING ({IDS})",
    )
    (survivors,) = one(con, "SELECT count(*) FROM zt_survivors")
    for rule in late:
        _record(con, rule, "zt_survivors")
    (quarantined,) = one(con, f"SELECT count(*) FROM (SELECT DISTINCT {IDS} FROM zt_fail WHERE quarantine)")
    quarantine_files = _write_quarantine(con, storage, quarantine_folder, where) if quarantined else []
    files, kept = _write_kept(con, storage, raw_files, columns, kept_folder, where)
    if kept + quarantined + deduped != rows_in:
        raise ZhongtaiError(
            "internal",
            f"{where}: quality pass lost track of rows: {rows_in} in, {kept} kept, {quarantined} "
            f"quarantined, {deduped} deduplicated",
        )
    results = _rule_results(con, parse_rules + early, late, rows_in, survivors)
    if spec.dedupe:
        key = ", ".join(spec.dedupe)
        results.append(RuleResult(f"dedupe({key})", "dedupe", "quarantine", rows_in - quarantined, deduped,
                                  f"{deduped} older rows with the same key removed" if deduped else ""))  # fmt: skip
    outcome = QualityOutcome(rows_in, kept, quarantined, deduped, results, quarantine_files)
    return RowPass(files, outcome)


def _types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    described = con.sql(f"SELECT * FROM {relation} LIMIT 0")
    return {name: str(kind) for name, kind in zip(described.columns, described.types, strict=True)}


def _require_columns(spec: DatasetSpec, columns: list[str], where: str) -> None:
    named = [f.name for f in spec.fields if f.checks or f.clean] + list(spec.dedupe or [])
    missing = sorted({n for n in named if n not in columns})
    if missing:
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: quality rules name columns the source does not have: {', '.join(missing)}",
            f"the source has: {', '.join(columns)}",
        )


def _stage_view(
    con: duckdb.DuckDBPyConnection, spec: DatasetSpec, columns: list[str], raw_types: dict[str, str]
) -> list[RowRule]:
    """Create `zt_stage`: the cleaned columns plus helper columns that show what each transform received."""
    fields = {f.name: f for f in spec.fields}
    select = [IDS]
    rules: list[RowRule] = []
    for position, name in enumerate(columns):
        field = fields.get(name)
        if field is None or not field.clean:
            select.append(quote(name))
            continue
        cleaned = clean_column(name, quote(name), raw_types[name], field.clean)
        value = f"_zt_value_{position}"
        select.append(f"{cleaned.value} AS {value}")
        if cleaned.parses_date:
            select.append(f"{cleaned.text} AS _zt_text_{position}")
            rules.append(
                parse_rule(
                    name,
                    "date",
                    f"_zt_text_{position}",
                    value,
                    "is not a date in a known format",
                    _pii(field),
                )
            )
        if field.type is not None:
            typed = duck_type(field.type)
            select.append(f"TRY_CAST({value} AS {typed}) AS {quote(name)}")
            rules.append(
                parse_rule(name, "type", value, quote(name), f"does not fit type {field.type}", _pii(field))
            )
        else:
            select.append(f"{value} AS {quote(name)}")
    run(con, f"CREATE OR REPLACE TEMP VIEW zt_stage AS SELECT {', '.join(select)} FROM zt_raw")
    return rules


def _field_rules(
    spec: DatasetSpec, stage_types: dict[str, str], reference_scan: ReferenceScan
) -> tuple[list[RowRule], list[RowRule]]:
    """Field checks split in two: most run on every staged row, `unique` on the rows that survive the rest."""
    early: list[RowRule] = []
    late: list[RowRule] = []
    for field in spec.fields:
        for check in field.checks:
            reference = None
            if check.references is not None:
                target = check.references
                wanted = stage_types[field.name]
                reference = (
                    f"SELECT v FROM (SELECT DISTINCT TRY_CAST({quote(target.field)} AS {wanted}) AS v "
                    f"FROM {reference_scan(target.dataset)}) WHERE v IS NOT NULL"
                )
            rule = field_rule(field.name, check, reference, _pii(field))
            taken = sum(r.rule.split("#")[0] == rule.rule for r in early + late)
            if taken:  # two checks of one kind on one field get their own counts
                rule = replace(rule, rule=f"{rule.rule}#{taken + 1}")
            (late if rule.qualify else early).append(rule)
    return early, late


def _pii(field: FieldSpec) -> str | None:
    """The declared PII class whose values must stay out of reasons (None: show the value); redacted free
    text is `text`."""
    return "text" if field.redact else None if field.pii in (None, "none") else field.pii


def _record(con: duckdb.DuckDBPyConnection, rule: RowRule, relation: str) -> None:
    test = f"QUALIFY {rule.condition}" if rule.qualify else f"WHERE {rule.condition}"
    quarantine = "true" if rule.on_fail == "quarantine" else "false"
    run(
        con,
        f"INSERT INTO zt_fail SELECT {IDS}, {literal(rule.rule)}, {rule.reason}, {quarantine} "
        f"FROM {relation} {test}",
    )


def _dedupe(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, watermark: str | None) -> int:
    """Keep the newest row per dedupe key (by watermark, then the last read); the others join zt_out."""
    if not spec.dedupe:
        return 0
    keys = ", ".join(quote(k) for k in spec.dedupe)
    newest = f"{quote(watermark)} DESC NULLS LAST, " if watermark else ""
    run(
        con,
        f"""CREATE OR REPLACE TEMP TABLE zt_dupe AS SELECT {IDS} FROM zt_stage ANTI JOIN zt_out USING ({IDS})
        QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {newest}_zt_file DESC, _zt_pos DESC) > 1""",
    )
    (count,) = one(con, "SELECT count(*) FROM zt_dupe")
    run(con, "INSERT INTO zt_out SELECT * FROM zt_dupe")
    return int(count)


def _write_quarantine(
    con: duckdb.DuckDBPyConnection, storage: LakeStorage, folder: str, where: str
) -> list[str]:
    """Failing rows as they came from the source, with every rule they failed and why."""
    sql = f"""
        SELECT r.* EXCLUDE ({IDS}), f._zt_rule, f._zt_reason FROM zt_raw r JOIN (
          SELECT {IDS}, string_agg(rule, ', ' ORDER BY rule) AS _zt_rule,
                 string_agg(reason, '; ' ORDER BY rule) AS _zt_reason
          FROM zt_fail GROUP BY {IDS} HAVING bool_or(quarantine)
        ) f USING ({IDS})"""
    writer = PartWriter(storage, folder, "part", where)
    writer.write_all(con.sql(sql).to_arrow_reader(BATCH))
    return writer.close()


def _write_kept(
    con: duckdb.DuckDBPyConnection,
    storage: LakeStorage,
    raw_files: list[str],
    columns: list[str],
    folder: str,
    where: str,
) -> tuple[list[str], int]:
    names = ", ".join(quote(c) for c in columns)
    quarantined = f"SELECT {IDS} FROM zt_fail WHERE quarantine"
    sql = f"SELECT {names} FROM zt_survivors ANTI JOIN ({quarantined}) q USING ({IDS})"
    reader = con.sql(sql).to_arrow_reader(BATCH)
    target = _target_schema(storage, raw_files, reader.schema)
    writer = PartWriter(storage, folder, "part", where)
    for batch in reader:
        writer.write(_conform(batch, target))
    if writer.rows == 0:
        writer.write_empty(target)
    return writer.close(), writer.rows


def _target_schema(storage: LakeStorage, raw_files: list[str], cleaned: pa.Schema) -> pa.Schema:
    """Untouched columns keep the exact Arrow type the connector wrote; cleaned ones take DuckDB's."""
    import pyarrow.parquet as pq

    fs = storage.arrow_fs()
    raw = pa.unify_schemas(
        [pq.read_schema(f, filesystem=fs) for f in raw_files], promote_options="permissive"
    )
    return pa.schema(
        [
            raw.field(f.name) if f.name in raw.names and _same_kind(raw.field(f.name), f) else f
            for f in cleaned
        ]
    )


def _same_kind(raw: pa.Field, cleaned: pa.Field) -> bool:
    # A cast between these is lossless (string/large_string, null/anything); other changes are the transform's.
    return (
        raw.type == cleaned.type
        or pa.types.is_null(raw.type)
        or (
            pa.types.is_string(cleaned.type)
            and (pa.types.is_large_string(raw.type) or pa.types.is_string(raw.type))
        )
    )


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for field in schema:
        column = batch.column(field.name)
        if pa.types.is_null(field.type):
            column = pa.nulls(len(column)) if column.null_count == len(column) else column
        elif column.type != field.type:
            column = column.cast(field.type)
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=schema.names)


def _rule_results(
    con: duckdb.DuckDBPyConnection, early: list[RowRule], late: list[RowRule], rows_in: int, survivors: int
) -> list[RuleResult]:
    # The rule's summary, not a failing row's reason: results are kept in the metadata store and printed,
    # and a reason quotes the row's value.
    found = dict(con.sql("SELECT rule, count(*) FROM zt_fail GROUP BY rule").fetchall())
    results = []
    for rules, checked in ((early, rows_in), (late, survivors)):
        for rule in rules:
            failed = int(found.get(rule.rule, 0))
            summary = rule.summary if failed else ""
            results.append(RuleResult(rule.rule, _level(rule), rule.on_fail, checked, failed, summary))
    return results


def _level(rule: RowRule) -> str:
    return "clean" if rule.rule.rsplit(".", 1)[-1] in ("date", "type") else "row"
