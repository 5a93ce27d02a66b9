"""The edge runtime stands alone: it imports only itself, the standard library, numpy and LightGBM, and a
bundle decides in a fresh virtual environment holding numpy and LightGBM alone (no Zhongtai installed)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.capabilities.world import KNOWN_IDS, build_world
from tests.edge.world_bundle import export
from zhongtai import edge
from zhongtai.edge import load_bundle

EDGE_DIR = Path(edge.__file__).parent
REPO = EDGE_DIR.parents[2]
ALLOWED = {"numpy", "lightgbm"}
# What the platform needs and the edge must not: the runtime runs with every one of these missing.
FORBIDDEN = ("zhongtai", "pydantic", "sqlalchemy", "duckdb", "pyarrow", "fastapi", "pandas", "sqlglot")


def _pinned(name: str) -> str:
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line.startswith(f"{name}=="):
            return line.strip()
    raise AssertionError(f"{name} is not pinned in requirements.lock")


@pytest.mark.unit
def test_edge_modules_import_only_each_other_the_standard_library_numpy_and_lightgbm():
    modules = sorted(EDGE_DIR.glob("*.py"))
    assert {m.name for m in modules} >= {"__init__.py", "__main__.py", "bundle.py", "scoring.py"}
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                continue  # relative: another module of the edge package
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ALLOWED, f"{module.name} imports {name}"


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    """The churn world's bundle with a snapshot of every known customer and one unknown."""
    tmp = tmp_path_factory.mktemp("edge_standalone")
    world = build_world(tmp, f"sqlite:///{tmp / 'metadata.db'}", f"sqlite:///{tmp / 'online.db'}")
    try:
        return export(
            world.store, world.storage, world.online, "churn-risk", tmp / "b", [*KNOWN_IDS, "x"]
        ).path
    finally:
        world.online.close()
        world.store.close()


def _runtime_copy(where: Path) -> Path:
    """src/zhongtai/edge alone, copied as the package `zhongtai_edge` into `where`."""
    shutil.copytree(EDGE_DIR, where / "zhongtai_edge", ignore=shutil.ignore_patterns("__pycache__"))
    return where


DECIDE_ALL = """
import json, sys
from zhongtai_edge import load_bundle
bundle = load_bundle(sys.argv[1])
for key in json.loads(sys.argv[2]):
    answer = bundle.decide({"customer_id": key})
    del answer["decision_id"]
    print(json.dumps(answer))
"""


def _expected(bundle_dir: Path) -> list[dict]:
    bundle = load_bundle(bundle_dir)
    answers = [bundle.decide({"customer_id": key}) for key in [*KNOWN_IDS, "x"]]
    return [{k: v for k, v in a.items() if k != "decision_id"} for a in answers]


@pytest.mark.integration
def test_a_copy_of_the_runtime_decides_with_the_platform_libraries_blocked(bundle_dir, tmp_path):
    """In this environment, with an import hook refusing every platform library (as if not installed)."""
    blocker = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {FORBIDDEN!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}")
sys.meta_path.insert(0, Block())
"""
    code = blocker + DECIDE_ALL + f"\nassert not set(sys.modules) & set({FORBIDDEN!r})\n"
    done = subprocess.run(
        [sys.executable, "-c", code, str(bundle_dir), json.dumps([*KNOWN_IDS, "x"])],
        cwd=_runtime_copy(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == _expected(bundle_dir)


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory) -> Path:
    """A fresh virtual environment with numpy and LightGBM (and what LightGBM requires) at the versions
    requirements.lock pins, from the package index; made once per test session."""
    venv = tmp_path_factory.mktemp("edge_venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # LightGBM's own requirements (scipy, narwhals) come along, pinned by the lock file as well.
    lock = str(REPO / "requirements.lock")
    done = subprocess.run(
        [*install, "-c", lock, "numpy", "lightgbm"], capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return python


@pytest.mark.integration
def test_a_bundle_decides_in_a_fresh_environment_of_numpy_and_lightgbm_alone(
    bare_python, bundle_dir, tmp_path
):
    listed = subprocess.run(
        [str(bare_python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    )
    installed = {p["name"].lower(): p["version"] for p in json.loads(listed.stdout)}
    assert f"numpy=={installed['numpy']}" == _pinned("numpy")
    assert f"lightgbm=={installed['lightgbm']}" == _pinned("lightgbm")
    assert not set(installed) & set(FORBIDDEN), installed
    runtime = _runtime_copy(tmp_path)
    done = subprocess.run(
        [str(bare_python), "-c", DECIDE_ALL, str(bundle_dir), json.dumps([*KNOWN_IDS, "x"])],
        cwd=runtime,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == _expected(bundle_dir)
    # The bundle's own copy of the runtime, as an operator runs it: from inside the bundle folder.
    one = subprocess.run(
        [str(bare_python), "-m", "zhongtai_edge", "decide", ".", json.dumps({"customer_id": KNOWN_IDS[0]})],
        cwd=bundle_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert one.returncode == 0, one.stderr
    answer = json.loads(one.stdout)
    del answer["decision_id"]
    assert answer == _expected(bundle_dir)[0]
