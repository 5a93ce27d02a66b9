"""bench/prerequisites.py: the checks every bench runs before its long part, on real processes and sockets."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "prerequisites.py"
    spec = importlib.util.spec_from_file_location("prerequisites", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre = _load()

# A stand-in for apt-get on PATH: `install PKG` fails until `update` has run, then puts an executable named
# after the package beside itself, as a real install puts the tool on PATH.
FAKE_APT = """#!/bin/sh
here=$(dirname "$0")
echo "$@" >> "$here/apt.log"
if [ "$1" = update ]; then touch "$here/lists"; exit 0; fi
[ -f "$here/lists" ] || { echo "E: Unable to locate package $4" >&2; exit 100; }
printf '#!/bin/sh\\n' > "$here/$4"; chmod +x "$here/$4"
"""


@pytest.fixture
def fake_apt(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt = bin_dir / "apt-get"
    apt.write_text(FAKE_APT)
    apt.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return bin_dir


def test_an_installed_command_is_found():
    assert pre.command("sh") == shutil.which("sh")


def test_a_missing_command_stops_with_the_install_command_when_not_root(monkeypatch, fake_apt):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SystemExit, match=r"zt-tool is not installed: run `sudo apt-get install -y zt-pkg`"):
        pre.command("zt-tool", package="zt-pkg")
    assert not (fake_apt / "apt.log").exists()


def test_root_installs_a_missing_command_with_apt_get_updating_the_lists_once(monkeypatch, fake_apt):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    found = pre.command("zt-tool")
    assert found == str(fake_apt / "zt-tool")
    calls = (fake_apt / "apt.log").read_text().splitlines()
    assert calls == ["install -y -q zt-tool", "update -q", "install -y -q zt-tool"]


def test_root_stops_with_the_command_when_the_install_does_not_give_the_tool(monkeypatch, fake_apt):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(
        SystemExit, match=r"could not install zt-pkg .*`apt-get update && apt-get install -y zt-pkg`"
    ):
        pre.command("zt-other-name", package="zt-pkg")


def test_a_listening_service_passes_and_a_closed_port_names_address_and_remedy():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        pre.service("Redis", f"redis://127.0.0.1:{port}/0?prefix=x", start="start it")
    with pytest.raises(
        SystemExit, match=rf"Redis does not answer on 127.0.0.1:{port} \(.*\): start it with X"
    ):
        pre.service("Redis", f"redis://127.0.0.1:{port}/0", start="start it with X")


def test_a_database_url_password_never_appears_in_the_message():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(SystemExit, match=r"The database of --crm-url does not answer on 127.0.0.1") as caught:
        pre.sql_servers(
            {"--crm-url": f"postgresql+psycopg://reader:s3cret@127.0.0.1:{port}/crm", "--erp-url": None}
        )
    assert "s3cret" not in str(caught.value)
    pre.sql_servers({"--crm-url": "sqlite:///x.db", "--erp-url": None})


def test_a_peer_environment_is_made_by_its_setup_script(tmp_path):
    setup = tmp_path / "setup.sh"
    setup.write_text(f'echo "peer environment: {tmp_path}"\necho "python: {sys.executable}"\n')
    assert pre.peer_environment(setup) == Path(sys.executable)


def test_a_failing_setup_script_stops_the_bench_with_its_last_lines(tmp_path):
    setup = tmp_path / "setup.sh"
    setup.write_text("echo 'Python 3.11 is required' >&2\nexit 3\n")
    with pytest.raises(SystemExit, match=r"setup.sh failed \(exit status 3\): Python 3.11 is required"):
        pre.peer_environment(setup)


def test_a_setup_script_that_names_no_python_stops_the_bench(tmp_path):
    setup = tmp_path / "setup.sh"
    setup.write_text("echo done\n")
    with pytest.raises(SystemExit, match=r"setup.sh made no python \(it printed: 'done'\)"):
        pre.peer_environment(setup)


def test_check_only_stops_with_success_after_the_checks(capsys):
    with pytest.raises(SystemExit) as stopped:
        pre.check_only(True, "stream")
    assert stopped.value.code == 0
    pre.check_only(False, "stream")
    assert capsys.readouterr().err.splitlines() == [
        "bench: stream: ready (everything it needs is here)",
        "bench: stream: prerequisites ok",
    ]
