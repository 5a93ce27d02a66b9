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


def test_keys_rotate_prints_a_new_key_and_the_old_one_works_through_the_grace(runner):
    import json

    from zhongtai.capabilities.keys import ApiKeys

    created = runner.invoke(app, ["keys", "create", "--name", "crm", "--role", "app", "--workspace", "crm"])
    old = created.stdout.strip().splitlines()[-1]
    rotated = runner.invoke(app, ["keys", "rotate", "crm", "--grace", "1h"])
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip().splitlines()[-1]
    keys = ApiKeys(context.store().access)
    assert keys.check(old).name == keys.check(new).name == "crm"
    [listed] = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert listed["workspace"] == "crm" and listed["previous_until"] is not None
    assert old not in runner.invoke(app, ["keys", "list"]).stdout
    bad = runner.invoke(app, ["keys", "rotate", "crm", "--grace", "a day"])
    assert bad.exit_code != 0 and "--grace: expected a duration like 90m, 24h or 30d" in bad.output
