"""`zhongtai stream publish` and the checks `zhongtai stream run` makes before it starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli.app import app
from zhongtai.connect.streams import open_bus

pytestmark = pytest.mark.unit

SPECS = """\
sources:
  - {name: tracking, type: files, url: "FOLDER"}
datasets:
  - name: clicks
    source: tracking
    path: "clicks.jsonl"
    format: jsonl
    stream: {name: clicks}
  - name: tickets
    source: tracking
    path: "tickets.jsonl"
    format: jsonl
"""


@pytest.fixture
def project(zt_env, tmp_path, monkeypatch):
    context.reset()
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "specs.yaml").write_text(SPECS.replace("FOLDER", str(tmp_path)))
    runner = CliRunner()
    assert runner.invoke(app, ["apply", str(folder)]).exit_code == 0
    yield runner
    context.reset()


def test_publish_sends_every_line_of_a_file_to_the_datasets_stream(project, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"event_id": "E1", "ts": "2026-12-01T00:00:00Z"}\n\n{"event_id": "E2", "ts": "2026-12-01T00:00:01Z"}\n'
    )
    result = project.invoke(app, ["stream", "publish", "clicks", str(events), "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "published 2 events to stream 'clicks'" in result.output
    bus = open_bus(context.settings().bus_url)
    try:
        assert [d.event["event_id"] for d in bus.consume("clicks", "g", "c", 10, 0.1)] == ["E1", "E2"]
    finally:
        bus.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stream", "publish", "tickets", "FILE"], "dataset 'tickets' is not fed by a stream"),
        (["stream", "run", "--dataset", "tickets"], "dataset 'tickets' is not fed by a stream"),
        (["stream", "run", "--dataset", "nothing"], "dataset 'nothing' is not registered"),
    ],
)
def test_stream_commands_name_what_is_wrong(project, tmp_path, args, message):
    events = tmp_path / "bad.jsonl"
    events.write_text("[1, 2]\n")
    result = project.invoke(app, [a.replace("FILE", str(events)) for a in args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_a_line_that_is_not_an_object_is_named_with_its_line(project, tmp_path):
    events = tmp_path / "bad.jsonl"
    events.write_text('{"event_id": "E1"}\n[1, 2]\n')
    result = project.invoke(app, ["stream", "publish", "clicks", str(events)])
    assert result.exit_code == 1
    assert "bad.jsonl:2: expected a JSON object" in " ".join(result.output.split())
