"""Running one scheduled job: each job type calls the public function its CLI command calls.

`drift`, `flywheel` and `review_escalate` run their command (`zhongtai monitor drift`, `zhongtai flywheel
check`, `zhongtai review escalate`) in a subprocess instead: their options come from the schedule's `args`,
and the job works as soon as the command exists in the installed platform. The same command lines are what
`zhongtai export airflow` writes into a DAG.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zhongtai.errors import ZhongtaiError
from zhongtai.spec.schedule import COMMAND_JOBS, ScheduleSpec

if TYPE_CHECKING:
    from zhongtai.config import Settings
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore


@dataclass(frozen=True)
class JobServices:
    """What a job runs against: the settings and the metadata store of the scheduling process."""

    settings: Settings
    store: MetadataStore


class CommandFailed(ZhongtaiError):
    """A job's subprocess exited non-zero; its exit status is the error kind recorded."""

    def __init__(self, command: list[str], status: int) -> None:
        super().__init__("internal", f"`zhongtai {' '.join(command[:2])}` exited with status {status}")
        self.status = status


def command_line(job: ScheduleSpec) -> list[str]:
    """The `zhongtai` arguments that do what the job does, as a person would type them."""
    target = [job.target] if job.target is not None else []
    words = {
        "ingest": ["ingest"],
        "build": ["features", "build"],
        "materialize": ["features", "materialize"],
        "drift": ["monitor", "drift"],
        "score": ["score"],
        "flywheel": ["flywheel", "check"],
        "review_escalate": ["review", "escalate"],
    }[job.job]
    extra = ["--write-back"] if job.write_back else []
    return [*words, *target, *extra, *job.args]


def run_job(job: ScheduleSpec, services: JobServices) -> None:
    """Run the job once, in this process or as a `zhongtai` subprocess; raises on failure."""
    if job.job in COMMAND_JOBS:
        _run_command(command_line(job))
        return
    from zhongtai.lake.storage import LakeStorage

    lake = LakeStorage(services.settings.lake_url)
    target = job.target or ""
    if job.job == "ingest":
        from zhongtai.lake.ingest import ingest

        ingest(services.store, lake, target)
    elif job.job == "build":
        _build(services, lake, target)
    elif job.job == "materialize":
        _materialize(services, lake, target)
    else:
        _score(services, lake, target, job.write_back)


def _build(services: JobServices, lake: LakeStorage, view: str) -> None:
    from zhongtai.features.offline import build_view
    from zhongtai.lake.offline import open_offline_engine

    engine = open_offline_engine(services.settings.offline_engine, lake)
    try:
        build_view(services.store, lake, view, engine=engine)
    finally:
        engine.close()


def _materialize(services: JobServices, lake: LakeStorage, view: str) -> None:
    from zhongtai.features.materialize import materialize
    from zhongtai.features.online import open_online_store

    online = open_online_store(services.settings.online_url)
    try:
        materialize(services.store, lake, online, view)
    finally:
        online.close()


def _score(services: JobServices, lake: LakeStorage, capability: str, write_back: bool) -> None:
    from zhongtai.capabilities.batch import score_all
    from zhongtai.integrate.writeback import write_back as upsert

    scores = score_all(services.store, lake, capability)
    if write_back:
        upsert(services.store, scores)


def _run_command(arguments: list[str]) -> None:
    # The child inherits this process's environment (ZT_HOME, ZT_METADATA_URL...), so it sees the same platform.
    done = subprocess.run([sys.executable, "-m", "zhongtai", *arguments], check=False)
    if done.returncode != 0:
        raise CommandFailed(arguments, done.returncode)


def declared_jobs(folder: str | Path) -> dict[str, ScheduleSpec]:
    """The `schedules` of a project folder, validated with the rest of it; an error when there are none."""
    from zhongtai.spec.project import load_project

    jobs = load_project(folder).schedules
    if not jobs:
        raise ZhongtaiError(
            "invalid_argument",
            f"{folder}: the project declares no schedules",
            "add a `schedules:` list to a YAML file of the project (docs/scheduler.md)",
        )
    return jobs
