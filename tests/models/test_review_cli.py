"""The review workflow as the reviewers type it: submit, four eyes, approve, alias, rollback, history."""

from __future__ import annotations

import json

import pytest

from .test_cli import cli  # noqa: F401  (the fixture: the models commands on embedded stores)

pytestmark = pytest.mark.integration


def _newest(cli) -> int:  # noqa: F811
    listed = json.loads(cli("models", "list", "--json").stdout)
    return max(v["version"] for v in listed if v["model"] == "churn")


def test_the_reviewers_script(cli):  # noqa: F811
    cli("train", "churn", "--json")
    cli("models", "submit", "churn", "1", "--comment", "first")
    cli("models", "approve", "churn", "1", principal="bob")
    assert cli("models", "alias", "churn", "1", "champion", principal="bob").exit_code == 0

    assert cli("train", "churn", "--json", principal="alice").exit_code == 0
    new = _newest(cli)
    assert new == 2
    refused = cli("models", "alias", "churn", str(new), "champion")
    assert refused.exit_code == 1
    assert (
        "churn v2 is registered, not approved: submit it (`zhongtai models submit churn 2`)" in refused.output
    )
    assert "pending review" in cli("models", "submit", f"churn:{new}").stdout
    own = cli("models", "approve", "churn", str(new))
    assert (
        own.exit_code == 1 and "alice submitted churn v2 and may not approve it too (four eyes)" in own.output
    )
    approved = cli("models", "approve", "churn", str(new), "-m", "AUC holds", principal="bob")
    assert approved.exit_code == 0 and "churn v2 is approved" in approved.stdout
    moved = cli("models", "alias", "churn", str(new), "champion", "--reason", "better", principal="bob")
    assert "churn@champion → v2 (was v1; set by bob)" in moved.stdout
    back = cli("models", "rollback", "churn", principal="bob")
    assert back.exit_code == 0 and "churn@champion → v1 (was v2; rollback by bob)" in back.stdout

    history = json.loads(cli("models", "history", "churn", "--json", principal=None).stdout)
    assert [(m["from_version"], m["to_version"], m["action"], m["principal"]) for m in history] == [
        (None, 1, "set", "bob"),
        (1, 2, "set", "bob"),
        (2, 1, "rollback", "bob"),
    ]
    assert history[1]["reason"] == "better"
    table = cli("models", "history", "churn", principal=None).stdout
    assert "rollback" in table and "better" in table
    shown = json.loads(cli("models", "show", "churn", "--version", "2", "--json").stdout)
    assert [(r["action"], r["principal"], r["comment"]) for r in shown["reviews"]] == [
        ("submit", "alice", ""),
        ("approve", "bob", "AUC holds"),
    ]
    at = json.loads(cli("models", "history", "churn", "--at", history[1]["at"], "--json").stdout)
    assert at["aliases"] == {"champion": 2}


def test_commands_that_act_need_a_principal(cli):  # noqa: F811
    cli("train", "churn", "--json")
    for args in (("models", "submit", "churn", "1"), ("models", "alias", "churn", "1", "challenger")):
        result = cli(*args, principal=None)
        assert result.exit_code == 1
        assert "ZT_PRINCIPAL is not set: review steps and alias moves record who acted" in result.output
    assert json.loads(cli("models", "list", "--json", principal=None).stdout)[0]["status"] == "registered"


def test_remove_archive_and_bad_input(cli):  # noqa: F811
    cli("train", "churn", "--json")
    assert "churn@canary → v1 (was unset; set by alice)" in cli("models", "alias", "churn:1", "canary").stdout
    refused = cli("models", "archive", "churn", "1")
    assert (
        refused.exit_code == 1 and "churn v1 cannot be archived: churn@canary points at it" in refused.output
    )
    removed = cli("models", "alias", "churn", "--remove", "canary", "--reason", "done")
    assert "churn@canary → unset (was v1; remove by alice)" in removed.stdout
    assert "churn v1 is archived" in cli("models", "archive", "churn@1").stdout
    for args, message in (
        (("models", "approve", "churn", "1"), "churn v1 is archived: only a version that is pending_review"),
        (("models", "alias", "churn", "1", "challenger"), "churn v1 is archived, and an archived version"),
        (("models", "rollback", "churn"), "churn@champion has no history: there is nothing to roll back to"),
        (("models", "submit", "churn"), "'churn' does not name a model version"),
        (("models", "history", "churn", "--at", "yesterday"), "--at 'yesterday' is not a moment"),
        (("models", "alias", "churn", "1", "a" * 64), f"alias '{'a' * 64}' is not valid"),
    ):
        result = cli(*args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
