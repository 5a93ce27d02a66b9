"""`zhongtai scheduler`: run the project's scheduled jobs, list them, trigger one now."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json

if TYPE_CHECKING:
    from zhongtai.scheduler.runner import Outcome, Scheduler

app = typer.Typer(no_args_is_help=True)
PROJECT = typer.Option(
    Path("."), "--project", "-p", envvar="ZT_PROJECT", help="The project folder declaring `schedules`."
)
JSON = typer.Option(False, "--json", help="Print JSON.")


def build_scheduler(folder: Path) -> Scheduler:
    """A scheduler over the folder's jobs, running them against this process's settings and store."""
    from zhongtai.scheduler.jobs import JobServices, declared_jobs, run_job
    from zhongtai.scheduler.runner import Scheduler

    jobs = declared_jobs(folder)
    services = JobServices(settings=context.settings(), store=context.store())
    return Scheduler(
        jobs,
        services.store.jobs,
        lambda job: run_job(job, services),
        on_event=lambda message: err_console.print(escape(message)),
    )


@app.command("run")
def run(
    folder: Path = PROJECT,
    once: bool = typer.Option(False, "--once", help="Run what is due now, then exit (for cron or CI)."),
    poll: float = typer.Option(
        30.0, "--poll", min=0.1, help="Look for due jobs at least this often (seconds)."
    ),
    as_json: bool = JSON,
) -> None:
    """Run due jobs until stopped (SIGTERM or Ctrl+C finish the running job, then exit).

    Several schedulers may share one metadata store: each due run is claimed by lease, so exactly one runs it.
    """
    scheduler = build_scheduler(folder)
    if once:
        outcomes = scheduler.tick()
        _report(outcomes, as_json)
        if any(o.status == "failed" for o in outcomes):
            raise typer.Exit(1)
        return
    stop = threading.Event()

    def finish(signum: int, _frame: Any) -> None:
        err_console.print(f"scheduler: {signal.Signals(signum).name}, stopping after the running job")
        stop.set()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    err_console.print(f"scheduler {scheduler.owner}: {len(scheduler.jobs)} jobs (SIGTERM or Ctrl+C stops)")
    scheduler.serve(stop, poll)
    err_console.print("scheduler: stopped")


@app.command("list")
def list_jobs(folder: Path = PROJECT, as_json: bool = JSON) -> None:
    """Every scheduled job: what it runs, when next, how its last run ended, who holds it now."""
    from zhongtai.meta.time import now
    from zhongtai.scheduler.timing import upcoming

    scheduler = build_scheduler(folder)
    leases = scheduler.records.leases()
    last = scheduler.records.last_runs()
    at = now()
    rows: list[dict[str, Any]] = []
    for name, job in sorted(scheduler.jobs.items()):
        lease = leases.get(name)
        held = lease is not None and lease.owner is not None and lease.expires_at is not None
        run = last.get(name)
        rows.append(
            {
                "job": name,
                "runs": f"{job.job} {job.target}" if job.target else job.job,
                "when": f"every {job.every}" if job.every else f"cron {job.cron}",
                "next": upcoming(job, lease.done_slot if lease else None, at).isoformat(),
                "last": run.to_dict() if run else None,
                "held_by": lease.owner if held and lease is not None else None,
            }
        )
    if as_json:
        print_json(rows)
        return
    table = Table("job", "runs", "when", "next (UTC)", "last run", "held by")
    for row in rows:
        table.add_row(
            row["job"], row["runs"], row["when"], row["next"][:16], _last(row["last"]), row["held_by"] or "-"
        )
    console.print(table)


@app.command("trigger")
def trigger(job: str, folder: Path = PROJECT, as_json: bool = JSON) -> None:
    """Run one job now, outside its schedule (refused while another scheduler runs it)."""
    outcome = build_scheduler(folder).trigger(job)
    _report([outcome], as_json)
    if outcome.status == "failed":
        raise typer.Exit(1)


@app.command("runs")
def runs(
    job: str | None = typer.Argument(None, help="One job's runs (default: every job's)."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many, newest first."),
    as_json: bool = JSON,
) -> None:
    """Recorded runs, newest first: status, due time, start, finish, error kind."""
    found = context.store().jobs.runs(job, limit)
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    table = Table("id", "job", "trigger", "due", "started", "status", "error kind", "owner")
    for r in found:
        table.add_row(
            str(r.id),
            r.job,
            r.trigger,
            r.slot.isoformat()[:16],
            r.started_at.isoformat()[:19],
            r.status,
            r.error_kind or "-",
            r.owner,
        )
    console.print(table)


def _last(run: dict[str, Any] | None) -> str:
    if run is None:
        return "never"
    kind = f" ({run['error_kind']})" if run["error_kind"] else ""
    return f"{run['status']}{kind} {str(run['started_at'])[:16]}"


def _report(outcomes: list[Outcome], as_json: bool) -> None:
    if as_json:
        print_json(
            [
                {
                    "job": o.job,
                    "due": o.slot.isoformat(),
                    "trigger": o.trigger,
                    "status": o.status,
                    "error_kind": o.error_kind,
                }
                for o in outcomes
            ]
        )
        return
    if not outcomes:
        console.print("nothing due")
    for o in outcomes:
        colour = "green" if o.status == "succeeded" else "red"
        kind = f" ({o.error_kind})" if o.error_kind else ""
        console.print(f"{o.job}: [{colour}]{o.status}[/{colour}]{kind}")
