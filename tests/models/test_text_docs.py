"""The text classification example of docs/models.md loads as a project, as a user would copy it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zhongtai.spec.project import load_project

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def test_the_documented_text_classification_example_loads(tmp_path):
    text = DOCS.read_text()
    body = text[text.index("\n## Text classification\n") :]
    found = re.search(r"```yaml\n(.*?)```", body, re.S)
    assert found is not None
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tickets.csv").write_text("ticket_id,created_at,category,body\n")
    (tmp_path / "project.yaml").write_text(found.group(1))
    project = load_project(tmp_path)
    model = project.models["intent"]
    assert model.task == "text_classification" and model.text is not None and model.text.column == "text"
    assert project.capabilities["intent"].routing is not None
