"""A small project applied through the CLI over one CSV file, for the CLI tests of datasets and PII."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from typer.testing import CliRunner, Result

from zhongtai.cli import context
from zhongtai.cli.app import app

Invoke = Callable[..., Result]


def applied_project(tmp_path: Path, specs: str, csv_text: str) -> Iterator[Invoke]:
    """Write `data/contacts.csv` and a project whose SPECS take `{folder}`, apply it, then yield a CLI caller."""
    context.reset()
    data = tmp_path / "data"
    data.mkdir()
    (data / "contacts.csv").write_text(csv_text)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "specs.yaml").write_text(specs.format(folder=data))
    runner = CliRunner()
    assert runner.invoke(app, ["apply", str(tmp_path / "p")]).exit_code == 0
    yield lambda *args: runner.invoke(app, list(args))
    context.reset()
