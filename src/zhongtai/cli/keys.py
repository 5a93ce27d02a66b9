"""`zhongtai keys`: API keys for the gateway (stored only as hashes; shown once, at creation or rotation).

Every command is `manage_keys`, checked by the policy engine the gateway uses (govern/policy.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, err_console, print_json
from zhongtai.errors import ErrorCode, ZhongtaiError

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

app = typer.Typer(no_args_is_help=True)
DEFAULT_ROLE = "caller"


def _duration(value: str, option: str) -> timedelta:
    from zhongtai.spec.base import duration_seconds

    try:
        return timedelta(seconds=duration_seconds(value))
    except ValueError:
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT, f"{option}: expected a duration like 90m, 24h or 30d", None
        ) from None


def _key_manager() -> tuple[MetadataStore, str, str]:
    """The store, the CLI's principal and the rule that lets it manage keys (for the audit log), once the
    policy engine the gateway uses has said yes."""
    from zhongtai.govern.policy import cli_principal, load_engine

    store = context.store()
    principal = cli_principal()
    verdict = load_engine(store).require(principal, "manage_keys")
    return store, principal.name, verdict.rule


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
    from zhongtai.meta.time import now
    from zhongtai.spec.policy import check_action

    for scope in scopes:
        try:
            check_action(scope)
        except ValueError as exc:
            raise ZhongtaiError(ErrorCode.INVALID_ARGUMENT, f"--scope: {exc}", None) from None
    expires_at = now() + _duration(expires, "--expires") if expires else None
    store, who, rule = _key_manager()
    key = store.access.create_key(
        name,
        list(roles),
        who,
        rule,
        owner=owner,
        workspace=workspace,
        scopes=list(scopes),
        expires_at=expires_at,
    )
    where = f" in workspace {workspace}" if workspace else ""
    err_console.print(
        f"API key '{name}' ({', '.join(roles)}){where} created; store it now, it is not shown again:"
    )
    typer.echo(key)


@app.command("rotate")
def rotate(
    name: str = typer.Argument(..., help="The key's name."),
    grace: str = typer.Option("24h", "--grace", help="How long the old key keeps working (e.g. 24h)."),
) -> None:
    """Give a key a new secret, printed once on the last line; the old one works until the grace ends, so
    its users can switch without downtime (running gateways see the new key within 30 s)."""
    store, who, rule = _key_manager()
    key = store.access.rotate(name, _duration(grace, "--grace"), who, rule)
    err_console.print(f"API key '{name}' rotated; the old key works for {grace} more. The new key:")
    typer.echo(key)


@app.command("list")
def list_keys(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every key with its prefix, roles, workspace, expiry and whether it is revoked (never the key)."""
    keys = _key_manager()[0].access.keys()
    if as_json:
        print_json(
            [
                {
                    "name": k.name,
                    "prefix": k.prefix,
                    "roles": k.roles,
                    "workspace": k.workspace,
                    "owner": k.owner,
                    "scopes": k.scopes,
                    "created_at": k.created_at.isoformat(),
                    "expires_at": k.expires_at.isoformat() if k.expires_at else None,
                    "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                    "previous_until": k.previous_until.isoformat() if k.previous_until else None,
                }
                for k in keys
            ]
        )
        return
    table = Table("name", "prefix", "roles", "workspace", "created", "expires", "status")
    for k in keys:
        status = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        table.add_row(
            k.name,
            k.prefix + "…",
            ", ".join(k.roles),
            k.workspace or "",
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.expires_at:%Y-%m-%d %H:%M}" if k.expires_at else "",
            status,
        )
    console.print(table)


@app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The key's name.")) -> None:
    """Revoke a key (and its rotated-out secret); running gateways refuse it within 30 s."""
    store, who, rule = _key_manager()
    store.access.revoke(name, who, rule)
    console.print(f"API key '{name}' revoked")
