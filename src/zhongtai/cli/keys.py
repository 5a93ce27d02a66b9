"""`zhongtai keys`: API keys for the gateway (stored only as hashes; shown once, at creation)."""

from __future__ import annotations

import os

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json

app = typer.Typer(no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Who or what will use the key (unique)."),
    roles: list[str] = typer.Option(["caller"], "--role", help="A role of the key; repeat for several."),
) -> None:
    """Make a new API key; it is printed once, alone on the last line."""
    key = context.store().access.create_key(name, list(roles), _principal())
    err_console.print(f"API key '{name}' ({', '.join(roles)}) created; store it now, it is not shown again:")
    typer.echo(key)


@app.command("list")
def list_keys(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every key with its prefix, roles and whether it is revoked (never the key itself)."""
    keys = context.store().access.keys()
    if as_json:
        print_json(
            [
                {
                    "name": k.name,
                    "prefix": k.prefix,
                    "roles": k.roles,
                    "created_at": k.created_at.isoformat(),
                    "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                }
                for k in keys
            ]
        )
        return
    table = Table("name", "prefix", "roles", "created", "status")
    for k in keys:
        status = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        table.add_row(k.name, k.prefix + "…", ", ".join(k.roles), f"{k.created_at:%Y-%m-%d %H:%M}", status)
    console.print(table)


@app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The key's name.")) -> None:
    """Revoke a key; running gateways refuse it within their refresh interval (30 s)."""
    context.store().access.revoke(name, _principal())
    console.print(f"API key '{name}' revoked")


def _principal() -> str:
    """Who the audit log records for a key change: ZT_PRINCIPAL, else the local administrator."""
    from zhongtai.govern.audit import LOCAL_ADMIN

    return os.environ.get("ZT_PRINCIPAL", "").strip() or LOCAL_ADMIN
