"""Masking by role through a real gateway, under the retail policy: an analyst sees masked phones, a steward
clear ones — in dataset previews, online features and the decision log (whose explanation only a reader
allowed `see_explanation` gets at all)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from tests.capabilities.world import World
from tests.conftest import TEST_PII_SECRET
from tests.gateway.conftest import RunningGateway, served_world
from zhongtai.govern.keys import load_keys
from zhongtai.lake.ingest import ingest
from zhongtai.meta.records import DecisionRecord
from zhongtai.scenarios.retail.project import policy_document
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration

PHONE, MASKED_PHONE = "13812345678", "138****5678"
CONTACTS = f"""id,mobile,full_name,email,note
1,{PHONE},张伟,li.min@qq.com,请回电 {PHONE}
2,13900001111,欧阳娜娜,nana@163.com,no phone here
"""
SPECS = """\
sources:
  - {name: drop, type: files, url: "DROP"}
datasets:
  - name: crm_contacts
    source: drop
    path: contacts.csv
    primary_key: [id]
    fields:
      - {name: mobile, pii: phone, storage: encrypted}
      - {name: full_name, pii: name, storage: encrypted}
      - {name: email, pii: email, storage: clear}
feature_views:
  - name: customer_contact
    entity: customer
    sql: SELECT CAST(id AS VARCHAR) AS customer_id, now() AS ts, mobile AS contact_phone FROM crm_contacts
    features:
      - {name: contact_phone, type: string}
policies:
  - name: readers
    rules:
      - {name: readers, principals: ["role:reader"], actions: [read_features, read_audit]}
