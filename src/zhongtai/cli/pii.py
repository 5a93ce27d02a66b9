"""`zhongtai pii`: the field encryption keys — list them with what each still encrypts, rotate, re-encrypt
the lake under the writing key, retire a key nothing uses (docs/pii.md).

Every command is `manage_keys`, checked by the policy engine the gateway uses (govern/policy.py). Tokens are
not affected: they come from the master secret, which does not rotate here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from zhongtai.cli import context
from zhongtai.cli.output import console, print_json, progress

if TYPE_CHECKING:
    from zhongtai.govern.keys import PiiKeys

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")


@app.callback()
def _group() -> None:
    """Field encryption keys: rotate, re-encrypt the lake, retire."""


def _keys() -> PiiKeys:
    from zhongtai.govern.keys import load_keys
    from zhongtai.govern.policy import require_cli

    require_cli(context.store(), "manage_keys")
    return load_keys(context.settings().home)


@app.command("keys")
def list_keys(as_json: bool = JSON) -> None:
    """Each field encryption key: whether it writes, and how many ciphertexts it still encrypts where."""
    from zhongtai.lake.rekey import ciphertext_census

    keys = _keys()
    census = ciphertext_census(context.store(), context.lake())
    found: list[dict[str, Any]] = [
        {
            "key_id": key_id,
            "writing": key_id == keys.writing_key_id,
            "ciphertexts": sum(census.get(key_id, {}).values()),
            "where": dict(census.get(key_id, {})),
        }
        for key_id in keys.readable_ids
    ]
    unknown = sorted(set(census) - set(keys.readable_ids))
    if as_json:
        print_json({"keys": found, "unreadable": {k: dict(census[k]) for k in unknown}})
        return
    table = Table("key id", "writing", "ciphertexts", "where")
    for k in found:
        where = ", ".join(f"{place} ({n:,})" for place, n in k["where"].items())
        table.add_row(k["key_id"], "yes" if k["writing"] else "", f"{k['ciphertexts']:,}", where)
    console.print(table)
    for key_id in unknown:
        console.print(
            f"[yellow]warning[/yellow] {sum(census[key_id].values()):,} ciphertexts name key {key_id}, which is not held"
        )


@app.command("rotate")
def rotate(as_json: bool = JSON) -> None:
    """Add a new random field encryption key and make it the writing key; every older key stays readable.
    Back up ZT_HOME/pii.keyring with the master secret: values written under its keys need it."""
    from zhongtai.govern.keys import rotate_encryption_key

    keys = _keys()
    key_id = rotate_encryption_key(context.settings().home, keys)
    if as_json:
        print_json({"key_id": key_id, "previous": keys.writing_key_id})
        return
    console.print(
        f"PII key {key_id} now writes (was {keys.writing_key_id}); run `zhongtai pii reencrypt` to rewrite "
        "the lake's ciphertexts under it"
    )


@app.command("reencrypt")
def reencrypt(
    name: str | None = typer.Argument(None, help="Only this dataset (default: every dataset)."),
    as_json: bool = JSON,
) -> None:
    """Rewrite every ciphertext written under an older key under the writing key: one new version per
    dataset that has any, each committed atomically (a failure leaves that dataset's version as it was)."""
    from zhongtai.lake.rekey import reencrypt_dataset, reencrypt_lake

    keys = _keys()
    store, lake = context.store(), context.lake()
    with progress() as bar:

        def on_dataset(dataset: str, rows: int) -> Callable[[int], None]:
            task = bar.add_task(dataset, total=rows, detail="")
            return lambda done: bar.update(task, advance=done)

        if name is None:
            done = reencrypt_lake(store, lake, keys, on_dataset)
        else:
            store.dataset_spec(name)  # an unknown name fails before any work starts
            current = store.current_version(name)
            done = [
                reencrypt_dataset(store, lake, name, keys, on_dataset(name, current.rows if current else 0))
            ]
    if as_json:
        print_json([d.to_dict() for d in done])
        return
    for d in done:
        if d.version is None:
            console.print(f"{d.dataset}: nothing under an older key")
        else:
            console.print(f"{d.dataset}: {d.rewritten:,} ciphertexts re-encrypted, version {d.version}")


@app.command("retire")
def retire(key_id: str = typer.Argument(..., help="The key id to retire."), as_json: bool = JSON) -> None:
    """Retire a key: refused while it writes or while any ciphertext in the current versions or OneID runs
    uses it (the message says how many). Older versions' ciphertexts under it can no longer be read."""
    from zhongtai.govern.keys import retire_encryption_key
    from zhongtai.lake.rekey import ciphertext_census

    keys = _keys()
    remaining = sum(ciphertext_census(context.store(), context.lake()).get(key_id, {}).values())
    retire_encryption_key(context.settings().home, keys, key_id, remaining)
    if as_json:
        print_json({"retired": key_id})
        return
    console.print(f"PII key {key_id} retired")
