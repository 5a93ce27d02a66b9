"""The generated spec reference: it covers every kind and key, its examples load, and the checked-in page is
current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from zhongtai.cli.app import app
from zhongtai.errors import ZhongtaiError
from zhongtai.spec.examples import EXAMPLES
from zhongtai.spec.models import SPEC_MODELS
from zhongtai.spec.project import load_project
from zhongtai.spec.reference import REGENERATE, key_rows, kind_schema, reference_markdown, spec_kinds

pytestmark = pytest.mark.unit

PAGE = Path(__file__).resolve().parents[2] / "docs" / "specs-reference.md"
ENVIRON = {"CRM_PASSWORD": "secret", "TICKETS_TOKEN": "token"}


def _paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path in a YAML value, written the way the reference writes them (`fields[].checks[].regex`)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            found |= {prefix + str(key)} | _paths(sub, f"{prefix}{key}.")
    elif isinstance(value, list):
        for item in value:
            found |= _paths(item, prefix[:-1] + "[]." if prefix else "")
    return found


def test_the_reference_lists_every_kind_a_project_file_holds():
    assert spec_kinds() == list(SPEC_MODELS)
    page = reference_markdown()
    for kind in SPEC_MODELS:
        assert f"\n## {kind}\n" in page


def test_the_examples_together_load_through_the_real_loader(tmp_path):
    for kind, text in EXAMPLES.items():
        (tmp_path / f"{kind}.yaml").write_text(text, encoding="utf-8")
    project = load_project(tmp_path, environ=ENVIRON)
    for kind in spec_kinds():
        declared = yaml.safe_load(EXAMPLES[kind])[kind]
        assert list(project.objects(kind)) == [item["name"] for item in declared]


def test_every_example_item_validates_against_its_kinds_json_schema():
    for kind in spec_kinds():
        validator = jsonschema.Draft202012Validator(kind_schema(kind))
        for item in yaml.safe_load(EXAMPLES[kind])[kind]:
            errors = [error.message for error in validator.iter_errors(item)]
            assert errors == [], f"{kind}.{item['name']}: {errors}"


def test_the_json_schema_refuses_an_unknown_key():
    validator = jsonschema.Draft202012Validator(kind_schema("entities"))
    errors = [
        e.message for e in validator.iter_errors({"name": "person", "join_keys": ["id"], "joinkeys": 1})
    ]
    assert errors == ["Additional properties are not allowed ('joinkeys' was unexpected)"]


def test_every_key_the_reference_lists_appears_in_its_kinds_example():
    missing = {}
    for kind in spec_kinds():
        shown = set().union(*(_paths(item) for item in yaml.safe_load(EXAMPLES[kind])[kind]))
        listed = {row.path for variant in key_rows(kind) for row in variant.rows}
        if listed - shown:
            missing[kind] = sorted(listed - shown)
    assert missing == {}, f"keys missing from the examples in src/zhongtai/spec/examples.py: {missing}"


def test_every_key_has_a_description():
    undescribed = [
        f"{kind}.{row.path}"
        for kind in spec_kinds()
        for variant in key_rows(kind)
        for row in variant.rows
        if not row.description
    ]
    assert undescribed == [], f"give these keys a Field(description=...) in src/zhongtai/spec: {undescribed}"


def test_nested_keys_have_dotted_paths_with_their_type_default_and_allowed_values():
    rows = {row.path: row for variant in key_rows("datasets") for row in variant.rows}
    on_fail = rows["fields[].checks[].on_fail"]
    assert (on_fail.type, on_fail.required, on_fail.default) == ("string", False, '`"quarantine"`')
    assert on_fail.allowed == "`quarantine`, `warn`"
    assert rows["pagination.type"].required
    assert rows["batch_rows"].allowed == "> 0; <= 10000000"
    assert rows["name"].allowed == "pattern `^[a-z][a-z0-9_]{0,62}$`"
    sources = {variant.title: variant for variant in key_rows("sources")}
    assert list(sources) == ["type: sql", "type: files", "type: http"]
    assert [row.path for row in sources["type: sql"].rows][:3] == ["name", "type", "url"]


def test_the_reference_is_the_same_each_time_it_is_generated():
    assert reference_markdown() == reference_markdown()


def test_the_checked_in_reference_is_current():
    if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != reference_markdown():
        pytest.fail(f"docs/specs-reference.md is out of date with the spec models: run `{REGENERATE}`")


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(ZhongtaiError, match="unknown spec kind 'datasetz'") as caught:
        kind_schema("datasetz")
    assert "datasets, entities" in str(caught.value.hint)


@pytest.mark.parametrize(
    ("said", "kind"),
    [("dataset", "datasets"), ("identity", "identities"), ("feature-view", "feature_views"),
     ("On-Demand View", "on_demand_views"), ("capability", "capabilities"), ("models", "models")],
)  # fmt: skip
def test_a_kind_is_found_by_its_key_or_its_noun(said, kind):
    assert kind_schema(said) == kind_schema(kind)


def test_spec_schema_prints_a_kinds_json_schema_as_json_or_yaml():
    runner = CliRunner()
    as_json = runner.invoke(app, ["spec", "schema", "datasets"])
    assert as_json.exit_code == 0, as_json.output
    schema = json.loads(as_json.stdout)
    assert schema == kind_schema("datasets")
    assert schema["additionalProperties"] is False and "fields" in schema["properties"]
    as_yaml = runner.invoke(app, ["spec", "schema", "datasets", "--format", "yaml"])
    assert as_yaml.exit_code == 0, as_yaml.output
    assert yaml.safe_load(as_yaml.stdout) == schema


def test_spec_schema_without_a_kind_lists_the_kinds():
    listed = CliRunner().invoke(app, ["spec", "schema"])
    assert listed.exit_code == 0, listed.output
    assert [line.split()[0] for line in listed.stdout.splitlines()] == spec_kinds()


def test_spec_schema_of_an_unknown_kind_is_one_error_line():
    result = CliRunner().invoke(app, ["spec", "schema", "datasetz"])
    assert result.exit_code == 1
    assert "unknown spec kind 'datasetz'" in result.stderr


def test_spec_reference_writes_the_page(tmp_path):
    out = tmp_path / "reference.md"
    result = CliRunner().invoke(app, ["spec", "reference", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == reference_markdown()
    printed = CliRunner().invoke(app, ["spec", "reference"])
    assert printed.stdout == reference_markdown()


def test_a_kind_without_an_example_stops_the_reference(monkeypatch):
    monkeypatch.delitem(EXAMPLES, "tags")
    with pytest.raises(
        ZhongtaiError, match=r"spec kind 'tags' has no example in src/zhongtai/spec/examples\.py"
    ):
        reference_markdown()


def test_the_json_schema_takes_the_bare_check_shorthand_the_loader_takes():
    validator = jsonschema.Draft202012Validator(kind_schema("datasets"))
    dataset = {"name": "orders", "source": "erp", "table": "orders"}
    bare = {**dataset, "fields": [{"name": "id", "checks": ["not_null", "unique", {"regex": "^[0-9]+$"}]}]}
    assert [e.message for e in validator.iter_errors(bare)] == []
    wrong = {**dataset, "fields": [{"name": "id", "checks": ["nonsense"]}]}
    assert [e.message for e in validator.iter_errors(wrong)] == [
        "'nonsense' is not valid under any of the given schemas"
    ]
