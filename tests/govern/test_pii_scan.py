"""No PII where none may be: the security bench's scan (bench/security_pii.py) over a small served demo that
was sent its curls, hostile requests carrying real customers' phones, e-mails, ID numbers and names, and two
failing ingests; every log, the metadata store's text and the home's own files hold none of those values and
no API key."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import security_demo  # noqa: E402
import security_pii  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def flow(tmp_path_factory) -> Iterator[tuple[Path, security_pii.Needles, dict[str, int], list[int]]]:
    """The demo served, attacked and stopped: its run folder, the needles, and the statuses it got."""
    from zhongtai.config import Settings
    from zhongtai.meta.store import MetadataStore

    folder = tmp_path_factory.mktemp("pii_scan")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZT_")} | {"ZT_HOME": str(folder / "home")}
    processes = security_demo.Processes(folder, env)
    try:
        demo = security_demo.start_demo(processes, 300)
        assert security_demo.run_curls(demo) == [200] * len(demo.curls)
        admin = security_demo.create_admin_key(processes, demo)
        store = MetadataStore(Settings.from_env({"ZT_HOME": str(demo.home)}).metadata_url)
        try:
            needles = security_pii.source_values(store)
        finally:
            store.close()
        needles.secrets.update(demo.secrets)
        hostile = security_demo.hostile_requests(demo, admin, needles)
        ingests = security_demo.ingest_errors(processes, demo, needles)
        processes.stop("demo")
    finally:
        processes.stop_all()
    yield folder, needles, hostile, ingests


def _logs(folder: Path) -> list[Path]:
    # Not the demo's curls nor `keys create`'s last line: the two places a key is printed on purpose.
    return [p for p in sorted(folder.glob("*.*")) if p.suffix in (".out", ".err")]


def test_the_demo_leaves_no_pii_and_no_key_where_none_may_be(flow):
    folder, needles, hostile, ingests = flow
    assert len(needles.values) > 300 and len(needles.names) > 100
    assert {k for k in needles.values.values()} >= {"phone", "email", "id_card"}
    assert all(status < 500 for status in hostile.values()), hostile
    assert hostile["pii in feedback"] == 200 and hostile["pii in context"] == 200, hostile
    assert ingests[0] != 0  # the row whose birth date is a phone number fails its ingest
    logs = [p for p in _logs(folder) if p.name not in ("demo.out", "keys-create.out")]
    assert any(p.name == "demo.err" for p in logs)
    findings = security_pii.scan_home(folder / "home", needles, logs)
    assert [f"{f.where}: {f.kind}" for f in findings if not f.free_text_name] == []
    # Names callers put in kept inputs stay (no recognizer finds a name): only where inputs are kept.
    kept = {f.where.split(" rowid")[0] for f in findings if f.free_text_name}
    assert kept <= {"metadata.db decisions.inputs", "metadata.db feedback.comment"}


def test_the_scan_finds_a_value_and_a_key_and_says_where_but_not_what(flow, tmp_path):
    folder, needles, _, _ = flow
    phone = next(v for v, kind in needles.values.items() if kind == "phone")
    name = next(iter(needles.names))
    key = next(iter(needles.secrets))
    leaky = tmp_path / "leaky.log"
    escaped = json.dumps({"note": f"用户{name}"})  # as a JSON column keeps it, in escapes
    leaky.write_text(f"all well\ncustomer {phone} called\n用户{name}投诉\nkey={key}\n{escaped}\n")
    findings = security_pii.scan_files([leaky], needles, tmp_path)
    assert [(f.where, f.kind) for f in findings] == [
        ("leaky.log:2", "phone"),
        ("leaky.log:3", "name"),
        ("leaky.log:4", "api key (demo)"),
        ("leaky.log:5", "name"),
    ]
    # The demo's own stdout prints the keys in its curls and its console line, on purpose: the scan sees them.
    printed = security_pii.scan_files([folder / "demo.out"], needles, folder)
    assert {f.kind for f in printed} == {"api key (demo)", "api key (demo console)"}


def test_a_source_value_its_column_type_cannot_read_is_a_source_error_that_quotes_no_value(tmp_path):
    # Found by the bench: a phone number in a SQLite DATE column was a traceback out of `zhongtai ingest`.
    import sqlalchemy as sa

    from zhongtai.connect.base import open_connector
    from zhongtai.errors import SourceError
    from zhongtai.spec.models import DatasetSpec, SqlSource

    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, born DATE)"))
        connection.execute(sa.text("INSERT INTO customers VALUES (1, '1990-01-01'), (2, 13912345678)"))
    engine.dispose()
    connector = open_connector(SqlSource(name="crm", type="sql", url=url), {})
    try:
        dataset = DatasetSpec(name="crm_customers", source="crm", table="customers")
        with pytest.raises(
            SourceError, match="a row holds a value its column's declared type cannot read"
        ) as e:
            list(connector.read(dataset, None))
    finally:
        connector.close()
    assert "13912345678" not in str(e.value) and "13912345678" not in (e.value.hint or "")


def test_a_feedback_comment_is_kept_without_the_phones_emails_and_ids_in_it(tmp_path):
    # Found by the bench: a comment was stored as sent, a customer's phone, e-mail and ID number in clear.
    import httpx

    from tests.gateway.conftest import served_world

    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}", key=("crm", ["admin"])) as gateway:
        headers = {"Authorization": f"Bearer {gateway.key}"}
        decided = httpx.post(
            f"{gateway.url}/v1/capabilities/churn-risk/decide", json={"customer_id": 1}, headers=headers
        ).json()
        url = f"{gateway.url}/v1/decisions/{decided['decision_id']}/feedback"
        comment = "客户手机13912345678，邮箱li.hua@example.com，身份证110101199003071233，已流失"
        deadline = time.monotonic() + 30
        while (
            answer := httpx.post(
                url, json={"kind": "churned", "value": True, "comment": comment}, headers=headers
            )
        ).status_code == 404:
            assert time.monotonic() < deadline, "the decision was never logged"
            time.sleep(0.1)
        assert answer.status_code == 200, answer.text
        kept = gateway.world.store.feedback.get(decided["decision_id"], "churned")
    assert kept.comment == "客户手机[phone]，邮箱[email]，身份证[id_card]，已流失"
