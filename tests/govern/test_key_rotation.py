"""Field encryption key rotation: a new key writes, old ciphertexts stay readable by their key id, the lake
is re-encrypted one atomic version per dataset, and a key is retired only once nothing uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from zhongtai.cli import context
from zhongtai.cli.app import app
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.encryption import decrypt, decrypt_array, encrypt
from zhongtai.govern.keys import PiiKeys, load_keys, retire_encryption_key, rotate_encryption_key

SECRET = "key rotation test master secret 0123456789abcdef"
ENV = {"ZT_PII_KEY": SECRET}


@pytest.mark.unit
def test_a_rotated_key_writes_and_the_old_one_still_reads(tmp_path: Path) -> None:
    before = load_keys(tmp_path, ENV)
    old = encrypt("张伟", before)
    new_id = rotate_encryption_key(tmp_path, before)
    after = load_keys(tmp_path, ENV)
    assert after.writing_key_id == new_id != before.key_id
    assert after.key_id == before.key_id and after.token_key == before.token_key  # tokens do not move
    fresh = encrypt("李娜", after)
    assert fresh is not None and fresh.startswith(f"enc:{new_id}:") and old is not None
    assert decrypt(old, after) == "张伟" and decrypt(fresh, after) == "李娜"
    assert (tmp_path / "pii.keyring").stat().st_mode & 0o777 == 0o600
    with pytest.raises(ZhongtaiError, match=f"encrypted under PII key {new_id}, but the key in use is"):
        decrypt(fresh, PiiKeys.from_secret(SECRET.encode()))  # without the keyring: named, not a bare error


@pytest.mark.unit
def test_retiring_is_refused_for_the_writing_key_and_while_ciphertexts_remain(tmp_path: Path) -> None:
    keys = load_keys(tmp_path, ENV)
    old = encrypt("张伟", keys)
    assert old is not None
    with pytest.raises(ZhongtaiError, match=f"PII key {keys.key_id} is the writing key"):
        retire_encryption_key(tmp_path, keys, keys.key_id, 0)
    rotate_encryption_key(tmp_path, keys)
    keys = load_keys(tmp_path, ENV)
    with pytest.raises(
        ZhongtaiError, match=f"1,234 ciphertexts in the lake are still encrypted under PII key {keys.key_id}"
    ):
        retire_encryption_key(tmp_path, keys, keys.key_id, 1234)
    with pytest.raises(ZhongtaiError, match="no PII key 00000000 is in use"):
        retire_encryption_key(tmp_path, keys, "00000000", 0)
    retire_encryption_key(tmp_path, keys, keys.key_id, 0)
    retired = load_keys(tmp_path, ENV)
    assert keys.key_id not in retired.readable_ids
    with pytest.raises(ZhongtaiError, match=f"encrypted under PII key {keys.key_id}, which was retired"):
        decrypt(old, retired)


SPECS = """\
sources:
  - {name: shop, type: sql, url: "SOURCE_URL"}
datasets:
  - name: crm
    source: shop
    table: crm
    primary_key: [id]
    fields:
      - {name: full_name, pii: name, storage: encrypted}
      - {name: mobile, pii: phone}
"""
NAMES = [f"王{'芳伟静磊'[k % 4]}{k}" for k in range(30)]


@pytest.fixture
def runner(zt_env, tmp_path, monkeypatch):
    """The CLI over a dataset with an encrypted name field, ingested under the master's key."""
    context.reset()
    monkeypatch.setenv("ZT_PII_KEY", SECRET)
    source = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    with source.begin() as conn:
        conn.execute(sa.text("CREATE TABLE crm (id INTEGER PRIMARY KEY, full_name TEXT, mobile TEXT)"))
        rows = [{"id": k, "name": n, "mobile": f"1380000{k:04d}"} for k, n in enumerate(NAMES)]
        conn.execute(sa.text("INSERT INTO crm VALUES (:id, :name, :mobile)"), rows)
    source.dispose()
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(SPECS.replace("SOURCE_URL", f"sqlite:///{tmp_path / 'source.db'}"))
    cli = CliRunner()
    for args in (["apply", str(project)], ["ingest", "crm"]):
        done = cli.invoke(app, args)
        assert done.exit_code == 0, f"{args}: {done.output}"
    yield cli
    context.reset()


def _run(runner, *args: str) -> dict | list:
    done = runner.invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def _names(version: int | None = None) -> list[str]:
    from zhongtai.lake.reader import read_table

    table = read_table(context.store(), context.lake(), "crm", version).sort_by("id")
    return decrypt_array(table["full_name__encrypted"], load_keys(context.settings().home)).to_pylist()


@pytest.mark.integration
def test_rotate_reencrypt_then_retire_through_the_cli(runner) -> None:
    old_id = _run(runner, "pii", "keys")["keys"][0]["key_id"]
    new_id = _run(runner, "pii", "rotate")["key_id"]
    keys = {k["key_id"]: k for k in _run(runner, "pii", "keys")["keys"]}
    assert keys[old_id]["ciphertexts"] == len(NAMES) and keys[new_id]["writing"]
    assert _names() == NAMES  # the old key's ciphertexts still read

    refused = runner.invoke(app, ["pii", "retire", old_id])
    assert refused.exit_code != 0
    assert (
        f"{len(NAMES)} ciphertexts in the lake are still encrypted under PII key {old_id}" in refused.output
    )

    [done] = _run(runner, "pii", "reencrypt")
    assert done == {"dataset": "crm", "version": 2, "rewritten": len(NAMES)}
    assert _names() == NAMES
    keys = {k["key_id"]: k for k in _run(runner, "pii", "keys")["keys"]}
    assert keys[old_id]["ciphertexts"] == 0 and keys[new_id]["ciphertexts"] == len(NAMES)
    assert _run(runner, "pii", "reencrypt") == [{"dataset": "crm", "version": None, "rewritten": 0}]

    assert _run(runner, "pii", "retire", old_id) == {"retired": old_id}
    assert _names() == NAMES
    with pytest.raises(ZhongtaiError, match=f"PII key {old_id}, which was retired"):
        _names(1)  # the version written before the rotation keeps the old key's ciphertexts
    # Tokens do not change with the encryption key: an unchanged source adds no version.
    assert runner.invoke(app, ["ingest", "crm"]).exit_code == 0
    assert context.store().current_version("crm").version == 2  # type: ignore[union-attr]


@pytest.mark.integration
def test_a_failed_reencryption_leaves_the_version_and_the_lake_as_they_were(runner, monkeypatch) -> None:
    import zhongtai.lake.rekey as rekey

    _run(runner, "pii", "rotate")
    before = set(context.lake().fs.find(context.lake().path()))

    def broken(values, keys):
        raise ZhongtaiError("pii_decrypt_failed", "a value does not authenticate")

    monkeypatch.setattr(rekey, "reencrypt_array", broken)
    failed = runner.invoke(app, ["pii", "reencrypt", "crm"])
    assert failed.exit_code != 0 and "a value does not authenticate" in failed.output
    assert context.store().current_version("crm").version == 1  # type: ignore[union-attr]
    assert set(context.lake().fs.find(context.lake().path())) == before  # nothing staged is left behind
    assert _names() == NAMES
