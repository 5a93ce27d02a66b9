"""The CLI acts as a principal (a local admin named by ZT_PRINCIPAL) and asks the same engine as the gateway:
a deny rule naming it holds for `zhongtai keys` (manage_keys) and for applying policies (manage_grants)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli.app import app

pytestmark = pytest.mark.integration

POLICY = """\
policies:
  - name: governance
    rules:
      - name: mallory_may_not_govern
        principals: ["key:mallory"]
        actions: [manage_keys, manage_grants]
        effect: deny
"""


@pytest.fixture
def runner(zt_env):
    context.reset()
    yield CliRunner()
    context.reset()


def test_a_deny_rule_naming_the_cli_user_holds_for_keys_and_policy_changes(runner, tmp_path, monkeypatch):
    project = tmp_path / "p"
    project.mkdir()
    (project / "policies.yaml").write_text(POLICY)
    monkeypatch.setenv("ZT_PRINCIPAL", "alice")
    assert runner.invoke(app, ["apply", str(project)]).exit_code == 0

    monkeypatch.setenv("ZT_PRINCIPAL", "mallory")
    refused = runner.invoke(app, ["keys", "create", "--name", "backdoor", "--role", "admin"])
    assert refused.exit_code != 0
    assert "CLI user 'mallory' may not manage_keys: denied by rule" in refused.output
    (project / "policies.yaml").write_text(POLICY.replace("[manage_keys, manage_grants]", "[manage_keys]"))
    refused = runner.invoke(app, ["apply", str(project)])
    assert refused.exit_code != 0
    assert "may not manage_grants: denied by rule governance.mallory_may_not_govern" in (refused.output)

    monkeypatch.setenv("ZT_PRINCIPAL", "alice")
    created = runner.invoke(app, ["keys", "create", "--name", "crm", "--role", "app", "--expires", "30d"])
    assert created.exit_code == 0, created.output
    assert runner.invoke(app, ["apply", str(project)]).exit_code == 0
