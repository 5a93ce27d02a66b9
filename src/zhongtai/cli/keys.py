"""`zhongtai keys`: API keys for the gateway (stored only as hashes; shown once, at creation or rotation).

Every command is `manage_keys`, checked by the policy engine the gateway uses (govern/policy.py): on the
metadata store for the local admin, or through the gateway at `ZT_URL` for `ZT_KEY`'s principal
(cli/governed.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer
from rich.table import Table

from zhongtai.cli.governed import backend
from zhongtai.cli.output import console, err_console, print_json
from zhongtai.errors import ErrorCode, ZhongtaiError

app = typer.Typer(no_args_is_help=True)
DEFAULT_ROLE = "caller"


def _duration(value: str, option: str) -> str:
    """The duration as given, once it reads as one (the backend turns it into time)."""
    from zhongtai.spec.base import duration_seconds

    try:
        duration_seconds(value)
    except ValueError:
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT, f"{option}: expected a duration like 90m, 24h or 30d", None
        ) from None
    return value


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Who or what will use the key (unique)."),
    roles: list[str] = typer.Option(
        [DEFAULT_ROLE],
        "--role",
        help="A role of the key; repeat for several. What a role may do is what the project's `policies` "
        "grant it (default deny); `admin` may do everything.",
    ),
    workspace: str | None = typer.Option(None, "--workspace", help="The department the key belongs to."),
    owner: str | None = typer.Option(None, "--owner", help="The person or team answerable for the key."),
    scopes: list[str] = typer.Option(
        [], "--scope", help="Narrow the key to these actions (e.g. call); repeat for several."
    ),
    expires: str | None = typer.Option(None, "--expires", help="Expire the key after this long (e.g. 90d)."),
) -> None:
    """Make a new API key; it is printed once, alone on the last line."""
    from zhongtai.spec.policy import check_action

    for scope in scopes:
        try:
            check_action(scope)
        except ValueError as exc:
            raise ZhongtaiError(ErrorCode.INVALID_ARGUMENT, f"--scope: {exc}", None) from None
    made = backend().create_key(
        name,
        list(roles),
        workspace=workspace,
        owner=owner,
        scopes=list(scopes),
        expires=_duration(expires, "--expires") if expires else None,
    )
    where = f" in workspace {workspace}" if workspace else ""
    err_console.print(
        f"API key '{name}' ({', '.join(roles)}){where} created; store it now, it is not shown again:"
    )
    typer.echo(made["secret"])


@app.command("rotate")
def rotate(
    name: str = typer.Argument(..., help="The key's name."),
    grace: str = typer.Option("24h", "--grace", help="How long the old key keeps working (e.g. 24h)."),
) -> None:
    """Give a key a new secret, printed once on the last line; the old one works until the grace ends, so
    its users can switch without downtime (running gateways see the new key within 30 s)."""
    rotated = backend().rotate_key(name, _duration(grace, "--grace"))
    err_console.print(f"API key '{name}' rotated; the old key works for {grace} more. The new key:")
    typer.echo(rotated["secret"])


@app.command("list")
def list_keys(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every key with its prefix, roles, workspace, expiry and whether it is revoked (never the key)."""
    keys = backend().keys()
    if as_json:
        print_json(keys)
        return
    table = Table("name", "prefix", "roles", "workspace", "created", "expires", "status")
    for k in keys:
        status = f"revoked {_minute(k['revoked_at'])}" if k["revoked_at"] else "active"
        table.add_row(
            k["name"],
            k["prefix"] + "…",
            ", ".join(k["roles"]),
            k["workspace"] or "",
            _minute(k["created_at"]),
            _minute(k["expires_at"]),
            status,
        )
    console.print(table)


def _minute(moment: Any) -> str:
    """An ISO time (as both backends give it) to the minute; empty for none."""
    return f"{datetime.fromisoformat(moment):%Y-%m-%d %H:%M}" if moment else ""


@app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The key's name.")) -> None:
    """Revoke a key (and its rotated-out secret); running gateways refuse it within 30 s."""
    backend().revoke_key(name)
    console.print(f"API key '{name}' revoked")
