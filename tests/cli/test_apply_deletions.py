"""`zhongtai apply` never removes by surprise: removals are confirmed, and a removed dataset keeps its history."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli.app import app

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {{name: shop, type: sql, url: "sqlite:///{db}"}}
datasets:
  - {{name: orders, source: shop, table: orders, primary_key: [id]}}
  - {{name: refunds, source: shop, table: refunds, primary_key: [id]}}
"""


@pytest.fixture
def cli(zt_env, tmp_path):
    context.reset()
    db = tmp_path / "shop.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        for table in ("orders", "refunds"):
            conn.execute(sa.text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, amount REAL)"))
            conn.execute(
                sa.text(f"INSERT INTO {table} VALUES (:i, :a)"), [{"i": i, "a": i} for i in range(5)]
            )
    engine.dispose()
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(SPECS.format(db=db))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "main.yaml").write_text("")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    invoke.project, invoke.empty, invoke.db = project, empty, db  # type: ignore[attr-defined]
    yield invoke
    context.reset()


def _datasets(cli) -> list[tuple[str, int | None]]:
    return [(d["name"], d["version"]) for d in json.loads(cli("datasets", "list", "--json").stdout)]


def test_removals_without_a_terminal_are_refused_and_change_nothing(cli):
    assert cli("apply", str(cli.project)).exit_code == 0
    assert cli("ingest", "orders").exit_code == 0

    result = cli("apply", str(cli.empty))
    assert result.exit_code == 1
    assert "Plan: 0 to create, 0 to update, 3 to delete." in result.output
    assert (
        "the plan removes 3 objects (source shop, dataset orders, dataset refunds) and no one confirmed it; "
        "nothing was changed" in result.output
    )
    assert "--allow-delete" in result.output
    assert _datasets(cli) == [("orders", 1), ("refunds", None)]

    as_json = cli("apply", str(cli.empty), "--json")
    assert as_json.exit_code == 1
    assert _datasets(cli) == [("orders", 1), ("refunds", None)]


def test_an_allowed_removal_retires_and_redeclaring_restores_the_history(cli):
    assert cli("apply", str(cli.project)).exit_code == 0
    assert cli("ingest", "orders").exit_code == 0
    engine = sa.create_engine(f"sqlite:///{cli.db}")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO orders VALUES (5, 5)"))
    engine.dispose()
    assert cli("ingest", "orders").exit_code == 0

    planned = json.loads(cli("plan", str(cli.empty), "--json").stdout)
    orders = next(step for step in planned if step["name"] == "orders")
    assert orders["notes"] == [
        "retired, not erased: its 2 versions and their lake files are kept until `zhongtai datasets purge "
        "orders`; declaring it again restores them"
    ]
    assert cli("apply", "--allow-delete", str(cli.empty)).exit_code == 0
    assert _datasets(cli) == []

    again = cli("apply", str(cli.project))
    assert again.exit_code == 0
    assert "restores the retired dataset with its 2 versions (current: 2)" in again.output
    assert _datasets(cli) == [("orders", 2), ("refunds", None)]
    versions = json.loads(cli("datasets", "versions", "orders", "--json").stdout)
    assert [v["version"] for v in versions] == [1, 2]
    assert json.loads(cli("datasets", "preview", "orders", "--json").stdout)[0]["id"] == 0


def test_yes_answers_the_question(cli):
    assert cli("apply", str(cli.project)).exit_code == 0
    assert cli("apply", "--yes", str(cli.empty)).exit_code == 0
    assert _datasets(cli) == []


def _read_until(leader: int, marker: bytes | None) -> bytes:
    """What the terminal shows until `marker` appears, or until the process exits (marker None)."""
    output = b""
    while marker is None or marker not in output:
        ready, _, _ = select.select([leader], [], [], 120)  # a guard against a hung process, not a timing
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        output += chunk
    return output


def _apply_on_a_terminal(folder, answer: str, env: dict[str, str]) -> tuple[int, str]:
    """Run `zhongtai apply` as a person would: stdin and stdout on a pseudo-terminal."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "zhongtai", "apply", str(folder)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, **env, "COLUMNS": "200"},
        close_fds=True,
    )
    os.close(follower)
    output = _read_until(leader, b"[y/N]")
    os.write(leader, answer.encode() + b"\n")
    output += _read_until(leader, None)
    os.close(leader)
    return process.wait(timeout=120), output.decode(errors="replace")


def test_on_a_terminal_removals_ask_and_default_to_no(cli, zt_env):
    assert cli("apply", str(cli.project)).exit_code == 0
    context.reset()

    code, output = _apply_on_a_terminal(cli.empty, "", zt_env)
    assert "Remove the 3 objects marked - above? [y/N]" in output
    assert code == 1 and "Nothing was changed." in output
    assert _datasets(cli) == [("orders", None), ("refunds", None)]
    context.reset()

    code, output = _apply_on_a_terminal(cli.empty, "y", zt_env)
    assert code == 0 and "applied" in output
    assert _datasets(cli) == []
