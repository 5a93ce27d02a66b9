"""`zhongtai monitor drift | reports`: drift of a capability's features and scores against the training
reference, once or on a schedule, and the reports stored before."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Column, Table

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json
from zhongtai.spec.base import duration

if TYPE_CHECKING:
    from zhongtai.monitor.check import VersionDrift

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")
_VERDICT_STYLE = {"ok": "green", "drift": "yellow", "major": "red", "no data": "dim"}


@app.command("drift")
def drift(
    capability: str = typer.Argument(..., help="The capability whose answers are checked."),
    window: str = typer.Option("7d", "--window", help="How far back from now, like 7d, 24h or 90m."),
    every: str | None = typer.Option(
        None, "--every", help="Check again at this interval (like 1h) until interrupted: the scheduled form."
    ),
    min_effect: float = typer.Option(
        0.01, "--min-effect", help="The least PSI effect that counts as drift (0.01: a 0.1-SD mean shift)."
    ),
    alpha: float = typer.Option(0.01, "--alpha", help="False-alarm rate of one check over all its columns."),
    as_json: bool = JSON,
) -> None:
    """Compare the capability's answers of the window with the reference profile of the model version that
    gave them: per feature and for the score, PSI, Jensen-Shannon distance, KS, the effect after sampling
    noise, and the verdict (ok, drift, major). Each check is stored (see `zhongtai monitor reports`)."""
    from zhongtai.monitor.drift import MAJOR_EFFECT, Thresholds

    span = duration(window, "--window")
    interval = duration(every, "--every") if every is not None else None
    if interval is not None and interval < timedelta(minutes=1):
        from zhongtai.errors import ZhongtaiError

        raise ZhongtaiError("invalid_argument", f"--every {every}: check at most once a minute")
    limits = Thresholds(min_effect=min_effect, major_effect=max(MAJOR_EFFECT, min_effect), alpha=alpha)
    while True:
        found = _check(capability, span, limits)
        _raise_alerts(capability, found)
        if as_json:
            print_json([v.to_dict() for v in found])
        else:
            _print(capability, window, found)
        if interval is None:
            return
        err_console.print(f"[dim]next check in {every} (Ctrl-C stops)[/dim]")
        time.sleep(interval.total_seconds())


def _raise_alerts(capability: str, found: list[VersionDrift]) -> None:
    """Drifted features fire `FeatureDrift` alerts (sent where ZT_ALERT_RECEIVERS says); features back in line
    resolve theirs."""
    from zhongtai.monitor.alert_rules import drift_alerts
    from zhongtai.monitor.alerts import AlertCenter

    firing, cleared = drift_alerts(capability, found)
    center = AlertCenter.from_environment(context.store())
    failed = [d for d in [*center.fire(firing), *center.resolve(cleared)] if not d.ok]
    for delivery in failed:
        err_console.print(
            f"[yellow]alert {delivery.group} not delivered to {delivery.receiver}: {delivery.error}[/yellow]"
        )


@app.command("reports")
def reports(
    capability: str | None = typer.Argument(None, help="Only this capability's reports."),
    limit: int = typer.Option(20, "--limit", help="At most this many, newest first."),
    as_json: bool = JSON,
) -> None:
    """Stored drift reports, newest first: when, which version, the window, decisions, verdict."""
    found = context.store().drift.reports(capability, limit)
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    table = Table("id", "at", "capability", "model", "window", "decisions", "verdict", "drifted")
    for r in found:
        table.add_row(
            str(r.id),
            r.at.isoformat()[:19].replace("T", " "),
            r.capability,
            f"{r.model_name} v{r.model_version}",
            f"{r.window_start.isoformat()[:16]} → {r.window_end.isoformat()[:16]}",
            f"{r.decisions:,}",
            _verdict(r.verdict),
            str(r.drifted),
        )
    console.print(table)


def _check(capability: str, span: timedelta, limits: Any) -> list[VersionDrift]:
    from zhongtai.cli.output import progress
    from zhongtai.monitor.check import check_capability

    with progress() as bar:
        task = bar.add_task("reading decisions", total=None, detail="")
        found = check_capability(
            context.store(),
            context.lake(),
            capability,
            span,
            limits,
            on_progress=lambda n: bar.update(task, completed=n, detail=f"{n:,} decisions"),
        )
        bar.update(task, description="compared", detail=f"{sum(v.decisions for v in found):,} decisions")
    return found


def _print(capability: str, window: str, found: list[VersionDrift]) -> None:
    if not found:
        console.print(f"{capability}: no model answers in the last {window}: nothing to compare")
        return
    for version in found:
        head = f"[bold]{capability}[/bold] · {version.model_name} v{version.model_version} · "
        head += f"{version.decisions:,} decisions in the last {window}"
        if version.report is None:
            console.print(f"{head}\n[yellow]{version.missing}[/yellow]")
            continue
        report = version.report
        rows = report.results[0]["rows"] if report.results else 0
        console.print(
            f"{head} ({rows:,} distinct requests) · {_verdict(report.verdict)} "
            f"({report.drifted} flagged, report {report.id})"
        )
        table = Table(
            Column("column", no_wrap=True), "PSI", "JS", "KS", "effect", "detectable", "missing", "verdict"
        )
        for r in report.results:
            table.add_row(
                r["name"],
                f"{r['psi']:.4f}",
                f"{r['js']:.4f}",
                "-" if r["ks"] is None else f"{r['ks']:.4f}",
                f"{r['effect']:.4f}",
                "-" if r["detectable"] is None else f"{r['detectable']:.4f}",
                f"{r['reference_missing_rate']:.1%} → {r['missing_rate']:.1%}",
                _verdict(r["verdict"]),
            )
        console.print(table)


def _verdict(verdict: str) -> str:
    style = _VERDICT_STYLE.get(verdict, "")
    return f"[{style}]{verdict}[/{style}]" if style else verdict
