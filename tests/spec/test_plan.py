from __future__ import annotations

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.unit

SPECS = """\
sources:
  - {name: crm, type: sql, url: "sqlite:///crm.db", description: CRM}
datasets:
  - {name: customers, source: crm, table: customers}
  - {name: members, source: crm, table: members}
entities:
  - {name: person, join_keys: [person_id]}
"""


def test_plan_then_apply_then_nothing_left(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "a.yaml").write_text(SPECS)
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    plan = build_plan(load_project(folder), store)
    assert [(s.action, s.kind, s.name) for s in plan.steps] == [
        ("create", "sources", "crm"),
        ("create", "datasets", "customers"),
        ("create", "datasets", "members"),
        ("create", "entities", "person"),
    ]
    apply_plan(plan, store)
    assert build_plan(load_project(folder), store).empty

    (folder / "a.yaml").write_text(
        SPECS.replace("description: CRM", "description: CRM v2").replace(
            "  - {name: members, source: crm, table: members}\n", ""
        )
    )
    plan = build_plan(load_project(folder), store)
    assert [(s.action, s.name) for s in plan.steps] == [("update", "crm"), ("delete", "members")]
    assert [(d.path, d.old, d.new) for d in plan.steps[0].diffs] == [("description", "CRM", "CRM v2")]
    with pytest.raises(
        ZhongtaiError, match=r"the plan removes 1 object \(dataset members\) and no one confirmed"
    ):
        apply_plan(plan, store)
    assert store.registered("sources")["crm"]["description"] == "CRM"
    apply_plan(plan, store, allow_delete=True)
    assert store.datasets_of_source("crm") == ["customers"]
    store.close()


def test_specs_applied_by_an_older_version_show_no_change(tmp_path):
    from zhongtai.meta.records import Change

    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "a.yaml").write_text(SPECS)
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    apply_plan(build_plan(load_project(folder), store), store)
    # An older release stored datasets without the settings added since (they now have defaults).
    old = {
        k: v
        for k, v in store.registered("datasets")["customers"].items()
        if k not in ("checks", "batch_rows")
    }
    store.apply([Change("datasets", "update", "customers", old)], "old-release")
    assert build_plan(load_project(folder), store).empty
    store.close()
