"""Experiment runs on SQLite and PostgreSQL: what a run records, failed runs, killed runs, comparisons."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.owner import here
from zhongtai.meta.records import RunOutcome
from zhongtai.meta.store import MetadataStore
from zhongtai.models import runs
from zhongtai.models.train import train_model
from zhongtai.spec.models import ModelSpec

from .conftest import MODEL, register_model_spec, synthetic_table, training_set_of

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _train(store, storage, table, model="churn", training_set=None, **kwargs):
    found = training_set or training_set_of(table, model)
    return train_model(store, storage, model, training=(found, table), **kwargs)


def _model_folders(storage) -> list[str]:
    root = storage.path("_models")
    return storage.fs.find(root) if storage.fs.exists(root) else []


def test_a_run_records_who_what_and_the_version_it_registered(store, storage, monkeypatch):
    monkeypatch.setenv("ZT_PRINCIPAL", "ana@crm")
    table = synthetic_table(rows=1500)
    version = _train(store, storage, table)
    [run] = store.training_runs.list("churn")
    assert run.status == "finished" and run.version == version.version == 1
    assert run.principal == "ana@crm"
    assert run.params == version.params and run.params["num_boost_round"] == 200
    assert run.metrics == version.metrics
    assert set(run.metrics) >= {"validation", "baseline", "logistic_baseline", "algorithm"}
    assert run.training_set_id == version.training_set_id
    assert run.datasets == {"churn_labels": 2, "orders": 5}
    assert run.code_version == version.code_version and run.code_version
    assert run.artifacts == [version.artifact]
    assert run.duration_s is not None and run.duration_s >= 0
    assert run.peak_memory_kb is not None and run.peak_memory_kb > 10_000  # a Python process with numpy
    assert run.ended_at is not None and run.ended_at >= run.started_at
    assert run.error_code is None and run.card is not None
    assert store.training_runs.of_version("churn", 1) == run
    assert store.training_runs.get(run.id[:8]) == run


def test_a_failed_run_is_recorded_with_its_error_and_registers_nothing(store, storage):
    table = synthetic_table(rows=1000)
    table = table.set_column(2, "label", pa.array(np.zeros(1000, dtype=np.int64)))
    with pytest.raises(ZhongtaiError, match=r"training side of the time split has a single class"):
        _train(store, storage, table)
    [run] = store.training_runs.list()
    assert run.status == "failed" and run.version is None
    assert run.error_code == "invalid_argument"
    assert "training side of the time split has a single class" in (run.error_message or "")
    assert run.training_set_id is not None and run.datasets == {"churn_labels": 2, "orders": 5}
    assert store.models.versions("churn") == []
    assert _model_folders(storage) == [] and run.artifacts == []


def test_a_run_that_cannot_complete_leaves_no_version_and_no_artifact(store, storage):
    """Someone marks the run failed while it registers: the completion refuses, the version rolls back."""

    def interfere(stage: str, detail: str) -> None:
        if stage == "register":
            [running] = store.training_runs.list()
            store.training_runs.fail(running.id, RunOutcome(0.0, 0), "cancelled", "cancelled by an operator")

    with pytest.raises(ZhongtaiError, match=r"run [0-9a-f]{12} is not running; nothing was registered"):
        _train(store, storage, synthetic_table(rows=1000), on_progress=interfere)
    assert store.models.versions("churn") == []
    assert _model_folders(storage) == []
    [run] = store.training_runs.list()
    assert (run.status, run.error_code, run.version) == ("failed", "cancelled", None)


def test_an_unexpected_error_is_recorded_by_its_type_only():
    class Boom(RuntimeError):
        pass

    code, message = runs.error_of(Boom("customer 13800138000 broke it"))
    assert code == "internal" and "Boom" in message and "13800138000" not in message
    assert runs.error_of(ZhongtaiError("invalid_spec", "bad spec")) == ("invalid_spec", "bad spec")


def test_the_principal_falls_back_to_the_os_user(monkeypatch):
    monkeypatch.delenv("ZT_PRINCIPAL", raising=False)
    import getpass

    assert runs.principal() == getpass.getuser()
    monkeypatch.setenv("ZT_PRINCIPAL", "scheduler")
    assert runs.principal() == "scheduler"


_KILLED_CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
from tests.models.conftest import register_model_spec, synthetic_table, training_set_of
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.models.train import train_model

store = MetadataStore({url!r})
table = synthetic_table(rows=600)

def stall(stage, detail):
    if stage == "train":
        open({marker!r}, "w").close()
        time.sleep(600)

train_model(store, LakeStorage({lake!r}), "churn", on_progress=stall, training=(training_set_of(table), table))
"""


