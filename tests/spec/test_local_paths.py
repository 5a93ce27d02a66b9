"""Relative paths in specs mean "beside the declaring file", whatever folder is applied or wherever we run."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhongtai.spec.project import load_project

pytestmark = pytest.mark.unit

SOURCES = """\
sources:
  - name: clickstream
    type: files
    url: ../systems/clickstream
  - name: crm
    type: sql
    url: "sqlite:///../systems/crm.db?timeout=5"
  - name: lake
    type: files
    url: s3://bucket/events
  - name: shared
    type: files
    url: ${env:SHARED_DIR}
  - name: erp
    type: sql
    url: "sqlite:////srv/erp.db"
datasets:
  - name: click_events
    source: clickstream
    path: events-*.jsonl
    format: jsonl
"""


def _scenario(root: Path) -> Path:
    """The layout `zhongtai retail generate` writes: specs in project/, the systems beside it."""
    (root / "project").mkdir(parents=True)
    (root / "project" / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (root / "systems" / "clickstream").mkdir(parents=True)
    (root / "systems" / "clickstream" / "events-2026-01.jsonl").write_text("{}\n", encoding="utf-8")
    (root / "systems" / "crm.db").write_bytes(b"")
    return root


@pytest.mark.parametrize("applied", [".", "project"])
def test_relative_paths_resolve_against_the_declaring_file(tmp_path, monkeypatch, applied):
    root = _scenario(tmp_path / "retail")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    project = load_project(root / applied, environ={"SHARED_DIR": "/x"})
    systems = (root / "systems").resolve()
    assert project.sources["clickstream"].url == str(systems / "clickstream")
    assert project.sources["crm"].url == f"sqlite:///{systems / 'crm.db'}?timeout=5"
    assert project.sources["lake"].url == "s3://bucket/events"
    assert project.sources["shared"].url == "${env:SHARED_DIR}"
    assert project.sources["erp"].url == "sqlite:////srv/erp.db"


def test_a_relative_folder_argument_gives_the_same_paths(tmp_path, monkeypatch):
    root = _scenario(tmp_path / "retail")
    monkeypatch.chdir(tmp_path)
    project = load_project("retail", environ={"SHARED_DIR": "/x"})
    assert project.sources["clickstream"].url == str((root / "systems" / "clickstream").resolve())


def test_local_paths_that_do_not_exist_are_warnings_at_their_lines(tmp_path):
    root = _scenario(tmp_path / "retail")
    (root / "systems" / "crm.db").unlink()
    (root / "systems" / "clickstream" / "events-2026-01.jsonl").unlink()
    project = load_project(root, environ={"SHARED_DIR": "/x"})
    spec_file = root / "project" / "sources.yaml"
    systems = (root / "systems").resolve()
    assert project.warnings == [
        f"{spec_file}:7 sources.crm.url: database file {systems / 'crm.db'} does not exist; "
        "ingest fails until it does",
        f"{spec_file}:16 sources.erp.url: database file /srv/erp.db does not exist; ingest fails until it does",
        f"{spec_file}:20 datasets.click_events.path: no file matches 'events-*.jsonl' in "
        f"{systems / 'clickstream'} yet; ingest fails until one does",
    ]
    (systems / "clickstream").rmdir()
    assert load_project(root, environ={"SHARED_DIR": "/x"}).warnings[0] == (
        f"{spec_file}:4 sources.clickstream.url: local folder {systems / 'clickstream'} does not exist; "
        "ingest fails until it does"
    )


def test_a_complete_project_has_no_warnings(tmp_path):
    root = _scenario(tmp_path / "retail")
    text = SOURCES.replace('url: "sqlite:////srv/erp.db"', 'url: "sqlite:///erp.db"')
    (root / "project" / "sources.yaml").write_text(text, encoding="utf-8")
    (root / "project" / "erp.db").write_bytes(b"")
    project = load_project(root, environ={"SHARED_DIR": "/x"})
    assert project.sources["erp"].url == f"sqlite:///{(root / 'project' / 'erp.db').resolve()}"
    assert project.warnings == []
