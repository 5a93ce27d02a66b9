"""`zhongtai train NAME` and `zhongtai models list | show | submit | approve | reject | archive | alias |
rollback | history | publish`.

Review steps and alias moves record who acted: `ZT_PRINCIPAL` names them on the metadata store; with
`ZT_URL` they go through that gateway as `ZT_KEY`'s principal (cli/governed.py), so four eyes compares keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Column, Table

from zhongtai.cli import context
from zhongtai.cli.governed import backend
from zhongtai.cli.output import console, err_console, print_json, progress
from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import ModelVersion
from zhongtai.models import registry

if TYPE_CHECKING:
    from zhongtai.models.outputs import Published

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")
_METRICS = (
    ("auc", "AUC"),
    ("log_loss", "log loss"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("predicted_positive_rate", "predicted positive rate"),
    ("positive_rate", "label positive rate"),
    ("mase", "MASE"),
    ("coverage_80", "80% interval coverage"),
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
    """A version's metrics against the baseline, parameters, features, lineage, aliases and review steps."""
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
    from zhongtai.models.policy import ModelAction
    from zhongtai.models.review import PAST_TENSE

    for step in shown["reviews"]:
        note = f": {step['comment']}" if step["comment"] else ""
        done = PAST_TENSE[ModelAction(step["action"])]
        console.print(f"{done} by {step['principal']} at {step['at'][:19]}{note}", soft_wrap=True)


REFERENCE = typer.Argument(..., help="The model (`churn`), or the version as `churn:3` or `churn@champion`.")
VERSION = typer.Argument(None, help="The version number, unless REFERENCE carries it.")
COMMENT = typer.Option("", "--comment", "-m", help="Why: kept with the review step.")
REASON = typer.Option("", "--reason", "-m", help="Why: kept in the alias history.")


@app.command("submit")
def submit(reference: str = REFERENCE, version: str | None = VERSION, comment: str = COMMENT) -> None:
    """Submit a registered version for review (as ZT_PRINCIPAL, or ZT_KEY's with ZT_URL); another
    principal approves or rejects it."""
    _review(reference, version, "submit", comment)


@app.command("approve")
def approve(reference: str = REFERENCE, version: str | None = VERSION, comment: str = COMMENT) -> None:
    """Approve a version pending review (as ZT_PRINCIPAL, or ZT_KEY's with ZT_URL), who must not be its
    submitter: four eyes."""
    _review(reference, version, "approve", comment)


@app.command("reject")
def reject(reference: str = REFERENCE, version: str | None = VERSION, comment: str = COMMENT) -> None:
    """Reject a version pending review (as ZT_PRINCIPAL, or ZT_KEY's with ZT_URL); a rejected version never serves."""
    _review(reference, version, "reject", comment)


@app.command("archive")
def archive(reference: str = REFERENCE, version: str | None = VERSION, comment: str = COMMENT) -> None:
    """Retire a version (as ZT_PRINCIPAL, or ZT_KEY's with ZT_URL); refused while an alias points at it."""
    _review(reference, version, "archive", comment)


