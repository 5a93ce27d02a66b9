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


def comparison(runs: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Side-by-side rows (label, one value per run): who and what, params, metrics, data, code."""
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, values: list[Any]) -> None:
        rows.append((label, ["-" if v is None else _shown(v) for v in values]))

    for key in ("model", "status", "principal", "started_at", "duration_s", "peak_memory_kb", "version"):
        add(key, [r.get(key) for r in runs])
    add("algorithm", [r["metrics"].get("algorithm") for r in runs])
    for key in _union(r["params"] for r in runs):
        add(f"param {key}", [r["params"].get(key) for r in runs])
    for side, label in (("validation", "model"), ("logistic_baseline", "logistic"), ("baseline", "constant")):
        for key in ("auc", "log_loss", "brier", "average_precision"):
            add(f"{label} {key}", [r["metrics"].get(side, {}).get(key) for r in runs])
    add("candidates", [len(r["candidates"]) or None for r in runs])
    add("training set", [r.get("training_set_id") for r in runs])
    for key in _union(r["datasets"] for r in runs):
        add(f"dataset {key}", [r["datasets"].get(key) for r in runs])
    add("code version", [r.get("code_version") for r in runs])
    add("error", [r.get("error_code") for r in runs])
    return rows


def differing(rows: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Only the rows whose values are not all the same."""
    return [(label, values) for label, values in rows if len(set(values)) > 1]


def _union(mappings: Any) -> list[str]:
    return sorted({key for mapping in mappings for key in mapping})


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
