"""`zhongtai runs list | show | compare`: every training attempt, side by side."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Column, Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")
_STATUS_STYLE = {"finished": "green", "failed": "red", "died": "red", "running": "yellow"}


@app.command("list")
def list_runs(
    model: str | None = typer.Option(None, "--model", "-m", help="Only runs of this model."),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    as_json: bool = JSON,
) -> None:
    """Training runs, newest first: status (a killed run shows as died), who, how long, AUC, version."""
    from zhongtai.models.runs import list_runs as listed

    found = listed(context.store(), model, limit)
    if as_json:
        print_json(found)
        return
    table = Table(
        Column("run", no_wrap=True),
        "model",
        "status",
        "principal",
        Column("started", no_wrap=True),
        "seconds",
        "algorithm",
        "AUC",
        "logistic",
        "version",
    )
    for run in found:
        metrics = run["metrics"]
        table.add_row(
            run["short_id"],
            run["model"],
            _status(run["status"]),
            run["principal"],
            run["started_at"][:19].replace("T", " "),
            _number(run["duration_s"], "{:.1f}"),
            metrics.get("algorithm", "-"),
            _number(metrics.get("validation", {}).get("auc")),
            _number(metrics.get("logistic_baseline", {}).get("auc")),
            "-" if run["version"] is None else f"v{run['version']}",
        )
    console.print(table)


@app.command("show")
def show(
    run_id: str = typer.Argument(..., metavar="RUN", help="A run id or an unambiguous prefix of it."),
    as_json: bool = JSON,
) -> None:
    """One run: who, when, how long, peak memory, params, metrics, candidates, data versions, error."""
    from zhongtai.models.runs import get_run

    run = get_run(context.store(), run_id)
    if as_json:
        print_json(run)
        return
    version = f" → {run['model']} v{run['version']}" if run["version"] is not None else ""
    console.print(f"[bold]run {run['id']}[/bold] · {run['model']} · {_status(run['status'])}{version}")
    console.print(
        f"by {run['principal']} on {run['host']} (pid {run['pid']}) · started {run['started_at']} · "
        f"{_number(run['duration_s'], '{:.1f}')} s · peak memory {_memory(run['peak_memory_kb'])} · "
        f"code {run['code_version']}"
    )
    if run["error_code"]:
        console.print(f"[red]error {run['error_code']}: {run['error_message']}[/red]")
    console.print(f"training set {run['training_set_id'] or '-'}")
    console.print("datasets: " + (", ".join(f"{k} v{v}" for k, v in run["datasets"].items()) or "-"))
    console.print("params: " + (", ".join(f"{k}={v}" for k, v in sorted(run["params"].items())) or "-"))
    if run["metrics"]:
        console.print(_metrics_table(run["metrics"]))
    if run["candidates"]:
        console.print(_candidates_table(run["candidates"], run["metrics"].get("selection_metric", "auc")))
    console.print("artifacts: " + (", ".join(run["artifacts"]) or "-"), soft_wrap=True)


@app.command("compare")
def compare(
    run_ids: list[str] = typer.Argument(..., metavar="RUN...", help="Two or more run ids (or prefixes)."),
    diff: bool = typer.Option(False, "--diff", help="Only the rows that differ between the runs."),
    as_json: bool = JSON,
) -> None:
    """Runs side by side: params, metrics against both baselines, data versions, code version."""
    from zhongtai.errors import ZhongtaiError
    from zhongtai.models.runs import comparison, differing, get_run

    if len(run_ids) < 2:
        raise ZhongtaiError("invalid_argument", "compare needs at least two runs", "zhongtai runs list")
    found = [get_run(context.store(), r) for r in run_ids]
    rows = comparison(found)
    if diff:
        rows = differing(rows)
    if as_json:
        print_json({"runs": [r["id"] for r in found], "rows": [{"field": k, "values": v} for k, v in rows]})
        return
    table = Table(Column("", no_wrap=True), *(Column(r["short_id"], no_wrap=True) for r in found))
    for label, values in rows:
        table.add_row(label, *values)
    console.print(table)
    if diff and not rows:
        console.print("the runs do not differ")


def _metrics_table(metrics: dict[str, Any]) -> Table:
    table = Table("validation metric", "model", "logistic baseline", "constant baseline")
    sides = [metrics.get(k, {}) for k in ("validation", "logistic_baseline", "baseline")]
    for key in ("auc", "log_loss", "brier", "average_precision", "precision", "recall"):
        table.add_row(key, *(_number(side.get(key)) for side in sides))
    return table


def _candidates_table(candidates: list[dict[str, Any]], metric: str) -> Table:
    table = Table("#", "algorithm", "params", "status", metric, "winner", title="candidates")
    for index, c in enumerate(candidates, 1):
        params = " ".join(f"{k}={v}" for k, v in sorted(c["params"].items())) or "(defaults)"
        table.add_row(
            str(index),
            c["algorithm"],
            params,
            c["status"],
            _number(c.get("score")),
            "✓" if c.get("winner") else "",
        )
    return table


def _status(status: str) -> str:
    return f"[{_STATUS_STYLE.get(status, 'white')}]{status}[/]"


def _memory(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.0f} MiB"


def _number(value: Any, pattern: str = "{:.4f}") -> str:
    return "-" if value is None else pattern.format(value)
