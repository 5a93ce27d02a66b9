"""The multiclass and regression examples of docs/models.md load as a project, as a user would copy them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zhongtai.spec.project import load_project

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def _example(section: str) -> str:
    text = DOCS.read_text()
    body = text[text.index(f"\n## {section}\n") :]
    found = re.search(r"```yaml\n(.*?)```", body, re.S)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("section", "model", "task"),
    [
        ("Multiclass classification", "segment", "multiclass_classification"),
        ("Regression", "next_month_spend", "regression"),
    ],
)
def test_the_documented_example_loads(tmp_path, section, model, task):
    (tmp_path / "data").mkdir()
    for name in ("customer_months", "customer_segments", "customer_spend"):
        (tmp_path / "data" / f"{name}.csv").write_text("customer_id,month_end\n")
    (tmp_path / "project.yaml").write_text(_example(section))
    project = load_project(tmp_path)
    assert project.models[model].task == task
    assert project.models[model].candidates is not None
    assert len(project.capabilities) == 1
