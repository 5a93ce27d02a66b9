"""The CLI shows what the lake holds: tokens in `datasets preview`, storage in `catalog show`, warnings for
detected PII no spec declares, and a key file made on first use when ZT_PII_KEY is unset."""

from __future__ import annotations

import json
import stat

import pytest

from tests.cli.project import applied_project
from zhongtai.cli import context

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {{name: files, type: files, url: "{folder}"}}
datasets:
  - name: contacts
    source: files
    path: contacts.csv
    primary_key: [id]
    fields:
      - {{name: mobile, pii: phone}}
      - {{name: full_name, pii: name, storage: encrypted}}
"""


@pytest.fixture
def cli(zt_env, tmp_path, monkeypatch):
    monkeypatch.delenv("ZT_PII_KEY")  # the key file under ZT_HOME, as a first-time user has it
    rows = [f"{k},+86 138 0000 {k:04d},王芳{k},139-0000-{k:04d}" for k in range(20)]
    yield from applied_project(tmp_path, SPECS, "id,mobile,full_name,backup\n" + "\n".join(rows) + "\n")


def test_preview_shows_tokens_and_opens_encrypted_copies_only_for_who_may_see_them(cli, zt_env) -> None:
    ingested = cli("ingest", "contacts")
    assert ingested.exit_code == 0, ingested.output
    # `backup` holds phones the spec does not declare: stored in clear, and the ingest says so
    assert "field 'backup' looks like phone" in ingested.output.replace("\n", " ")
    key_file = context.settings().home / "pii.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() not in ingested.output
    preview = cli("datasets", "preview", "contacts", "--json")
    rows = json.loads(preview.stdout)
    # A token-only field stays a token for everyone; a field stored encrypted is read from its copy, in clear
    # for the local admin (who may see every class), and the copy column itself never shows.
    assert rows[0]["mobile"].startswith("phone:") and rows[0]["full_name"] == "王芳0"
    assert "full_name__encrypted" not in rows[0] and "enc:" not in preview.stdout
    assert "13800000000" not in preview.stdout
    shown = json.loads(cli("catalog", "show", "contacts", "--json").stdout)
    storage = {f["name"]: (f["pii"], f["storage"]) for f in shown["fields"]}
    assert storage["mobile"] == ("phone", "token") and storage["full_name"] == ("name", "encrypted")
    assert storage["backup"] == ("phone", "clear")
    assert len(shown["pii_key"]) == 8
