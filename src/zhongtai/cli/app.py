"""The `zhongtai` command. Each noun is a module; they all share one error handler."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from typer import _click as click  # the click that typer vendors, whose Context TyperGroup.invoke takes
from typer.core import TyperGroup

from zhongtai import __version__
from zhongtai.cli import (
    alerts,
    audit,
    capabilities,
    catalog,
    datasets,
    decisions,
    demo,
    entities,
    export,
    features,
    flywheel,
    ingest,
    keys,
    models,
    monitor,
    oneid,
    pii,
    policies,
    project,
    quality,
    report,
    retail,
    review,
    runs,
    scheduler,
    score,
    serve,
    sources,
    spec,
    stream,
    system,
    tags,
)
from zhongtai.cli.output import err_console
from zhongtai.errors import ZhongtaiError


class _Group(TyperGroup):
    """The root command group: turns a ZhongtaiError from any command into one red line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZhongtaiError as exc:
            err_console.print(f"[red]error:[/red] {escape(exc.message)}", soft_wrap=True)
            if exc.hint:
                err_console.print(f"[dim]hint:[/dim] {escape(exc.hint)}", soft_wrap=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    name="zhongtai",
    help="Zhongtai (中台): connect enterprise systems, build governed AI capabilities on them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)
system.register(app)
project.register(app)
ingest.register(app)
app.add_typer(sources.app, name="sources", help="Connections to existing systems.")
app.add_typer(spec.app, name="spec", help="The spec format: JSON Schemas and the reference page.")
app.add_typer(datasets.app, name="datasets", help="Datasets in the lake and their versions.")
app.add_typer(entities.app, name="entities", help="What features describe and decisions are about.")
app.add_typer(oneid.app, name="oneid", help="OneID: resolve customer records into persons.")
app.add_typer(tags.app, name="tags", help="Rule-defined labels on entities, with history.")
app.add_typer(quality.app, name="quality", help="Data quality: rule results and quarantined rows.")
app.add_typer(catalog.app, name="catalog", help="Search and describe data assets.")
catalog.register(app)
app.add_typer(features.app, name="features", help="Feature views: build, materialize, inspect.")
app.add_typer(stream.app, name="stream", help="Real-time: streams into online features and the lake.")
models.register(app)
app.add_typer(
    models.app,
    name="models",
    help="Model versions and cards, review (four eyes), aliases with history and rollback.",
)
app.add_typer(
    capabilities.app, name="capabilities", help="Capabilities: what serves them, A/B splits changed live."
)
app.command("replay")(capabilities.replay)
app.add_typer(runs.app, name="runs", help="Experiment runs: every training attempt, compared side by side.")
score.register(app)
serve.register(app)
app.add_typer(
    keys.app,
    name="keys",
    help="API keys for the gateway: create, rotate, revoke (policies say what they may do). "
    "With ZT_URL and ZT_KEY set, through that gateway.",
)
app.add_typer(
    policies.app,
    name="policies",
    help="Grants: plan and apply a `policies` document (default deny); through ZT_URL when set.",
)
app.add_typer(
    audit.app,
    name="audit",
    help="The hash-chained audit log: verify, read, export (ECS); through ZT_URL when set.",
)
app.add_typer(
    flywheel.app,
    name="flywheel",
    help="The data flywheel: live quality from feedback, retrain runs (check, history, approve).",
)
app.add_typer(review.app, name="review", help="The review queue: decisions routed to a person, and verdicts.")
app.add_typer(alerts.app, name="alerts", help="Alerts from canaries and drift checks, and their receivers.")
app.add_typer(report.app, name="report", help="Reports for sponsors: ROI of capabilities and reuse.")
app.add_typer(monitor.app, name="monitor", help="Monitoring: drift of features and scores against training.")
app.add_typer(
    export.app,
    name="export",
    help="Export a capability: an edge bundle that decides in process, or its spec as YAML.",
)
app.add_typer(decisions.app, name="decisions", help="The decision log, masked for the reader.")
app.add_typer(pii.app, name="pii", help="Field encryption keys: rotate, re-encrypt the lake, retire.")
app.add_typer(
    scheduler.app, name="scheduler", help="Scheduled jobs: run them (leased, once each), list, trigger."
)
app.add_typer(retail.app, name="retail", help="The retail reference scenario.")
demo.register(app)


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def main() -> None:
    """Entry point of the `zhongtai` command."""
    app()
