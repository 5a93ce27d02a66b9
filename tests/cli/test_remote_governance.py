"""The CLI as a principal of a real gateway: with ZT_URL and ZT_KEY the governed commands go through the API,
authorized and audited for the key, and never open the metadata store (ZT_METADATA_URL points nowhere)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from tests.gateway.conftest import RunningGateway, served_world
from zhongtai.cli import context
from zhongtai.cli.app import app
from zhongtai.govern.audit import LOCAL_ADMIN
from zhongtai.meta.records import Change

pytestmark = pytest.mark.integration

ROLES = {"reviewer": ["models"], "second": ["models"], "nogrant": ["caller"], "auditor": ["auditor"]}
AUDITORS = {
    "name": "auditors",
    "rules": [{"name": "read_the_log", "principals": ["role:auditor"], "actions": ["read_audit"]}],
}
SECOND_OPINION = """\
policies:
  - name: second_opinion
    rules:
      - {name: no_second_approvals, principals: ["key:second"], actions: [approve], effect: deny}
"""
LOCKOUT = """\
policies:
  - name: lockout
    rules:
      - name: nobody_governs
        principals: ["role:admin"]
        actions: [manage_grants]
        effect: deny
"""


class Remote:
    """The CLI pointed at the gateway, one key per principal, the metadata store out of reach."""

    def __init__(self, gateway: RunningGateway, keys: dict[str, str], home: Path) -> None:
        self.gateway = gateway
        self.keys = keys
        self.home = home
        self.runner = CliRunner()

    def __call__(self, who: str, *args: str) -> Result:
        env = {
            "ZT_URL": self.gateway.url,
            "ZT_KEY": self.keys[who],
            "ZT_HOME": str(self.home),
            # Opening this would fail: the remote commands must not try.
            "ZT_METADATA_URL": "sqlite:////proc/zhongtai-no-such-dir/metadata.db",
            "ZT_PRINCIPAL": "",
            "ZT_TOKEN": "",
        }
        context.reset()
        try:
            result = self.runner.invoke(app, list(args), env=env)
            assert context.store.cache_info().currsize == 0, "a remote command opened the metadata store"
        finally:
            context.reset()
        return result

    def ok(self, who: str, *args: str) -> Result:
        result = self(who, *args)
        assert result.exit_code == 0, f"{args}: {result.output}"
        return result

    def audit(self, **filters: Any) -> list[dict[str, Any]]:
        options = [part for key, value in filters.items() for part in (f"--{key}", str(value))]
        return json.loads(self.ok("ops", "audit", "log", "--json", *options).stdout)


@pytest.fixture(scope="module")
def remote(tmp_path_factory) -> Iterator[Remote]:
    tmp_path = tmp_path_factory.mktemp("remote_cli")
    keys: dict[str, str] = {}

    def prepare(world: Any) -> None:
        world.store.apply([Change("policies", "create", "auditors", AUDITORS)], "test")
        for name, roles in ROLES.items():
            keys[name] = world.store.access.create_key(name, roles)
        v1 = world.store.models.get("churn", 1)
        world.store.models.register(
            "churn", v1.artifact, v1.artifact_format, v1.features, {}, {}, None, "test"
        )

    online = f"sqlite:///{tmp_path / 'online.db'}"
    with served_world(
        tmp_path, online, key=("ops", ["admin"]), prepare=prepare, serving_poll_seconds=0.2
    ) as gateway:
        keys["ops"] = gateway.key
        yield Remote(gateway, keys, tmp_path / "cli_home")


def _decide_status(remote: Remote, secret: str) -> int:
    answer = httpx.post(
        f"{remote.gateway.url}/v1/capabilities/churn-risk/decide",
        headers={"X-API-Key": secret},
        json={"customer_id": 1000},
        timeout=30,
    )
    return answer.status_code


def test_a_key_is_created_listed_rotated_and_revoked_through_the_gateway(remote):
    created = remote.ok("ops", "keys", "create", "--name", "crm-app", "--workspace", "sales")
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("zt_") and "created; store it now" in created.stderr
    assert _decide_status(remote, secret) == 200

    listed = json.loads(remote.ok("ops", "keys", "list", "--json").stdout)
    mine = next(k for k in listed if k["name"] == "crm-app")
    assert mine["roles"] == ["caller"] and mine["workspace"] == "sales" and mine["revoked_at"] is None
    assert secret not in json.dumps(listed) and secret.startswith(mine["prefix"])
    assert "crm-app" in remote.ok("ops", "keys", "list").stdout

    rotated = remote.ok("ops", "keys", "rotate", "crm-app", "--grace", "1h")
    new_secret = rotated.stdout.strip().splitlines()[-1]
    assert new_secret != secret and "works for 1h more" in rotated.stderr
    assert _decide_status(remote, new_secret) == 200
    assert _decide_status(remote, secret) == 200  # within its grace

    assert "API key 'crm-app' revoked" in remote.ok("ops", "keys", "revoke", "crm-app").stdout
    listed = json.loads(remote.ok("ops", "keys", "list", "--json").stdout)
    assert next(k for k in listed if k["name"] == "crm-app")["revoked_at"] is not None

    itself = remote("ops", "keys", "revoke", "ops")
    assert itself.exit_code == 1 and "error: API key 'ops' may not revoke itself" in itself.stderr
    scoped = remote("ops", "keys", "create", "--name", "x", "--scope", "fly")
    assert scoped.exit_code == 1 and "--scope: unknown action 'fly'" in scoped.stderr

    done = remote.audit(object="key crm-app")
    assert [(r["kind"], r["principal"], r["rule"]) for r in done] == [
        ("key_revoke", "ops", "builtin.admin"),
        ("key_rotate", "ops", "builtin.admin"),
        ("key_create", "ops", "builtin.admin"),
    ]


def test_four_eyes_hold_through_the_gateway(remote):
    assert "churn v2 is pending review" in remote.ok("reviewer", "models", "submit", "churn:2").stdout
    own = remote("reviewer", "models", "approve", "churn", "2")
    assert own.exit_code == 1
    assert "error: reviewer submitted churn v2 and may not approve it too (four eyes)" in own.stderr
    approved = remote.ok("ops", "models", "approve", "churn:2", "-m", "looks right")
    assert "churn v2 is approved" in approved.stdout
    # The decision log's batches ("decisions", object churn-risk) are audited whenever its writer gets to
    # them, so an earlier test's decisions may land between these steps.
    steps = [r for r in remote.audit(object="churn") if r["kind"] != "decisions"]
    assert [(r["kind"], r["principal"]) for r in steps[:2]] == [("approve", "ops"), ("submit", "reviewer")]

    moved = remote.ok("reviewer", "models", "alias", "churn:2", "challenger")
    assert "churn@challenger → v2 (was unset; set by reviewer)" in moved.stdout
    removed = json.loads(
        remote.ok("reviewer", "models", "alias", "churn", "--remove", "challenger", "--json").stdout
    )
    assert (removed["version"], removed["move"]["action"], removed["move"]["to_version"]) == (
        2,
        "remove",
        None,
    )
    back = json.loads(
        remote.ok("reviewer", "models", "rollback", "churn", "-a", "challenger", "--json").stdout
    )
    assert (back["move"]["action"], back["move"]["to_version"], back["move"]["principal"]) == (
        "rollback",
        2,
        "reviewer",
    )
    assert back["model_aliases"]["challenger"] == 2


def test_a_split_change_is_audited_naming_the_keys_principal(remote):
    done = remote.ok("reviewer", "capabilities", "split", "churn-risk", "champion=100", "--reason", "all in")
    assert "churn-risk: champion 100% (set by reviewer" in done.stdout
    [change] = remote.audit(kind="traffic_change", limit=1)
    assert change["principal"] == "reviewer" and change["object"] == "capability churn-risk"
    assert change["rule"] not in ("", LOCAL_ADMIN)  # the policy rule that allowed the key, not the CLI's
    assert (
        "live split dropped" in remote.ok("reviewer", "capabilities", "split", "churn-risk", "--reset").stdout
    )
    again = remote.ok("reviewer", "capabilities", "split", "churn-risk", "--reset")
    assert "no live split to drop" in again.stdout
    started = remote.ok(
        "reviewer", "capabilities", "canary", "churn-risk", "--arm", "challenger", "--steps", "10,100"
    )
    assert "churn-risk: canary challenger starts at 10%, steps 10,100 every 10m" in started.stdout
    [change] = remote.audit(kind="traffic_change", limit=1)
    assert change["principal"] == "reviewer" and change["body"]["to"]["canary"]["arm"] == "challenger"
    assert change["rule"] not in ("", LOCAL_ADMIN)
    early = remote("reviewer", "capabilities", "promote", "churn-risk")
    assert early.exit_code == 1 and "churn-risk has no canary waiting for promotion" in early.stderr
    remote.ok("reviewer", "capabilities", "split", "churn-risk", "--reset")
    waiting = remote("reviewer", "capabilities", "promote", "churn-risk")
    assert waiting.exit_code == 1 and "churn-risk has no canary waiting for promotion" in waiting.stderr


def test_the_audit_log_verifies_and_exports_through_the_gateway(remote, tmp_path):
    verified = remote.ok("auditor", "audit", "verify")
    assert "audit log verified:" in verified.stdout
    report = json.loads(remote.ok("auditor", "audit", "verify", "--json").stdout)
    assert report["ok"] is True and report["records"] >= 1 and report["findings"] == []

    out = tmp_path / "audit.jsonl"
    exported = remote.ok("auditor", "audit", "export", "--out", str(out))
    lines = out.read_text().splitlines()
    assert f"{len(lines):,} audit records written" in exported.stderr
    assert len(lines) == report["records"]
    assert json.loads(lines[0])["event"]["sequence"] == 1
    tail = remote.ok("auditor", "audit", "export", "--out", "-", "--after", str(report["records"] - 1))
    assert len(tail.stdout.splitlines()) == 1


def test_a_key_without_the_grant_gets_the_denying_rule_as_a_red_line(remote, tmp_path):
    refused = remote("nogrant", "keys", "list")
    assert refused.exit_code == 1
    assert refused.stderr.startswith(
        "error: API key 'nogrant' may not manage_keys on any object: no rule grants it"
    )
    assert remote("nogrant", "audit", "verify").exit_code == 1

    document = tmp_path / "second_opinion.yaml"
    document.write_text(SECOND_OPINION)
    planned = remote.ok("ops", "policies", "plan", str(document))
    assert "+ policy second_opinion" in planned.stdout
    applied = remote.ok("ops", "policies", "apply", str(document))
    assert "applied" in applied.stdout
    [record] = remote.audit(kind="apply", limit=1)
    assert (record["principal"], record["object"], record["rule"]) == (
        "ops",
        "policies/second_opinion",
        "builtin.admin",
    )
    denied = _eventually_denied(remote, ("second", "models", "approve", "churn:2"))
    assert "denied by rule second_opinion.no_second_approvals" in denied.stderr


def _eventually_denied(remote: Remote, command: tuple[str, ...]) -> Result:
    """The gateway follows an applied policy within its poll interval (0.2 s here)."""
    import time

    deadline = time.monotonic() + 20
    while True:
        result = remote(*command)
        if "denied by rule" in result.stderr or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_a_policy_locking_every_admin_out_is_refused_with_nothing_changed(remote, tmp_path):
    document = tmp_path / "lockout.yaml"
    document.write_text(LOCKOUT)
    refused = remote("ops", "policies", "apply", str(document))
    assert refused.exit_code == 1
    assert f"{document}:4 policies.lockout.rules.nobody_governs: denies manage_grants" in refused.stderr
    assert remote("ops", "policies", "plan", str(document)).exit_code == 1
    assert all("lockout" not in r["object"] for r in remote.audit(kind="apply"))

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "policies:\n  - name: x\n    rules:\n      - {name: r, principals: [nobody], actions: [call]}\n"
    )
    invalid = remote("ops", "policies", "apply", str(bad))
    assert invalid.exit_code == 1 and f"{bad}:4 policies.x.rules.r.principals.0:" in invalid.stderr


def test_zt_url_without_a_key_says_what_is_missing(remote):
    result = CliRunner().invoke(
        app, ["keys", "list"], env={"ZT_URL": remote.gateway.url, "ZT_KEY": "", "ZT_TOKEN": ""}
    )
    context.reset()
    assert result.exit_code == 1
    assert "error: ZT_URL is set but neither ZT_KEY nor ZT_TOKEN is" in result.stderr


def test_the_same_command_on_the_store_prints_what_the_gateway_answers(remote):
    world = remote.gateway.world
    local = {"ZT_HOME": str(world.settings.home), "ZT_METADATA_URL": world.settings.metadata_url}
    context.reset()
    try:
        result = CliRunner().invoke(app, ["keys", "list", "--json"], env={**local, "ZT_URL": ""})
    finally:
        context.reset()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(remote.ok("ops", "keys", "list", "--json").stdout)


def test_grants_apply_on_the_store_as_the_local_admin(zt_env, tmp_path, monkeypatch):
    monkeypatch.setenv("ZT_PRINCIPAL", "alice")
    monkeypatch.delenv("ZT_URL", raising=False)
    document = tmp_path / "grants.yaml"
    document.write_text(SECOND_OPINION)
    runner = CliRunner()
    context.reset()
    try:
        planned = runner.invoke(app, ["policies", "plan", str(document), "--json"])
        assert planned.exit_code == 0, planned.output
        assert [(s["action"], s["name"]) for s in json.loads(planned.stdout)] == [
            ("create", "second_opinion")
        ]
        assert runner.invoke(app, ["policies", "apply", str(document)]).exit_code == 0
        again = runner.invoke(app, ["policies", "apply", str(document)])
        assert "No changes: the policies in force match the document." in again.stdout
        [record] = context.store().audit.records(kind="apply")
        assert (record.principal, record.object, record.rule) == (
            "alice",
            "policies/second_opinion",
            "builtin.admin",
        )
        lockout = tmp_path / "lockout.yaml"
        lockout.write_text(LOCKOUT)
        refused = runner.invoke(app, ["policies", "apply", str(lockout)])
        assert refused.exit_code == 1 and "denies manage_grants to the admin role" in refused.stderr
        assert len(context.store().audit.records(kind="apply")) == 1
    finally:
        context.reset()


def test_an_edited_record_fails_verification_through_the_gateway(remote):
    import sqlalchemy as sa

    engine = remote.gateway.world.store.engine
    edit = "UPDATE audit_log SET principal = principal || 'x' WHERE seq = 2"
    undo = "UPDATE audit_log SET principal = substr(principal, 1, length(principal) - 1) WHERE seq = 2"
    with engine.begin() as conn:
        conn.execute(sa.text(edit))
    try:
        failed = remote("auditor", "audit", "verify")
        assert failed.exit_code == 1
        assert "audit log FAILED verification" in failed.stderr and "record 2" in failed.stderr
        assert "✗ record 2" in failed.stdout
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(undo))
    assert remote("auditor", "audit", "verify").exit_code == 0
