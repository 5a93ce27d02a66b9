"""bench/models.py: the harness that runs the model-quality sections, prints one table and one JSON line, and
refuses to skip a section whose module is missing."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[2] / "bench"

FAKE_SECTION = """
def run(quick, customers=None):
    size = customers or (10 if quick else 1000)
    return {
        "rows": [{"task": "fake", "metric": "auc", "model": 0.75, "baseline": 0.5, "size": size}],
        "figures": {"fake_auc": 0.75, "fake_size": size},
    }
"""
PLAIN_SECTION = """
def run(quick):
    return {"rows": [{"task": "plain", "metric": "acc", "model": 0.9, "baseline": 0.3}], "figures": {"plain_acc": 0.9}}
"""


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load bench/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ModuleType]:
    """bench/models.py with a folder of fake sections (models_fake, models_plain, models_broken) importable."""
    (tmp_path / "models_fake.py").write_text(FAKE_SECTION)
    (tmp_path / "models_plain.py").write_text(PLAIN_SECTION)
    (tmp_path / "models_broken.py").write_text("def run(quick):\n    return {'rows': [{'task': 'x'}]}\n")
    sys.path[:0] = [str(tmp_path), str(BENCH)]
    try:
        yield _load("models")
    finally:
        sys.path.remove(str(tmp_path))
        sys.path.remove(str(BENCH))
        for name in ("models_fake", "models_plain", "models_broken", "prerequisites"):
            sys.modules.pop(name, None)


def test_table_then_one_json_line_of_every_figure(harness: ModuleType, capsys: pytest.CaptureFixture) -> None:
    harness.main(["--quick", "--customers", "42"], sections=("fake", "plain"))
    lines = capsys.readouterr().out.strip().splitlines()
    header, rule, fake, plain = lines[:4]
    assert header.split() == ["task", "metric", "model", "baseline", "size"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert fake.split() == ["fake", "auc", "0.7500", "0.5000", "42"]
    assert plain.split() == ["plain", "acc", "0.9000", "0.3000", "-"]
    assert len(lines) == 5
    last = json.loads(lines[-1])
    assert {k: v for k, v in last.items() if k != "seconds"} == {
        "fake_auc": 0.75,
        "fake_size": 42,
        "plain_acc": 0.9,
    }
    assert set(last["seconds"]) == {"fake", "plain"}


def test_quick_without_customers_lets_the_section_choose(
    harness: ModuleType, capsys: pytest.CaptureFixture
) -> None:
    harness.main(["--quick", "--only", "fake"], sections=("fake", "plain"))
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["fake_size"] == 10


def test_a_missing_section_is_an_error_naming_it(harness: ModuleType, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit, match=r"section module missing: bench/models_absent\.py; .*--only fake"):
        harness.main(["--quick"], sections=("fake", "absent"))
    assert capsys.readouterr().out == ""  # nothing ran: the check comes before the first section


def test_only_leaves_a_missing_section_out(harness: ModuleType, capsys: pytest.CaptureFixture) -> None:
    harness.main(["--only", "plain"], sections=("plain", "absent"))
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["plain_acc"] == 0.9


def test_only_names_an_unknown_section(harness: ModuleType) -> None:
    with pytest.raises(SystemExit, match="--only: unknown section nope; choose from fake, plain"):
        harness.main(["--only", "nope"], sections=("fake", "plain"))


def test_a_section_breaking_the_contract_is_named(harness: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"bench/models_broken\.py: run\(\) must return"):
        harness.main([], sections=("broken",))


def test_check_imports_the_sections_and_stops(harness: ModuleType, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stopped:
        harness.main(["--check"], sections=("fake",))
    assert stopped.value.code == 0
    assert capsys.readouterr().out == ""
