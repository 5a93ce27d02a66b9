"""`zhongtai scheduler` end to end on a tiny project: an ingest job run, listed, triggered, failing, stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli.app import app
from zhongtai.meta.store import MetadataStore

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {{name: files, type: files, url: "{folder}"}}
datasets:
  - name: contacts
    source: files
    path: contacts.csv
    primary_key: [id]
schedules:
  - name: pull_contacts
    job: ingest
    target: contacts
    every: 1h
"""
SECRET = "13800138000"


@pytest.fixture
def project(zt_env, tmp_path) -> Path:
    context.reset()
    data = tmp_path / "data"
    data.mkdir()
    (data / "contacts.csv").write_text(f"id,mobile\n1,{SECRET}\n2,13900139000\n")
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "specs.yaml").write_text(SPECS.format(folder=data))
    assert CliRunner().invoke(app, ["apply", str(folder)]).exit_code == 0
    yield folder
    context.reset()


def zt(*args: str):
    return CliRunner().invoke(app, list(args))


def test_run_once_then_nothing_due_then_trigger(project):
    first = zt("scheduler", "run", "--once", "--project", str(project), "--json")
    assert first.exit_code == 0, first.output
    assert [(o["job"], o["status"]) for o in json.loads(first.stdout)] == [("pull_contacts", "succeeded")]
    assert context.store().current_version("contacts").version == 1  # the job really ingested
    again = zt("scheduler", "run", "--once", "--project", str(project))
    assert again.exit_code == 0 and "nothing due" in again.stdout
    manual = zt("scheduler", "trigger", "pull_contacts", "--project", str(project))
    assert manual.exit_code == 0 and "pull_contacts: succeeded" in manual.stdout
    listed = json.loads(zt("scheduler", "list", "--project", str(project), "--json").stdout)
    assert [(row["job"], row["last"]["status"], row["last"]["trigger"]) for row in listed] == [
        ("pull_contacts", "succeeded", "manual")
    ]
    runs = json.loads(zt("scheduler", "runs", "--json").stdout)
    assert [r["trigger"] for r in runs] == ["manual", "schedule"]


def test_a_failed_run_is_recorded_without_data(project, tmp_path):
    (tmp_path / "data" / "contacts.csv").write_text(f"id,mobile\n{SECRET},x,extra\n")
    failed = zt("scheduler", "trigger", "pull_contacts", "--project", str(project))
    assert failed.exit_code == 1
    [run] = json.loads(zt("scheduler", "runs", "pull_contacts", "--json").stdout)
    assert run["status"] == "failed" and run["error_kind"]
    assert SECRET not in json.dumps(run)


def test_an_unknown_job_is_named(project):
    result = zt("scheduler", "trigger", "nope", "--project", str(project))
    assert result.exit_code == 1
    assert "no scheduled job 'nope' (known: pull_contacts)" in result.output


def test_sigterm_stops_the_process(project, zt_env):
    env = {**os.environ, **zt_env, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    child = subprocess.Popen(
        [sys.executable, "-m", "zhongtai", "scheduler", "run", "--project", str(project), "--poll", "0.2"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    lines = []
    for line in child.stderr:  # wait until the due job has run, so the stop comes while it idles
        lines.append(line)
        if "pull_contacts: succeeded" in line:
            break
    child.send_signal(signal.SIGTERM)
    rest = child.stderr.read()
    assert child.wait(timeout=60) == 0, "".join(lines) + rest
    assert "SIGTERM, stopping after the running job" in rest and "scheduler: stopped" in rest


def test_serve_runs_the_scheduler_in_the_background(project, zt_env):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **zt_env, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    command = ["serve", "--port", str(port), "--scheduler", "--project", str(project)]
    child = subprocess.Popen(
        [sys.executable, "-m", "zhongtai", *command], env=env, stderr=subprocess.PIPE, text=True
    )
    assert child.stderr is not None
    lines = []
    for line in child.stderr:
        lines.append(line)
        if "pull_contacts: succeeded" in line:
            break
    assert _healthy(f"http://127.0.0.1:{port}/healthz", child), "".join(lines)
    child.send_signal(signal.SIGTERM)
    rest = child.stderr.read()
    assert child.wait(timeout=60) == 0, "".join(lines) + rest
    store = MetadataStore(f"sqlite:///{Path(zt_env['ZT_HOME']) / 'metadata.db'}")
    try:
        assert [r.status for r in store.jobs.runs("pull_contacts")] == ["succeeded"]
    finally:
        store.close()


def _healthy(url: str, child: subprocess.Popen) -> bool:
    """Wait for the gateway to answer while its process lives (the job may finish before it listens)."""
    for _ in range(600):
        if child.poll() is not None:
            return False
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            time.sleep(0.1)
    return False


def test_two_scheduler_processes_run_a_due_job_once(project, zt_env):
    env = {**os.environ, **zt_env, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    command = [sys.executable, "-m", "zhongtai", "scheduler", "run", "--once", "--project", str(project)]
    children = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [child.communicate(timeout=300)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    assert sorted("pull_contacts: succeeded" in out for out in outputs) == [False, True], outputs
    [run] = json.loads(zt("scheduler", "runs", "--json").stdout)
    assert (run["job"], run["status"]) == ("pull_contacts", "succeeded")
