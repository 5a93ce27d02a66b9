"""The PII scan of a demo home: every value of a generated PII field, and every API key handed out, looked
for where none may be: logs, the metadata store's text columns (errors of runs, decisions, audit), the spill
and audit files, and the lake's own files (model artifacts and run records, features, training sets, OneID).

The values come from the generated source systems themselves (the SQL sources' tables, read through each
registered dataset's `table` and its fields' PII classes), since the lake holds only tokens. A finding says
where (file and line, or table, column and row) and what kind of value, never the value. Matching is by
whole token (phones, emails, ID numbers, keys: a run of letters, digits and `@._+-`) and by CJK name inside
a run of CJK characters; addresses are not looked for (free-form, they would match by fragments).

Used by bench/security.py and tests/govern/test_pii_scan.py.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

_TOKEN = re.compile(r"[0-9A-Za-z@._+\-]{5,}")
_CJK = re.compile(r"[\u4e00-\u9fff]{2,}")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_KEY_SHAPE = re.compile(r"^zt_[A-Za-z0-9_\-]{40,}$")
# The classes whose values are looked for; an address is free-form, a `text:` field is free text.
CLASSES = ("phone", "email", "id_card", "name", "bank_card")
_ADDRESS_FORMS = ("先生", "女士", "小姐")
# Metadata columns that keep what callers send as free text, scrubbed by the recognizers.
FREE_TEXT = {("decisions", "inputs"), ("feedback", "comment")}
TEXT_SUFFIXES = {".json", ".jsonl", ".txt", ".log", ".out", ".err", ".yaml", ".yml", ".csv", ".lock"}


@dataclass
class Needles:
    """What must not be found: PII values by kind, secrets by label."""

    values: dict[str, str] = field(default_factory=dict)  # value -> PII class
    names: dict[str, str] = field(default_factory=dict)  # CJK name -> "name"
    secrets: dict[str, str] = field(default_factory=dict)  # secret -> label

    def add_value(self, value: str, kind: str) -> None:
        value = value.strip()
        if value.endswith(_ADDRESS_FORMS):  # 王先生: a form of address, as generic as "Mr Wang"
            return
        if _CJK.fullmatch(value) and len(value) <= 4:
            self.names[value] = kind
        elif _TOKEN.fullmatch(value):
            self.values[value] = kind


@dataclass(frozen=True)
class Finding:
    where: str  # file:line, or metadata table.column row id
    kind: str  # the PII class or the secret's label; never the value
    # A name inside free text a caller chose to have kept (a decision's inputs, a feedback comment): the
    # recognizers that scrub those find phones, e-mails, ID and card numbers, not names.
    free_text_name: bool = False


def source_values(store: object) -> Needles:
    """Every value of a PII field of a registered dataset read from a SQL source (the systems of record)."""
    import sqlalchemy as sa

    needles = Needles()
    registered = store.registered  # type: ignore[attr-defined]
    sources = registered("sources")
    for spec in registered("datasets").values():
        source = sources.get(spec.get("source"), {})
        columns = {
            f["name"]: f["pii"] for f in spec.get("fields", []) if f.get("pii") in CLASSES and f.get("name")
        }
        if source.get("type") != "sql" or not spec.get("table") or not columns:
            continue
        engine = sa.create_engine(source["url"])
        try:
            with engine.connect() as connection:
                table = sa.Table(spec["table"], sa.MetaData(), autoload_with=connection)
                selected = [table.c[c] for c in columns if c in table.c]
                for row in connection.execute(sa.select(*selected)):
                    for column, value in zip(selected, row, strict=True):
                        if isinstance(value, str) and value:
                            needles.add_value(value, columns[column.name])
        finally:
            engine.dispose()
    return needles


def scan_line(line: str, needles: Needles) -> Iterator[str]:
    """The kinds of needle in one line of text (JSON's `\\uXXXX` escapes read as the characters they are)."""
    if "\\u" in line:
        line = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), line)
    for token in _TOKEN.findall(line):
        token = token.strip(".-")
        if token in needles.values:
            yield needles.values[token]
        elif token in needles.secrets:
            yield needles.secrets[token]
        elif _KEY_SHAPE.match(token):
            yield "api key"
    if needles.names:
        for run in _CJK.findall(line):
            for size in (2, 3, 4):
                for start in range(len(run) - size + 1):
                    if run[start : start + size] in needles.names:
                        yield "name"


def scan_text(where: str, text: str, needles: Needles) -> list[Finding]:
    """Findings in a text, by line."""
    return [
        Finding(f"{where}:{number}", kind)
        for number, line in enumerate(text.splitlines(), 1)
        for kind in dict.fromkeys(scan_line(line, needles))
    ]


def scan_files(paths: Iterable[Path], needles: Needles, root: Path) -> list[Finding]:
    """Text files line by line; Parquet files by their string columns, row by row."""
    found: list[Finding] = []
    for path in sorted(paths):
        where = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        if path.suffix == ".parquet":
            found += _scan_parquet(path, where, needles)
        elif path.suffix in TEXT_SUFFIXES:
            found += scan_text(where, path.read_text(encoding="utf8", errors="replace"), needles)
    return found


def _scan_parquet(path: Path, where: str, needles: Needles) -> list[Finding]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    found = []
    for name in table.column_names:
        column = table.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        for row, value in enumerate(column.to_pylist()):
            if value:
                found += [Finding(f"{where} column {name} row {row}", k) for k in scan_line(value, needles)]
    return found


def scan_sqlite(path: Path, needles: Needles, label: str) -> list[Finding]:
    """Every text value of every table of a SQLite database (read only)."""
    found = []
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cursor = connection.execute(f'SELECT rowid, * FROM "{table}"')
            columns = [d[0] for d in cursor.description][1:]
            for rowid, *values in cursor:
                for column, value in zip(columns, values, strict=True):
                    if isinstance(value, str) and value:
                        for kind in dict.fromkeys(scan_line(value, needles)):
                            free = kind == "name" and (table, column) in FREE_TEXT
                            found.append(Finding(f"{label} {table}.{column} rowid {rowid}", kind, free))
    finally:
        connection.close()
    return found


def home_files(home: Path) -> list[Path]:
    """The files of a Zhongtai home that must hold no PII in clear: audit, spill, and the lake's own files
    (models and run records, features, training sets, OneID). Not the generated source systems (demo/), not
    the datasets' snapshots (tokens by design, and read through the catalog), not the PII key."""
    roots = [home / "audit", home / "spill"]
    lake = home / "lake"
    if lake.is_dir():
        roots += [p for p in lake.iterdir() if p.is_dir() and p.name.startswith("_")]
    return [p for root in roots if root.is_dir() for p in root.rglob("*") if p.is_file()]


def scan_home(home: Path, needles: Needles, logs: Iterable[Path]) -> list[Finding]:
    """The whole scan: the logs given, the metadata store (when it is SQLite) and the home's own files."""
    found = scan_files(logs, needles, home.parent)
    metadata = home / "metadata.db"
    if metadata.exists():
        found += scan_sqlite(metadata, needles, "metadata.db")
    return found + scan_files(home_files(home), needles, home)