@app.command("alias")
def alias(
    name: str = typer.Argument(..., help="The model (`churn`), or the version as `churn:3`."),
    version: str | None = typer.Argument(None, help="The version the alias should point at."),
    alias_name: str | None = typer.Argument(
        None, metavar="[ALIAS]", help="champion, challenger or a lowercase name (63 characters at most)."
    ),
    remove: str | None = typer.Option(None, "--remove", metavar="ALIAS", help="Unset this alias instead."),
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """Point NAME@ALIAS at VERSION (as ZT_PRINCIPAL, or ZT_KEY's with ZT_URL), or unset it with --remove.

    Every move is kept (`models history`). A serving alias (champion, the spec's serving_aliases, any alias
    a capability serves) takes only an approved version unless the spec says `require_approval: false`.
    Running gateways serve the moved alias within ZT_SERVING_POLL seconds (default 1), on their own."""
    governed = backend()
    if remove is not None:
        if version is not None or alias_name is not None:
            raise ZhongtaiError(
                "invalid_argument",
                "--remove takes only the model",
                f"zhongtai models alias {name} --remove ALIAS",
            )
        _print_move(governed.remove_alias(name, remove, reason), as_json)
        return
    if ":" in name and alias_name is None:
        version, alias_name = None, version
    if alias_name is None:
        raise ZhongtaiError(
            "invalid_argument", "give the version and the alias", "zhongtai models alias churn 3 champion"
        )
    move = governed.move_alias(name, version, alias_name, reason)
    _print_move(move, as_json)
    _publish_new_champion(move["model"], alias_name)


@app.command("rollback")
def rollback(
    name: str = typer.Argument(..., help="The model."),
    alias_name: str = typer.Option("champion", "--alias", "-a", help="The alias to move back."),
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """Move NAME@ALIAS back to the version its last move took it from (as ZT_PRINCIPAL, or ZT_KEY's with
    ZT_URL).

    One step, recorded like any move; running it twice undoes the rollback."""
    _print_move(backend().rollback(name, alias_name, reason), as_json)
    _publish_new_champion(name, alias_name)


def _publish_new_champion(model: str, alias_name: str) -> None:
    """A model that publishes its outputs (a forecast) publishes the new champion's at once, so the features
    other models and rules read follow the champion (reported on stderr; --json output stays one object).
    Through a gateway the lake is not at hand: `zhongtai models publish` runs where it is."""
    from zhongtai.models.outputs import outputs_dataset
    from zhongtai.spec.models import ModelSpec

    if not backend().local:
        return
    store = context.store()
    if (
        alias_name != "champion"
        or outputs_dataset(ModelSpec.model_validate(store.spec("models", model))) is None
    ):
        return
    done, written = _publish(model, alias_name, views=True)
    err_console.print(
        f"published {model} v{done.model_version} → {done.dataset} v{done.dataset_version}; "
        f"views rebuilt: {', '.join(written) or 'none'}"
    )


def _publish(model: str, alias_name: str, views: bool) -> tuple[Published, dict[str, int]]:
    from zhongtai.models.outputs import publish_outputs, refresh_views

    store, lake = context.store(), context.lake()
    with err_console.status(f"publishing {model}@{alias_name}"):
        done = publish_outputs(store, lake, model, alias_name)
    written: dict[str, int] = {}
    if views:
        from zhongtai.features.online import open_online_store

        online = open_online_store(context.settings().online_url)
        try:
            with err_console.status(f"building the views over {done.dataset}"):
                written = refresh_views(store, lake, online, done.dataset)
        finally:
            online.close()
    return done, written


@app.command("publish")
def publish(
    name: str = typer.Argument(
        ..., help="The model whose outputs to publish (a forecast names its dataset)."
    ),
    alias_name: str = typer.Option("champion", "--alias", "-a", help="The alias whose version is published."),
    views: bool = typer.Option(
        True,
        "--views/--no-views",
        help="Build and materialize the feature views reading the dataset (default).",
    ),
    as_json: bool = JSON,
) -> None:
    """Write the outputs of NAME@ALIAS (a forecast's per-series forecasts and stock-out risk) as the next
    version of the model's outputs dataset, then build and materialize the feature views that read it, so
    other models and rules get them as features. Moving or rolling back `champion` does this by itself."""
    done, written = _publish(name, alias_name, views)
    if as_json:
        print_json({**done.to_dict(), "views": written})
        return
    console.print(
        f"{done.model} v{done.model_version} → dataset {done.dataset} v{done.dataset_version} "
        f"({done.rows:,} rows)"
    )
    for view, rows in written.items():
        console.print(f"feature view {view}: built, {rows:,} entities online")


@app.command("history")
def history(
    name: str = typer.Argument(..., help="The model."),
    alias_name: str | None = typer.Option(None, "--alias", "-a", help="Only this alias."),
    at: str | None = typer.Option(
        None, "--at", help="Instead: where each alias pointed at this moment (ISO 8601; no offset means UTC)."
    ),
    as_json: bool = JSON,
) -> None:
    """Every move of the model's aliases: from, to, who, when and why; or, with --at, where each pointed."""
    from zhongtai.models import aliases

    store = context.store()
    if at is not None:
        moment = _moment(at)
        found = aliases.aliases_at(store, name, moment)
        if alias_name is not None:
            found = {a: v for a, v in found.items() if a == alias_name}
        if as_json:
            print_json({"model": name, "at": moment.isoformat(), "aliases": found})
            return
        console.print(
            f"{name} at {moment.isoformat()}: "
            + (", ".join(f"{a} → v{v}" for a, v in found.items()) or "no aliases")
        )
        return
    moves = aliases.history(store, name, alias_name)
    if as_json:
        print_json([m.to_dict() for m in moves])
        return
    table = Table(
        Column("at (UTC)", no_wrap=True),
        Column("alias", no_wrap=True),
        "from",
        "to",
        "action",
        Column("by", no_wrap=True),
        Column("reason", overflow="fold"),
    )
    for m in moves:
        table.add_row(
            f"{m.at:%Y-%m-%d %H:%M:%S}",
            m.alias,
            _named(m.from_version),
            _named(m.to_version),
            m.action,
            m.principal,
            m.reason,
        )
    console.print(table if moves else f"{name}: no alias has moved yet")


def _review(reference: str, version: str | None, action: str, comment: str) -> None:
    found = backend().review(reference, version, action, comment)
    console.print(f"{found['model']} v{found['version']} is {found['status'].replace('_', ' ')}")


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ZhongtaiError(
            "invalid_argument",
            f"--at {text!r} is not a moment",
            "write it as ISO 8601, e.g. 2026-12-01T10:00",
        ) from None


def _print_move(move: dict[str, Any], as_json: bool) -> None:
    if as_json:
        shown = backend().show_version(move["model"], move["to_version"] or move["from_version"])
        print_json({**shown, "move": move})
        return
    target = f"v{move['to_version']}" if move["to_version"] is not None else "unset"
    was = f"v{move['from_version']}" if move["from_version"] is not None else "unset"
    console.print(
        f"{move['model']}@{move['alias']} → {target} (was {was}; {move['action']} by {move['principal']})"
    )


def _named(version: int | None) -> str:
    return "-" if version is None else f"v{version}"


def _metrics_table(metrics: dict[str, Any]) -> Table:
    validation, baseline = metrics.get("validation", {}), metrics.get("baseline", {})
    threshold = validation.get("threshold")
    title = f"threshold {_number(threshold)}" if threshold is not None else None
    table = Table("validation metric", "model", "baseline", title=title)
    for key, label in _METRICS:
        if key in validation or key in baseline:  # a forecast has no AUC, a classifier no MASE
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
