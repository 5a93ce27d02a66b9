from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from zhongtai.capabilities.keys import ApiKeys
from zhongtai.cli import context
from zhongtai.cli.keys import app

pytestmark = pytest.mark.integration


@pytest.fixture
def runner(zt_env):
    context.reset()
    yield CliRunner()
    context.reset()


def test_create_prints_the_key_alone_on_its_last_line_then_list_and_revoke(runner):
    created = runner.invoke(app, ["create", "--name", "crm", "--role", "caller", "--role", "admin"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("zt_") and " " not in key
    assert ApiKeys(context.store().access).check(key).roles == ("caller", "admin")

    listed = runner.invoke(app, ["list", "--json"])
    [entry] = json.loads(listed.stdout)
    assert (entry["name"], entry["roles"], entry["revoked_at"]) == ("crm", ["caller", "admin"], None)
    assert key not in listed.stdout

    assert runner.invoke(app, ["revoke", "crm"]).exit_code == 0
    [entry] = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert entry["revoked_at"] is not None


def test_revoking_an_unknown_key_fails_with_its_name(runner):
    result = runner.invoke(app, ["revoke", "ghost"])
    assert result.exit_code != 0
    assert "API key 'ghost' does not exist" in str(result.exception)
