"""`plan` and `apply` read relative paths beside the declaring file and warn about local paths not there yet."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli.app import app

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(zt_env):
    context.reset()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args), catch_exceptions=False)
    context.reset()


def test_the_scenario_applies_from_its_folder_or_its_parent(cli, tmp_path, monkeypatch):
    out = tmp_path / "retail"
    assert cli("retail", "generate", "--customers", "300", "--out", str(out)).exit_code == 0
    elsewhere = tmp_path / "elsewhere"  # a working directory with nothing to do with the project
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    applied = cli("apply", "--yes", str(out))
    assert applied.exit_code == 0
    assert "warning" not in applied.output
    shown = json.loads(cli("sources", "show", "clickstream", "--json").stdout)
    assert shown["url"] == str((out / "systems" / "clickstream").resolve())
    assert "No changes" in cli("plan", str(out / "project")).output


def test_a_missing_local_folder_is_a_warning_at_its_line(cli, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "files.yaml").write_text(
        "sources:\n  - {name: exports, type: files, url: ../exports}\n"
        "datasets:\n  - {name: sales, source: exports, path: 'sales-*.csv', format: csv}\n"
    )
    result = cli("plan", str(project))
    assert result.exit_code == 0
    assert (
        f"warning {project / 'files.yaml'}:2 sources.exports.url: local folder {tmp_path / 'exports'} "
        "does not exist; ingest fails until it does" in result.stderr
    )
    assert "Plan: 2 to create" in result.stdout

    (tmp_path / "exports").mkdir()
    planned = cli("plan", "--json", str(project))
    assert json.loads(planned.stdout)[0]["name"] == "exports"
    assert f"{project / 'files.yaml'}:4 datasets.sales.path: no file matches 'sales-*.csv'" in planned.stderr
