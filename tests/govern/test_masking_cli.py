"""Masking through the CLI: a local admin sees clear values, but a CLI user a policy denies `see_pii`
(named by ZT_PRINCIPAL) gets masks in `datasets preview`, `datasets export`, `oneid explain` and
`oneid person`; and the gateway's OneID routes over the same lake, for a reader and a steward key."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.identity.test_oneid_resolve import people, tables
from tests.lake.test_pii import IDENTITY
from zhongtai.cli import context
from zhongtai.cli.app import app

pytestmark = pytest.mark.integration

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
      - {name: mobile, pii: phone, storage: clear}
      - {name: id_number, pii: id_card}
  - name: orders
    source: shop
    table: orders
    primary_key: [order_id]
    fields:
      - {name: buyer_name, pii: name, storage: encrypted}
      - {name: buyer_phone, pii: phone, storage: clear}
policies:
  - name: pii_guard
    rules:
      - {name: audrey_sees_no_pii, principals: ["key:audrey"], actions: ["see_pii:*"], effect: deny}
      - {name: readers, principals: ["role:reader"], actions: [read_dataset]}
      - {name: stewards, principals: ["role:steward"], actions: ["see_pii:*"]}
"""
PHONE, MASKED = "13800000001", "138****0001"


@pytest.fixture
def runner(zt_env, tmp_path, monkeypatch):
    """The CLI over a project of two source tables with clear phones, ingested and resolved by OneID."""
    context.reset()
    monkeypatch.setenv("ZT_PII_KEY", "cli masking test master secret 0123456789abcdef")
    source = sa.create_engine(f"sqlite:///{tmp_path / 'source.db'}")
    data = tables(people(12))
    with source.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE crm (id INTEGER PRIMARY KEY, full_name TEXT, mobile TEXT, id_number TEXT, "
                "birth_date TEXT, city TEXT)"
            )
        )
        conn.execute(
            sa.text("CREATE TABLE orders (order_id TEXT PRIMARY KEY, buyer_name TEXT, buyer_phone TEXT)")
        )
        crm = [
            {
                "id": k,
                "name": r["full_name"],
                "mobile": r["mobile"],
                "idn": None,
                "birth": r["birth_date"],
                "city": r["city"],
            }
            for k, r in enumerate(data["crm"].to_pylist())
        ]
        conn.execute(sa.text("INSERT INTO crm VALUES (:id, :name, :mobile, :idn, :birth, :city)"), crm)
        conn.execute(
            sa.text("INSERT INTO orders VALUES (:order_id, :buyer_name, :buyer_phone)"),
            [
                {k: r[k] for k in ("order_id", "buyer_name", "buyer_phone")}
                for r in data["orders"].to_pylist()
            ],
        )
    source.dispose()
    project = tmp_path / "project"
    project.mkdir()
    (project / "specs.yaml").write_text(
        SPECS.replace("SOURCE_URL", f"sqlite:///{tmp_path / 'source.db'}") + IDENTITY
    )
    cli = CliRunner()
    for args in (["apply", str(project)], ["ingest", "crm"], ["ingest", "orders"], ["oneid", "run"]):
        done = cli.invoke(app, args)
        assert done.exit_code == 0, f"{args}: {done.output}"
    yield cli
    context.reset()


def _as(runner, monkeypatch, who: str, args: list[str]):
    monkeypatch.setenv("ZT_PRINCIPAL", who)
    context.reset()
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    return done


def test_preview_and_export_mask_for_a_denied_cli_user_only(runner, monkeypatch, tmp_path):
    masked = json.loads(
        _as(runner, monkeypatch, "audrey", ["datasets", "preview", "crm", "--json", "-n", "5"]).stdout
    )
    clear = json.loads(
        _as(runner, monkeypatch, "alice", ["datasets", "preview", "crm", "--json", "-n", "5"]).stdout
    )
    assert {r["id"]: r["mobile"] for r in clear}[1] == PHONE
    assert {r["id"]: r["mobile"] for r in masked}[1] == MASKED
    # A field stored encrypted is shown from its copy, decrypted, then masked by role; the copy never shows.
    assert all("full_name__encrypted" not in r for r in masked + clear)
    name = {r["id"]: r["full_name"] for r in clear}[1]
    assert not name.startswith("name:") and "*" not in name
    assert {r["id"]: r["full_name"] for r in masked}[1] == name[0] + "*"
    for fmt in ("csv", "jsonl", "parquet"):
        out = tmp_path / f"crm.{fmt}"
        _as(runner, monkeypatch, "audrey", ["datasets", "export", "crm", "--out", str(out)])
        data = str(pq.read_table(out).to_pylist()) if fmt == "parquet" else out.read_text()
        assert PHONE not in data and MASKED in data, fmt
    out = tmp_path / "clear.jsonl"
    _as(runner, monkeypatch, "alice", ["datasets", "export", "crm", "--out", str(out)])
    assert PHONE in out.read_text()


