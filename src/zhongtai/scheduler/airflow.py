"""`zhongtai export airflow`: the project's schedules as an Airflow DAG file, for teams that run Airflow.

One DAG per job (a DAG has one schedule), each with one BashOperator task running the job's `zhongtai`
command line (scheduler/jobs.py `command_line`, the same one the scheduler runs for subprocess jobs).
`every` maps to a timedelta schedule, `cron` to the cron string; no catch-up of missed runs and at most one
active run, as the scheduler does. Every value is written as a Python literal (`repr`), so nothing in a spec
can become code. Checked by loading it with Airflow's own DagBag: bench/airflow_check.py.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Mapping
from pathlib import Path

from zhongtai.scheduler.jobs import command_line
from zhongtai.spec.base import duration_seconds
from zhongtai.spec.schedule import ScheduleSpec

_HEADER = '''\
"""Zhongtai scheduled jobs as Airflow DAGs. Written by `zhongtai export airflow`; edit the project's
`schedules` and export again rather than this file."""

from datetime import datetime, timedelta, timezone

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.bash import BashOperator

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
'''


def dag_source(jobs: Mapping[str, ScheduleSpec], zhongtai: str = "zhongtai") -> str:
    """The Python source of a DAG file holding one DAG per job; `zhongtai` is the command on the workers."""
    parts = [_HEADER]
    for name, job in sorted(jobs.items()):
        schedule = (
            f"timedelta(seconds={duration_seconds(job.every)})" if job.every is not None else repr(job.cron)
        )
        command = _untemplated(shlex.join([*shlex.split(zhongtai), *command_line(job)]))
        parts.append(
            f"""
with DAG(
    dag_id={f"zhongtai_{name}"!r},
    description={(job.description or f"zhongtai {job.job}")!r},
    schedule={schedule},
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=["zhongtai"],
):
    BashOperator(task_id={name!r}, bash_command={command!r}, append_env=True)
"""
        )
    return "".join(parts)


def write_dag(jobs: Mapping[str, ScheduleSpec], out: Path, zhongtai: str = "zhongtai") -> None:
    """Write the DAG file whole or not at all (a temporary file beside it, then renamed over it)."""
    text = dag_source(jobs, zhongtai)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, out)
    except BaseException:
        os.unlink(temporary)
        raise


def _untemplated(command: str) -> str:
    """Airflow renders bash_command with Jinja: a `{{`, `{%` or `{#` in an argument stays literal in a raw block."""
    if any(mark in command for mark in ("{{", "{%", "{#")):
        return "{% raw %}" + command.replace("{% endraw %}", "") + "{% endraw %}"
    return command
