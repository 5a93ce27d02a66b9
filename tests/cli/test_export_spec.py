"""`zhongtai export spec`: a registered capability written back as the YAML a project file holds, which
plans as no change; a kind the API does not edit, or an unknown name, is refused."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from tests.capabilities.world import SPECS
from zhongtai.cli import context
from zhongtai.cli.app import app

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(zt_env, tmp_path):
    context.reset()
    runner = CliRunner()
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(SPECS.split("policies:")[0])
    assert runner.invoke(app, ["apply", str(project)]).exit_code == 0
    yield lambda *args: runner.invoke(app, list(args))
    context.reset()


def test_a_capability_exports_as_yaml_that_plans_as_no_change(cli, tmp_path):
    shown = cli("export", "spec", "capabilities", "churn-risk")
    assert shown.exit_code == 0
    [capability] = yaml.safe_load(shown.stdout)["capabilities"]
    assert capability["name"] == "churn-risk" and capability["fallback"] == {
        "decision": "new_customer",
        "score": 0.5,
    }

    # The project again, its capabilities taken from the registry: the plan is empty.
    back = tmp_path / "back"
    back.mkdir()
    (back / "specs.yaml").write_text(SPECS.split("capabilities:")[0])
    for name in ("churn-risk", "churn-challenger"):
        out = back / f"{name}.yaml"
        assert cli("export", "spec", "capabilities", name, "--out", str(out)).exit_code == 0
    assert (back / "churn-risk.yaml").read_text() == shown.stdout
    planned = cli("plan", str(back))
    assert planned.exit_code == 0 and "No changes" in planned.stdout


def test_an_unknown_name_or_kind_is_refused(cli):
    missing = cli("export", "spec", "capabilities", "nothing")
    assert missing.exit_code == 1 and "capability 'nothing' is not registered" in missing.output
    other = cli("export", "spec", "models", "churn")
    assert other.exit_code == 1 and "spec kind 'models' is not registered" in other.output
