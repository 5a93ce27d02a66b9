"""`zhongtai train NAME` and `zhongtai models list | show | alias`."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Column, Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json, progress
from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import ModelVersion
from zhongtai.models import registry

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")
_METRICS = (
    ("auc", "AUC"),
    ("log_loss", "log loss"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("predicted_positive_rate", "predicted positive rate"),
    ("positive_rate", "label positive rate"),
)


def register(root: typer.Typer) -> None:
    """Add the top-level `train` command (the `models` group is `app`, added by the root)."""
    root.command("train")(train)


def train(
    name: str = typer.Argument(..., help="The registered model spec to train."),
    as_json: bool = JSON,
) -> None:
    """Train a model spec on a fresh training set as one run; register the winner as its next version.

    Prints the run id first (see `zhongtai runs show`) and a line per candidate; the version's model card
    is `zhongtai models card NAME`.
    """
    from zhongtai.models.train import STAGES, train_model

    with progress() as bar:
        task = bar.add_task("run", total=len(STAGES), detail="")
        run_id = ""

        def on_progress(stage: str, detail: str) -> None:
            nonlocal run_id
            if stage == "run":
                run_id = detail
                bar.console.print(f"run {detail} · zhongtai runs show {detail[:12]}")
            elif stage == "train" and detail.startswith("candidate ") and ": round " not in detail:
                bar.console.print(detail)  # one line per candidate stays readable after the bar moves on
            bar.update(task, completed=STAGES.index(stage), description=stage, detail=detail)

        version = train_model(
            context.store(), context.lake(), name, on_progress=on_progress, engine=context.offline_engine()
        )
        bar.update(task, completed=len(STAGES), description="done", detail=f"{name} v{version.version}")
    if as_json:
        print_json({**version.to_dict(), "run": run_id})
        return
    console.print(_metrics_table(version.metrics))
    _print_summary(version)


@app.command("list")
def list_models(
    name: str | None = typer.Argument(None, help="Only this model."),
    as_json: bool = JSON,
) -> None:
    """Every model version with its aliases and validation AUC against the baseline."""
    found = registry.list_versions(context.store(), name)
    if as_json:
        print_json([v.to_dict() for v in found])
        return
    table = Table(
        Column("model", no_wrap=True),
        "version",
        "created",
        Column("aliases", no_wrap=True),
        "AUC",
        "baseline",
        "rows",
        "status",
    )
    for v in found:
        validation, baseline = v.metrics.get("validation", {}), v.metrics.get("baseline", {})
        table.add_row(
            v.model,
            str(v.version),
            v.created_at.strftime("%Y-%m-%d"),
            ", ".join(v.aliases),
            _number(validation.get("auc")),
            _number(baseline.get("auc")),
            f"{v.metrics.get('train_rows', 0) + v.metrics.get('validation_rows', 0):,}",
            v.status,
        )
    console.print(table)


@app.command("show")
def show(
    name: str = typer.Argument(..., help="The model."),
    version: int | None = typer.Option(None, "--version", "-v", help="A version (default: the newest)."),
    as_json: bool = JSON,
) -> None:
    """A version's metrics against the baseline, parameters, features, lineage and aliases."""
    shown = registry.show(context.store(), name, version)
    if as_json:
        print_json(shown)
        return
    found = registry.get_version(context.store(), name, shown["version"])
    _print_summary(found)
    console.print(_metrics_table(found.metrics))
    console.print(f"features ({len(found.features)}): {', '.join(found.features)}")
    console.print("params: " + ", ".join(f"{k}={v}" for k, v in sorted(found.params.items())))
    console.print(f"training set {found.training_set_id or '-'}")
    aliases = shown["model_aliases"]
    console.print("aliases: " + (", ".join(f"{a} → v{n}" for a, n in aliases.items()) or "none"))


@app.command("alias")
def alias(
    name: str = typer.Argument(..., help="The model."),
    version: int = typer.Argument(..., help="The version the alias should point at."),
    alias_name: str = typer.Argument(..., metavar="ALIAS", help="champion, challenger or a lowercase name."),
    as_json: bool = JSON,
) -> None:
    """Point NAME@ALIAS at VERSION (serving picks the change up; the old target keeps its version)."""
    found = registry.set_alias(context.store(), name, version, alias_name)
    if as_json:
        print_json(found.to_dict())
        return
    console.print(f"{name}@{alias_name} → v{found.version}")


def _metrics_table(metrics: dict[str, Any]) -> Table:
    validation, baseline = metrics.get("validation", {}), metrics.get("baseline", {})
    threshold = validation.get("threshold")
    table = Table("validation metric", "model", "baseline", title=f"threshold {_number(threshold)}")
    for key, label in _METRICS:
        table.add_row(label, _number(validation.get(key)), _number(baseline.get(key)))
    return table


def _print_summary(version: ModelVersion) -> None:
    m = version.metrics
    aliases = f" ({', '.join(version.aliases)})" if version.aliases else ""
    console.print(
        f"[bold]{version.model} v{version.version}[/bold]{aliases} · {version.status} · "
        f"best iteration {m.get('best_iteration', '-')} · code {version.code_version}"
    )
    console.print(
        f"{m.get('train_rows', 0):,} training rows before {m.get('split_timestamp', '-')}, "
        f"{m.get('validation_rows', 0):,} validation rows from then on"
    )
    console.print(f"artifact {version.artifact} ({version.artifact_format})", soft_wrap=True)


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


@app.command("card")
def card(
    reference: str = typer.Argument(
        ..., metavar="NAME[@ALIAS|:VERSION]", help="churn (newest version), churn@champion or churn:3."
    ),
    output_format: str = typer.Option("md", "--format", "-f", help="md (Markdown) or json."),
) -> None:
    """A version's model card: purpose, data, metrics against both baselines, calibration, slices, limits."""
    from zhongtai.models.cards import card_of, render_markdown

    if output_format not in ("md", "json"):
        raise ZhongtaiError("invalid_argument", f"--format {output_format!r}: use md or json")
    found, body = card_of(context.store(), reference)
    if output_format == "json":
        print_json({"version": found.version, **body})
        return
    typer.echo(render_markdown(body, found.version), nl=False)
