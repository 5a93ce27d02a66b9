"""`zhongtai alerts list | test | resolve`: the alerts raised by canaries and drift checks, and the receivers
they go to (ZT_ALERT_RECEIVERS)."""

from __future__ import annotations

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")


@app.command("list")
def list_alerts(
    everything: bool = typer.Option(False, "--all", help="Resolved alerts too, not only firing ones."),
    as_json: bool = JSON,
) -> None:
    """Firing alerts (all with --all), the latest raised first, with how often each was raised."""
    from zhongtai.monitor.alerts import AlertCenter

    rows = AlertCenter.from_environment(context.store()).listed(everything)
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    if not rows:
        console.print("no alert is firing" if not everything else "no alert was ever raised")
        return
    table = Table("status", "alert", "where", "summary", "since", "raised", "told")
    for r in rows:
        table.add_row(
            "[red]firing[/red]" if r.status == "firing" else "[green]resolved[/green]",
            r.name,
            ", ".join(f"{k}={v}" for k, v in sorted(r.labels.items())),
            r.summary,
            r.starts_at.isoformat()[:16].replace("T", " "),
            str(r.raised),
            r.notified_at.isoformat()[:16].replace("T", " ") if r.notified_at else "not yet",
        )
    console.print(table)


@app.command("test")
def test_receivers(as_json: bool = JSON) -> None:
    """Send a test alert, then its resolution, to every receiver of ZT_ALERT_RECEIVERS; exit 1 if any
    receiver did not take them."""
    from zhongtai.errors import ZhongtaiError
    from zhongtai.monitor.alert_formats import Alert
    from zhongtai.monitor.alerts import AlertCenter

    center = AlertCenter.from_environment(context.store())
    if not center.receivers:
        raise ZhongtaiError(
            "invalid_config",
            "no alert receiver is configured",
            "set ZT_ALERT_RECEIVERS, e.g. 'webhook=https://ops.example.com/zhongtai'",
        )
    alert = Alert("ZhongtaiTest", {"source": "zhongtai alerts test"}, "info", "a test alert from Zhongtai")
    center.resolve([alert])  # a test left firing by an earlier run is news again
    deliveries = [*center.fire([alert]), *center.resolve([alert])]
    if as_json:
        print_json([d.to_dict() for d in deliveries])
    else:
        for d in deliveries:
            mark = "[green]ok[/green]" if d.ok else f"[red]failed[/red] {d.error}"
            console.print(f"{d.receiver}: {d.status} {mark}")
    if not all(d.ok for d in deliveries):
        raise typer.Exit(1)


@app.command("resolve")
def resolve(
    name: str = typer.Argument(..., help="The alert's name, e.g. CanaryRolledBack."),
    label: list[str] = typer.Option([], "--label", help="KEY=VALUE of the alert's labels (repeat for each)."),
) -> None:
    """Mark a firing alert resolved by hand (its condition was dealt with), recorded in the audit log;
    receivers are told."""
    from zhongtai.errors import ZhongtaiError
    from zhongtai.monitor.alert_formats import Alert
    from zhongtai.monitor.alerts import AlertCenter

    labels = {}
    for entry in label:
        key, sep, value = entry.partition("=")
        if not sep or not key:
            raise ZhongtaiError("invalid_argument", f"--label {entry!r} is not KEY=VALUE")
        labels[key] = value
    center = AlertCenter.from_environment(context.store())
    alert = Alert(name, labels)
    if alert.fingerprint not in {row.fingerprint for row in center.listed()}:
        raise ZhongtaiError(
            "not_found",
            f"no firing alert {name} with labels {labels or '{}'}",
            "`zhongtai alerts list` shows the firing ones with their labels",
        )
    from zhongtai.govern.audit import LOCAL_ADMIN
    from zhongtai.govern.policy import cli_principal

    _, deliveries = center.resolve_by(alert, cli_principal().name, LOCAL_ADMIN)
    told = (
        ", ".join(f"{d.receiver} {'ok' if d.ok else 'failed'}" for d in deliveries)
        or "no receiver configured"
    )
    console.print(f"{name}: resolved ({told})")
