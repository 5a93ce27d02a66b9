"""`zhongtai spec`: the spec format itself, as JSON Schemas and as the Markdown reference page."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from zhongtai.cli.output import console, err_console

app = typer.Typer(no_args_is_help=True)


class SchemaFormat(StrEnum):
    """How `spec schema` prints a schema."""

    json = "json"
    yaml = "yaml"


@app.command("schema")
def schema(
    kind: str | None = typer.Argument(
        None,
        help="A spec kind, as its top-level key or its noun (datasets or dataset, feature_views or "
        "feature-view, identity...). Omit to list the kinds.",
    ),
    fmt: SchemaFormat = typer.Option(SchemaFormat.json, "--format", help="json or yaml."),
) -> None:
    """Print the JSON Schema of one object of a spec kind, or list the kinds.

    The schema is derived from the same pydantic model that validates the specs, so editors and CI can check
    a project file against it.
    """
    from zhongtai.spec.reference import kind_schema, kind_summary, spec_kinds

    if kind is None:
        for name in spec_kinds():
            console.print(f"[bold]{name:<16}[/bold] {kind_summary(name)}", soft_wrap=True)
        return
    document = kind_schema(kind)
    if fmt is SchemaFormat.yaml:
        import yaml

        typer.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)
    else:
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))


@app.command("reference")
def reference(
    out: Path | None = typer.Option(
        None, "--out", help="Write the page to this file (docs/specs-reference.md) instead of stdout."
    ),
) -> None:
    """Write the Markdown reference of every spec kind and key, with a complete YAML example per kind.

    Regenerate the checked-in page after changing a spec model:
    `zhongtai spec reference --out docs/specs-reference.md`.
    """
    from zhongtai.spec.reference import reference_markdown, spec_kinds

    page = reference_markdown()
    if out is None:
        typer.echo(page, nl=False)
        return
    out.write_text(page, encoding="utf-8")
    err_console.print(f"wrote {out} ({len(spec_kinds())} kinds)")