def test_oneid_explain_and_person_mask_for_a_denied_cli_user_only(runner, monkeypatch):
    pair = ["oneid", "explain", "crm:1", "orders:O1-0", "--json"]
    masked = json.loads(_as(runner, monkeypatch, "audrey", pair).stdout)
    clear = json.loads(_as(runner, monkeypatch, "alice", pair).stdout)
    assert {k["rule"]: k["value"] for k in clear["deterministic"]}["phone+name"] == PHONE
    assert {k["rule"]: k["value"] for k in masked["deterministic"]}["phone+name"] == MASKED
    person_id = clear["person_a"]
    shown = json.loads(_as(runner, monkeypatch, "audrey", ["oneid", "person", person_id, "--json"]).stdout)
    seen = json.loads(_as(runner, monkeypatch, "alice", ["oneid", "person", person_id, "--json"]).stdout)
    assert seen["golden"]["phone"] == PHONE and shown["golden"]["phone"] == MASKED
    name = people(12)[1]["name"]
    assert seen["golden"]["name"] == name and shown["golden"]["name"] == name[0] + "*"
    assert "crm:1" in shown["records"]
    assert PHONE not in json.dumps(shown, ensure_ascii=False)


def test_the_gateway_oneid_routes_mask_for_a_reader_and_not_for_a_steward(runner):
    import httpx

    from tests.gateway.conftest import start_gateway
    from zhongtai.config import Settings

    store = context.store()
    keys = {
        "reader": store.access.create_key("rita", ["reader"]),
        "steward": store.access.create_key("stan", ["reader", "steward"]),
    }
    running = start_gateway(Settings.from_env(), None, keys["reader"])  # type: ignore[arg-type]
    try:

        def get(who: str, path: str, **params: str) -> dict:
            headers = {"Authorization": f"Bearer {keys[who]}"}
            answer = httpx.get(running.url + path, params=params, headers=headers, timeout=120)
            assert answer.status_code == 200, answer.text
            return answer.json()

        pair = {"a": "crm:1", "b": "orders:O1-0"}
        masked, clear = (get(who, "/v1/oneid/person/explain", **pair) for who in ("reader", "steward"))
        assert {k["rule"]: k["value"] for k in masked["deterministic"]}["phone+name"] == MASKED
        assert {k["rule"]: k["value"] for k in clear["deterministic"]}["phone+name"] == PHONE
        path = f"/v1/oneid/person/persons/{clear['person_a']}"
        assert get("reader", path)["golden"]["phone"] == MASKED
        assert get("steward", path)["golden"]["phone"] == PHONE
    finally:
        running.stop()


def test_retiring_a_key_counts_the_ciphertexts_of_the_current_oneid_run(runner, monkeypatch):
    old_id = _as(runner, monkeypatch, "alice", ["pii", "rotate", "--json"])
    old = json.loads(old_id.stdout)["previous"]
    _as(runner, monkeypatch, "alice", ["pii", "reencrypt"])
    keys = json.loads(_as(runner, monkeypatch, "alice", ["pii", "keys", "--json"]).stdout)["keys"]
    where = next(k["where"] for k in keys if k["key_id"] == old)
    # The datasets were re-encrypted; OneID's sealed names wait for its next run.
    assert where and all(place.startswith("OneID run person/") for place in where)
    refused = runner.invoke(app, ["pii", "retire", old])
    assert refused.exit_code != 0
    assert f"{sum(where.values()):,} ciphertexts in the lake are still encrypted under PII key {old}" in (
        refused.output
    )
    _as(runner, monkeypatch, "alice", ["oneid", "run"])
    assert json.loads(_as(runner, monkeypatch, "alice", ["pii", "retire", old, "--json"]).stdout) == {
        "retired": old
    }


DENY_POLICY = """\
policies:
  - name: log_guard
    rules:
      - name: audrey_sees_no_pii_nor_why
        principals: ["key:audrey"]
        actions: ["see_pii:phone", see_explanation]
        effect: deny
"""


def test_the_decision_log_masks_and_drops_the_explanation_for_a_denied_cli_user(
    zt_env, tmp_path, monkeypatch
):
    import uuid
    from datetime import UTC, datetime

    from zhongtai.meta.records import DecisionRecord

    context.reset()
    project = tmp_path / "policy"
    project.mkdir()
    (project / "policies.yaml").write_text(DENY_POLICY)
    cli = CliRunner()
    assert cli.invoke(app, ["apply", str(project)]).exit_code == 0
    decision_id = str(uuid.uuid4())
    record = DecisionRecord(
        id=decision_id,
        at=datetime.now(UTC),
        capability="churn-risk",
        principal="crm",
        model_name="churn",
        model_version=1,
        decision="watch",
        score=0.4,
        fallback=False,
        inputs={"customer_id": "7", "note": f"call {PHONE}"},
        features={"orders_90d": 3, "contact": PHONE},
        latency_ms=1.0,
    )
    context.store().decisions.append([record])
    clear = json.loads(_as(cli, monkeypatch, "alice", ["decisions", "show", decision_id, "--json"]).stdout)
    masked = json.loads(_as(cli, monkeypatch, "audrey", ["decisions", "show", decision_id, "--json"]).stdout)
    assert clear["inputs"]["note"] == f"call {PHONE}" and clear["explanation"]["features"]["contact"] == PHONE
    assert masked["inputs"]["note"] == f"call {MASKED}" and "explanation" not in masked
    listed = _as(cli, monkeypatch, "audrey", ["decisions", "list", "--json"]).stdout
    assert [d["id"] for d in json.loads(listed)] == [decision_id] and PHONE not in listed
    missing = cli.invoke(app, ["decisions", "show", "nope"])
    assert missing.exit_code != 0 and "no decision 'nope' is in the log" in missing.output
    context.reset()