"""


def _prepare(world: World, keys: dict[str, str]) -> None:
    """The contacts dataset (phones and names stored encrypted as the retail project does, e-mails clear), the retail policy, an online text feature and a
    logged decision, then one key per role."""
    root = Path(world.storage.url).parent
    drop = root / "drop"
    drop.mkdir(exist_ok=True)
    (drop / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    folder = root / "project"
    (folder / "masking.yaml").write_text(SPECS.replace("DROP", str(drop)), encoding="utf-8")
    retail = yaml.safe_dump({"policies": [policy_document()]}, allow_unicode=True)
    (folder / "retail_policy.yaml").write_text(retail, encoding="utf-8")
    apply_plan(build_plan(load_project(folder), world.store), world.store)
    ingest(
        world.store,
        world.storage,
        "crm_contacts",
        pii_keys=load_keys(world.settings.home, {"ZT_PII_KEY": TEST_PII_SECRET}),
    )
    world.online.write("customer_contact", [("1000", {"contact_phone": f"tel {PHONE}"})])
    world.store.decisions.append([_decision()])
    keys["analyst"] = world.store.access.create_key("ana", ["analyst", "reader"])
    keys["steward"] = world.store.access.create_key("ste", ["steward", "reader"])
    keys["app"] = world.store.access.create_key("app", ["app", "reader"])


DECISION_ID = str(uuid.uuid4())


def _decision() -> DecisionRecord:
    return DecisionRecord(
        id=DECISION_ID,
        at=datetime.now(UTC),
        capability="churn-risk",
        principal="crm",
        model_name="churn",
        model_version=1,
        decision="watch",
        score=0.4,
        fallback=False,
        inputs={"customer_id": "1000", "context": {"callback": PHONE}},
        features={"orders_90d": 3, "contact_phone": PHONE},
        latency_ms=1.0,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[RunningGateway, dict[str, str]]]:
    tmp_path = tmp_path_factory.mktemp("masking")
    keys: dict[str, str] = {}
    with served_world(
        tmp_path, f"sqlite:///{tmp_path / 'online.db'}", prepare=lambda w: _prepare(w, keys)
    ) as running:
        yield running, keys


def _get(served, who: str, path: str, **params) -> httpx.Response:
    running, keys = served
    return httpx.get(
        running.url + path, params=params, headers={"Authorization": f"Bearer {keys[who]}"}, timeout=60
    )


def test_an_analyst_previews_masked_phones_and_a_steward_clear_ones(served):
    analyst = _get(served, "analyst", "/v1/datasets/crm_contacts/preview")
    steward = _get(served, "steward", "/v1/datasets/crm_contacts/preview")
    assert analyst.status_code == 200 and steward.status_code == 200, analyst.text + steward.text
    seen = {r["id"]: r for r in analyst.json()["rows"]}
    assert seen[1]["mobile"] == MASKED_PHONE and seen[1]["full_name"] == "张*"
    assert seen[1]["email"] == "l***@qq.com" and seen[2]["mobile"] == "139****1111"
    assert analyst.json()["masked"] == ["email", "full_name", "mobile"]
    assert seen[1]["note"] == f"请回电 {MASKED_PHONE}"  # undeclared text: masked span by span
    assert PHONE not in analyst.text and "13900001111" not in analyst.text
    clear = {r["id"]: r for r in steward.json()["rows"]}
    assert str(clear[1]["mobile"]) == PHONE and clear[1]["full_name"] == "张伟"
    assert steward.json()["masked"] == []


def test_an_export_streams_every_row_masked_for_an_analyst_clear_for_a_steward(served):
    analyst = _get(served, "analyst", "/v1/datasets/crm_contacts/export")
    steward = _get(served, "steward", "/v1/datasets/crm_contacts/export")
    assert analyst.status_code == 200 and analyst.headers["content-type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in analyst.text.splitlines()]
    assert sorted(r["mobile"] for r in rows) == [MASKED_PHONE, "139****1111"]
    assert PHONE not in analyst.text and PHONE in steward.text


def test_the_crm_wall_masks_even_a_steward_of_another_department(served):
    running, keys = served
    keys["walled"] = running.world.store.access.create_key("mkt", ["steward"], workspace="marketing")
    answer = _get(served, "walled", "/v1/datasets/crm_contacts/preview")
    # The wall denies read_dataset on the CRM's tables outright: no rows at all, masked or not.
    assert answer.status_code == 403 and "crm_wall" in answer.json()["message"]


def test_online_features_mask_phones_for_an_analyst_not_for_a_steward(served):
    body = {"entities": ["1000"], "views": ["customer_contact"]}
    running, keys = served
    answers = {
        who: httpx.post(
            f"{running.url}/v1/features/online",
            json=body,
            headers={"Authorization": f"Bearer {keys[who]}"},
            timeout=60,
        )
        for who in ("analyst", "steward")
    }
    assert answers["analyst"].status_code == 200, answers["analyst"].text
    values = answers["analyst"].json()["results"][0]["values"]["customer_contact"]
    assert values["contact_phone"] == f"tel {MASKED_PHONE}"
    assert answers["steward"].json()["results"][0]["values"]["customer_contact"]["contact_phone"] == (
        f"tel {PHONE}"
    )


def test_the_decision_log_masks_for_an_analyst_and_renders_no_explanation_without_the_grant(served):
    analyst = _get(served, "analyst", f"/v1/decisions/{DECISION_ID}")
    steward = _get(served, "steward", f"/v1/decisions/{DECISION_ID}")
    app = _get(served, "app", f"/v1/decisions/{DECISION_ID}")
    assert analyst.status_code == 200, analyst.text
    assert analyst.json()["inputs"]["context"]["callback"] == MASKED_PHONE
    assert steward.json()["inputs"]["context"]["callback"] == PHONE
    # Neither analyst nor steward may see_explanation on churn-risk: the key is not there at all.
    assert "explanation" not in analyst.json() and "explanation" not in steward.json()
    assert "contact_phone" not in analyst.text and "orders_90d" not in analyst.text
    # The apps may see explanations, but not PII: the factor values come masked.
    assert app.json()["explanation"]["features"] == {"orders_90d": 3, "contact_phone": MASKED_PHONE}
    listed = _get(served, "analyst", "/v1/decisions", capability="churn-risk")
    assert [d["id"] for d in listed.json()["decisions"]] == [DECISION_ID]
    assert PHONE not in listed.text


def test_an_unknown_decision_is_a_404_naming_it(served):
    answer = _get(served, "analyst", "/v1/decisions/nope")
    assert answer.status_code == 404 and answer.json()["message"] == "no decision 'nope' is in the log"
