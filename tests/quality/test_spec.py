from __future__ import annotations

import re
from pathlib import Path

import pytest

from zhongtai.spec.project import SpecErrors, load_project

pytestmark = pytest.mark.unit

GOOD = """\
sources:
  - {name: crm, type: sql, url: "sqlite:///crm.db"}
datasets:
  - name: customers
    source: crm
    table: customers
    dedupe: [customer_id]
    checks:
      - {freshness: {column: updated_at, max_age: 2d}, on_fail: warn}
      - {row_count_change: {max_drop: 0.5, max_growth: 10}}
      - {unique: [customer_id, source]}
    fields:
      - name: phone
        clean: [trim, halfwidth, phone]
        checks:
          - not_null
          - {regex: "^1[3-9]\\\\d{9}$", on_fail: warn}
      - name: age
        checks: [{range: {min: 0, max: 120}}]
      - name: status
        checks: [{accepted_values: [active, dormant]}]
      - name: referrer
        checks: [{references: {dataset: customers, field: customer_id}}]
      - name: signup
        clean: [date]
"""


def _line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment.strip() in line)


def _problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "specs.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        load_project(tmp_path, {})
    return caught.value.problems


def test_quality_rules_load(tmp_path):
    (tmp_path / "specs.yaml").write_text(GOOD, encoding="utf-8")
    dataset = load_project(tmp_path, {}).datasets["customers"]
    phone = dataset.fields[0]
    assert phone.clean == ["trim", "halfwidth", "phone"]
    assert [c.kind for c in phone.checks] == ["not_null", "regex"]
    assert phone.checks[1].on_fail == "warn"
    assert [c.kind for c in dataset.checks] == ["freshness", "row_count_change", "unique"]
    assert dataset.checks[0].on_fail == "warn" and dataset.checks[1].on_fail == "block"
    assert dataset.dedupe == ["customer_id"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "clean: [trim, halfwidth, phone]",
            "clean: [trim, halfwidth, phonee]",
            r"datasets\.customers\.fields\.phone\.clean\.2: unknown transform 'phonee': expected one of trim",
        ),
        (
            "{range: {min: 0, max: 120}}",
            "{range: {min: 0, max: 120}, regex: x}",
            r"datasets\.customers\.fields\.age\.checks\.0: give exactly one check per item: one of .* "
            r"\(found range, regex\)",
        ),
        (
            "{range: {min: 0, max: 120}}",
            "{range: {min: 200, max: 120}}",
            r"datasets\.customers\.fields\.age\.checks\.0\.range: min 200 is greater than max 120",
        ),
        (
            "{regex: ",
            "{x: 1, regex: ",
            r"datasets\.customers\.fields\.phone\.checks\.1\.x: unknown key",
        ),
        (
            "          - not_null",
            "          - notnull",
            r"datasets\.customers\.fields\.phone\.checks\.0: unknown check 'notnull': expected one of not_null",
        ),
        (
            "max_age: 2d",
            "max_age: 2 days",
            r"datasets\.customers\.checks\.0\.freshness\.max_age: expected a duration like \"30d\"",
        ),
        (
            "on_fail: warn}\n",
            "on_fail: quarantine}\n",
            r"datasets\.customers\.checks\.0\.on_fail: Input should be 'block' or 'warn'",
        ),
        (
            "clean: [date]",
            "clean: [date, trim]",
            r"datasets\.customers\.fields\.signup\.clean: 'date' turns the value into a date: put it last",
        ),
    ],
)
def test_bad_rules_name_file_line_and_field(tmp_path, old, new, expected):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    (problem,) = _problems(tmp_path, text)
    line = _line_of(text, new)
    assert problem.startswith(f"{tmp_path / 'specs.yaml'}:{line} "), problem
    assert re.search(expected, problem), problem


def test_bad_regex_is_named(tmp_path):
    text = GOOD.replace('{regex: "^1', '{regex: "(^1')
    (problem,) = _problems(tmp_path, text)
    assert problem == (
        f"{tmp_path / 'specs.yaml'}:{_line_of(text, '(^1')} datasets.customers.fields.phone.checks.1.regex: "
        "not a valid regular expression: missing ), unterminated subpattern at position 0"
    )
