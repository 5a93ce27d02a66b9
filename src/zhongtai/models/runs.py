"""Experiment runs as people see them: who, what, how long, which data, and how a run compares to others.

Every `zhongtai train` is a run (models/train.py starts and ends it). The store keeps `running`, `finished`
and `failed`; a run whose process was killed (SIGKILL, OOM killer, a lost machine) cannot write its own end,
so a reader on the same host reports it as `died` once its pid is gone. A run on another host whose pid
cannot be checked from here stays `running`.

Peak memory is the process's maximum resident set size (`getrusage(RUSAGE_SELF).ru_maxrss`) when the run
ended: the high-water mark of the whole process so far, which for one `zhongtai train` is the run's own peak.
"""

from __future__ import annotations

import getpass
import os
import resource
import sys
import uuid
from typing import TYPE_CHECKING, Any

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.owner import gone

if TYPE_CHECKING:
    from zhongtai.meta.records import Run
    from zhongtai.meta.store import MetadataStore

SHORT_ID = 12  # characters of the id shown in lists; any unambiguous prefix of 4 or more finds a run


def new_run_id() -> str:
    """A fresh run id: 32 hex characters."""
    return uuid.uuid4().hex


def principal() -> str:
    """Who starts a run: ZT_PRINCIPAL when set (a service, a scheduler), else the operating-system user."""
    named = os.environ.get("ZT_PRINCIPAL", "").strip()
    if named:
        return named[:128]
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid:{os.getuid()}"


def peak_memory_kb() -> int:
    """The process's peak resident set size in KiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // 1024) if sys.platform == "darwin" else int(peak)


def error_of(exc: BaseException) -> tuple[str, str]:
    """The code and message a failed run records: our own errors as they are, others by type only.

    A library's message may quote the data it choked on; the run record must not, so only its type is kept
    (the traceback still reaches the process that ran the training).
    """
    if isinstance(exc, ZhongtaiError):
        return exc.code, exc.message
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", "interrupted (Ctrl-C) before the version was registered"
    return "internal", f"unexpected {type(exc).__name__}; the process that ran it printed the traceback"


def status_of(run: Run) -> str:
    """The status to show: `died` for a `running` run whose process on this host is gone."""
    if run.status != "running":
        return run.status
    return "died" if gone(run.host, run.pid) else "running"


def view(run: Run) -> dict[str, Any]:
    """A run as the CLI and the API show it (status resolved, the card left to `models card`)."""
    return {**run.to_dict(), "status": status_of(run), "short_id": run.id[:SHORT_ID]}


def list_runs(store: MetadataStore, model: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Runs newest first; an unknown model is NotFound."""
    if model is not None:
        store.spec("models", model)
    return [view(r) for r in store.training_runs.list(model, limit)]


def get_run(store: MetadataStore, reference: str) -> dict[str, Any]:
    """One run by id or unambiguous id prefix."""
    return view(store.training_runs.get(reference))


def runs_page(
    store: MetadataStore, models: tuple[str, ...] | None, offset: int = 0, limit: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """One page of runs newest first (of the models named; None: of all) and how many there are."""
    found, total = store.training_runs.page(models, offset, limit)
    return [view(r) for r in found], total


def version_as_run(store: MetadataStore, model: str, version: int) -> dict[str, Any]:
    """A registered version in a run's shape, for comparing versions side by side: the run that registered
    it when there is one, else what the version itself records (params, metrics, training set, code)."""
    run = store.training_runs.of_version(model, version)
    if run is not None:
        return view(run)
    found = store.models.get(model, version)
    return {
        "id": None, "short_id": None, "model": found.model, "status": str(found.status), "principal": None,
        "started_at": found.created_at.isoformat(), "duration_s": None, "peak_memory_kb": None,
        "version": found.version, "params": dict(found.params), "metrics": dict(found.metrics),
        "candidates": [], "training_set_id": found.training_set_id, "datasets": {},
        "code_version": found.code_version, "error_code": None,
    }  # fmt: skip


def compared(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Side-by-side rows, each {section, label, values (one per run, as recorded), differs}: who and what,
    params, metrics, data, code. The console shows them; the CLI prints them through `comparison`."""
    rows: list[dict[str, Any]] = []

    def add(section: str, label: str, values: list[Any]) -> None:
        differs = len({_shown(v) for v in values}) > 1
        rows.append({"section": section, "label": label, "values": values, "differs": differs})

    for key in ("model", "status", "principal", "started_at", "duration_s", "peak_memory_kb", "version"):
        add("run", key, [r.get(key) for r in runs])
    add("metric", "algorithm", [r["metrics"].get("algorithm") for r in runs])
    for key in _union(r["params"] for r in runs):
        add("param", f"param {key}", [r["params"].get(key) for r in runs])
    for side, label in (("validation", "model"), ("logistic_baseline", "logistic"), ("baseline", "constant")):
        for key in ("auc", "log_loss", "brier", "average_precision"):
            add("metric", f"{label} {key}", [_metric(r["metrics"].get(side), key) for r in runs])
    add("run", "candidates", [len(r["candidates"]) or None for r in runs])
    add("data", "training set", [r.get("training_set_id") for r in runs])
    for key in _union(r["datasets"] for r in runs):
        add("data", f"dataset {key}", [r["datasets"].get(key) for r in runs])
    add("code", "code version", [r.get("code_version") for r in runs])
    add("run", "error", [r.get("error_code") for r in runs])
    return rows


def comparison(runs: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Side-by-side rows (label, one value per run) as text: who and what, params, metrics, data, code."""
    return [
        (row["label"], ["-" if v is None else _shown(v) for v in row["values"]]) for row in compared(runs)
    ]


def differing(rows: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Only the rows whose values are not all the same."""
    return [(label, values) for label, values in rows if len(set(values)) > 1]


def _union(mappings: Any) -> list[str]:
    return sorted({key for mapping in mappings for key in mapping})


def _metric(side: Any, key: str) -> Any:
    # A version registered without a run may keep its metrics flat, not per side.
    return side.get(key) if isinstance(side, dict) else None


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