def test_a_run_killed_midway_shows_as_died_and_registers_nothing(store, storage, metadata_url, tmp_path):
    marker = tmp_path / "training"
    script = _KILLED_CHILD.format(repo=str(REPO), url=metadata_url, marker=str(marker), lake=storage.url)
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env)
    try:
        for _ in range(1200):  # waits for the child to reach training; fails below if it never does
            if marker.exists() or child.poll() is not None:
                break
            time.sleep(0.25)
        assert marker.exists(), "the child never reached the train stage"
        [alive] = runs.list_runs(store, "churn")
        assert alive["status"] == "running" and alive["pid"] == child.pid
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()  # reaped, so its pid is really gone
    [run] = store.training_runs.list("churn")
    assert run.status == "running"  # a killed process writes nothing more
    assert runs.status_of(run) == "died"
    assert runs.get_run(store, run.id[:6])["status"] == "died"
    assert run.training_set_id is not None  # recorded before it died
    assert store.models.versions("churn") == []


def test_runs_compare_side_by_side_and_diff_shows_only_what_differs(store, storage):
    table = synthetic_table(rows=1500)
    training_set = training_set_of(table)
    _train(store, storage, table, training_set=training_set)
    _train(store, storage, table, training_set=training_set)
    spec = ModelSpec.model_validate(
        {**MODEL.model_dump(), "name": "churn_fast", "params": {"learning_rate": 0.2}}
    )
    register_model_spec(store, spec)
    _train(store, storage, table, model="churn_fast", training_set=training_set)
    newest_first = runs.list_runs(store)
    fast, second, first = newest_first
    assert fast["model"] == "churn_fast" and first["version"] == 1 and second["version"] == 2

    same = runs.differing(runs.comparison([first, second]))
    labels = {label for label, _ in same}
    # the same data and seed: only identity, timing and the version number differ
    assert labels <= {"started_at", "duration_s", "peak_memory_kb", "version"}
    assert "version" in labels

    rows = dict(runs.comparison([first, fast]))
    assert rows["param learning_rate"] == ["0.0500", "0.2000"]
    assert rows["dataset orders"] == ["5", "5"]
    differing = dict(runs.differing(runs.comparison([first, fast])))
    assert "param learning_rate" in differing and "dataset orders" not in differing
    assert "model auc" in differing and "code version" not in differing


def test_run_references_are_checked(store):
    with pytest.raises(ZhongtaiError, match=r"run 'beef' is not registered"):
        runs.get_run(store, "beef")
    host, pid = here()
    for run_id in ("abcd0001" + "0" * 24, "abcd0002" + "0" * 24):
        store.training_runs.start(run_id, "churn", "me", host, pid, "0.1.0")
    with pytest.raises(ZhongtaiError, match=r"run id prefix 'abcd' matches several runs"):
        runs.get_run(store, "abcd")
    assert runs.get_run(store, "abcd0002")["status"] == "running"  # this very process is alive
    with pytest.raises(ZhongtaiError, match=r"model 'fraud' is not registered"):
        runs.list_runs(store, "fraud")


def test_runs_persist_across_reopening_the_store(metadata_url, store, storage):
    _train(store, storage, synthetic_table(rows=1000))
    reopened = MetadataStore(metadata_url)
    try:
        [run] = reopened.training_runs.list("churn")
        assert run.status == "finished" and run.card is not None and run.card["model"] == "churn"
    finally:
        reopened.close()
