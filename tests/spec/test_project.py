from __future__ import annotations

from pathlib import Path

import pytest

from zhongtai.spec.project import SpecErrors, load_project

pytestmark = pytest.mark.unit

GOOD = """\
sources:
  - name: crm
    type: sql
    url: postgresql://reader:${env:CRM_PW}@127.0.0.1/crm
  - name: files
    type: files
    url: ../data
datasets:
  - name: customers
    source: crm
    table: customers
    primary_key: [customer_id]
    incremental: {watermark: updated_at}
    fields:
      - {name: phone, type: string, pii: phone}
entities:
  - name: person
    join_keys: [person_id]
"""


def _write(folder: Path, text: str, name: str = "specs.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def _problems(folder: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SpecErrors) as caught:
        load_project(folder, environ or {"CRM_PW": "x"})
    return caught.value.problems


def test_good_project_loads(tmp_path):
    project = load_project(_write(tmp_path / "p", GOOD), {"CRM_PW": "x"})
    assert set(project.sources) == {"crm", "files"}
    assert project.datasets["customers"].incremental.watermark == "updated_at"
    assert project.entities["person"].join_keys == ["person_id"]
    # relative folders are made absolute against the declaring file's folder; secrets stay references
    assert project.sources["files"].url == str((tmp_path / "data").resolve())
    assert "${env:CRM_PW}" in project.sources["crm"].url


def test_wrong_field_type_names_file_line_and_field(tmp_path):
    folder = _write(tmp_path / "p", GOOD.replace("type: string, pii", "type: strng, pii"))
    (problem,) = _problems(folder)
    assert problem.startswith(
        f"{folder}/specs.yaml:15 datasets.customers.fields.phone.type: unknown type 'strng'"
    )


def test_unknown_source_is_named_at_its_line(tmp_path):
    folder = _write(tmp_path / "p", GOOD.replace("source: crm", "source: erp"))
    (problem,) = _problems(folder)
    assert (
        problem
        == f"{folder}/specs.yaml:10 datasets.customers.source: unknown source 'erp' (known: crm, files)"
    )


def test_missing_secret_env_var(tmp_path):
    (problem,) = _problems(_write(tmp_path / "p", GOOD), environ={"OTHER": "1"})
    assert problem.endswith("specs.yaml:4 sources.crm.url: environment variable CRM_PW is not set")


def test_literal_password_is_refused(tmp_path):
    folder = _write(tmp_path / "p", GOOD.replace("${env:CRM_PW}", "hunter2"))
    (problem,) = _problems(folder)
    assert "specs.yaml:4 sources.crm.url: the URL holds a literal password" in problem


def test_literal_secret_header_is_refused(tmp_path):
    text = "sources:\n  - name: api\n    type: http\n    url: http://x\n    headers: {Authorization: Bearer abc}\n"
    (problem,) = _problems(_write(tmp_path / "p", text))
    assert "sources.api.headers: headers.Authorization looks like a secret" in problem


def test_unknown_key(tmp_path):
    folder = _write(tmp_path / "p", GOOD.replace("    primary_key:", "    primry_key: [x]\n    primary_key:"))
    (problem,) = _problems(folder)
    assert problem.endswith("specs.yaml:12 datasets.customers.primry_key: unknown key")


def test_duplicate_across_files(tmp_path):
    folder = _write(tmp_path / "p", GOOD)
    _write(folder, "entities:\n  - name: person\n    join_keys: [id]\n", "more.yaml")
    (problem,) = _problems(folder)
    assert (
        problem == f"{folder}/specs.yaml:17 entities.person: declared twice (first at {folder}/more.yaml:2)"
    )


def test_dataset_location_must_fit_source_type(tmp_path):
    folder = _write(tmp_path / "p", GOOD.replace("table: customers", "path: 'x/*.csv'"))
    (problem,) = _problems(folder)
    assert "datasets.customers.path: source 'crm' is sql; give table or query" in problem


def test_yaml_syntax_error_has_line(tmp_path):
    folder = _write(tmp_path / "p", "sources:\n  - name: a\n   type: [\n")
    (problem,) = _problems(folder)
    assert "specs.yaml:" in problem and "not valid YAML" in problem


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match=r"no \*\.yaml spec files found"):
        load_project(tmp_path / "empty")


def test_quality_reference_to_an_unknown_dataset(tmp_path):
    text = GOOD.replace(
        "      - {name: phone, type: string, pii: phone}",
        "      - {name: phone, type: string, pii: phone, checks: [{references: {dataset: members, field: phone}}]}",
    )
    (problem,) = _problems(_write(tmp_path / "p", text))
    assert (
        "datasets.customers.fields.phone.checks.references: unknown dataset 'members' (known: customers)"
        in problem
    )


def test_ingest_order_puts_referenced_datasets_first():
    from zhongtai.errors import ZhongtaiError
    from zhongtai.spec.references import ingest_order

    def refers(*targets):
        return {
            "fields": [
                {"name": "x", "checks": [{"references": {"dataset": t, "field": "id"}} for t in targets]}
            ]
        }

    specs = {
        "orders": refers("stores", "customers"),
        "lines": refers("orders", "products"),
        "stores": {},
        "customers": {},
        "products": refers("elsewhere"),
    }
    assert ingest_order(specs) == ["customers", "products", "stores", "orders", "lines"]
    with pytest.raises(ZhongtaiError, match="datasets refer to each other in a cycle: a, b"):
        ingest_order({"a": refers("b"), "b": refers("a")})


IDENTITY = """\
identities:
  - name: person
    sources: [{dataset: customers, key: customer_id, fields: {phone: phone}}]
"""


def test_a_dataset_may_not_take_the_name_of_an_identitys_output(tmp_path):
    folder = _write(
        tmp_path / "p",
        GOOD.replace("entities:", "  - {name: person_golden, source: crm, table: g}\nentities:") + IDENTITY,
    )
    (problem,) = _problems(folder)
    assert problem.endswith(
        "datasets.person_golden: identity 'person' produces a dataset of this name; rename the dataset or the identity"
    )


def test_a_capability_input_dataset_must_be_resolved_into_the_models_entity(tmp_path):
    rest = """\
models:
  - {name: churn, entity: person, label: {sql: "SELECT 1"}, feature_views: [v]}
feature_views:
  - {name: v, entity: person, sql: "SELECT 1", features: [{name: f}]}
capabilities:
  - {name: risk, model: churn, input: id, input_dataset: members, decisions: [{decision: a}], fallback: {decision: b}}
"""
    (problem,) = _problems(_write(tmp_path / "p", GOOD + IDENTITY + rest))
    assert problem.endswith(
        "capabilities.risk.input_dataset: no identity of entity 'person' resolves dataset 'members' "
        "(resolved: customers)"
    )
    ok = load_project(
        _write(tmp_path / "q", GOOD + IDENTITY + rest.replace("members", "customers")), {"CRM_PW": "x"}
    )
    assert ok.capabilities["risk"].input_dataset == "customers"
