"""bench/decide.py counts the CPU of a server's whole process tree: its workers and their helper processes."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _decide():
    for folder in (BENCH, BENCH / "decide_peers"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("bench_decide", BENCH / "decide.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_decide"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_a_servers_cpu_includes_the_child_processes_it_started():
    decide = _decide()
    # A parent that starts a child (in a session of its own, as BentoML's workers are), each spinning 0.6 s.
    # Both stay alive a while after spinning: the CPU of a process that is gone is no longer in /proc.
    spin = (
        "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\ntime.sleep(3)"
    )
    parent = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, '-c', {spin!r}], start_new_session=True)\n"
        f"exec({spin!r})\n"
        "child.wait()\n"
    )
    started = subprocess.Popen([sys.executable, "-c", parent], start_new_session=True)
    try:
        before = decide.tree_cpu_seconds(started.pid)
        time.sleep(1.5)  # both spin meanwhile
        used = decide.tree_cpu_seconds(started.pid) - before
    finally:
        for pid in _children(started.pid):
            os.kill(pid, signal.SIGKILL)
        started.kill()
        started.wait()
    assert used > 0.9  # more than one process's 0.6 s: the child counted too


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found
