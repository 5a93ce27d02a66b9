"""The dataset, lineage-graph and person routes over a real gateway: paging, the columns a preview is asked
for, quarantined rows and source rows masked by role, decisions about a person filtered in SQL, and 403s for
a role without the grant."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.console.data_world import MASKED_PHONE, PHONE, DataWorld, data_world

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[DataWorld]:
    with data_world(tmp_path_factory.mktemp("data_routes")) as built:
        yield built


def _get(world: DataWorld, who: str, path: str, **params) -> httpx.Response:
    headers = {"Authorization": f"Bearer {world.keys[who]}"}
    return httpx.get(world.api + path, params=params, headers=headers, timeout=60)


def test_search_pages_and_narrows_by_kind(world):
    first = _get(world, "analyst", "/v1/catalog/search", kind="dataset", limit=2).json()
    second = _get(world, "analyst", "/v1/catalog/search", kind="dataset", limit=2, offset=2).json()
    assert first["total"] == 6 and len(first["results"]) == 2 and len(second["results"]) == 2
    assert {r["kind"] for r in first["results"] + second["results"]} == {"dataset"}
    assert not {r["name"] for r in first["results"]} & {r["name"] for r in second["results"]}
    views = _get(world, "admin", "/v1/catalog/search", kind="feature_view", q="person").json()
    assert [(v["name"], v["entity"]) for v in views["results"]] == [("person_orders", "person")]
    assert _get(world, "admin", "/v1/catalog/search", kind="policy").status_code == 422


def test_fields_page_a_wide_table_and_filter_pii(world):
    page = _get(world, "analyst", "/v1/datasets/wide_events/fields", offset=290, limit=50).json()
    assert page["total"] == 300
    assert [f["name"] for f in page["fields"]] == [f"event_{i}" for i in range(290, 300)]
    pii = _get(world, "analyst", "/v1/datasets/crm_customers/fields", pii="true").json()
    assert [f["name"] for f in pii["fields"]] == ["full_name", "mobile", "email"]
    assert _get(world, "analyst", "/v1/datasets/nope/fields").status_code == 404


def test_preview_returns_only_the_columns_asked(world):
    answer = _get(
        world, "analyst", "/v1/datasets/wide_events/preview", columns=["event_299", "visitor"], limit=3
    )
    body = answer.json()
    assert list(body["rows"][0]) == ["visitor", "event_299"] and len(body["columns"]) == 300
    unknown = _get(world, "analyst", "/v1/datasets/wide_events/preview", columns=["nope"])
    assert (
        unknown.status_code == 422
        and unknown.json()["message"] == "dataset 'wide_events' has no column 'nope'"
    )


def test_quality_masks_quarantined_rows_by_role(world):
    analyst = _get(world, "analyst", "/v1/datasets/crm_customers/quality").json()
    steward = _get(world, "steward", "/v1/datasets/crm_customers/quality").json()
    assert analyst["rows_quarantined"] == 1 and analyst["rules"][0]["rule"] == "city.accepted_values"
    assert (
        analyst["samples"][0]["mobile"] == "137****0000" and steward["samples"][0]["mobile"] == "13700000000"
    )
    assert "quarantine_files" not in analyst
    assert _get(world, "caller", "/v1/datasets/crm_customers/quality").status_code == 403


def test_versions_newest_first(world):
    versions = _get(world, "analyst", "/v1/datasets/crm_customers/versions").json()["versions"]
    assert [v["version"] for v in versions] == [1] and versions[0]["rows"] == 12


def test_the_lineage_graph_whole_and_around_a_root(world):
    whole = _get(world, "analyst", "/v1/lineage").json()
    chain = _get(world, "analyst", "/v1/lineage", root="dataset:crm_orders").json()
    names = {n["name"] for n in chain["nodes"]}
    assert chain["root"] == {"kind": "dataset", "name": "crm_orders"}
    assert {"shop", "crm_orders", "person", "person_crosswalk", "repeat_buyer"} <= names
    assert "wide_events" not in names and "wide_events" in {n["name"] for n in whole["nodes"]}
    shown = {(n["kind"], n["name"]) for n in whole["nodes"]}
    assert all(
        (e["from"]["kind"], e["from"]["name"]) in shown and (e["to"]["kind"], e["to"]["name"]) in shown
        for e in whole["edges"]
    )
    assert _get(world, "caller", "/v1/lineage").status_code == 403
    assert _get(world, "analyst", "/v1/lineage", root="nope").status_code == 404


def test_a_record_finds_its_person_and_source_rows_are_masked_by_role(world):
    found = _get(world, "analyst", "/v1/oneid/person/records/crm_orders:O0-0").json()
    assert found["person_id"] == world.person
    path = f"/v1/oneid/person/persons/{world.person}/records"
    analyst, steward = _get(world, "analyst", path), _get(world, "steward", path)
    rows = {s["dataset"]: s["rows"] for s in analyst.json()["sources"]}
    assert rows["crm_customers"][0]["mobile"] == MASKED_PHONE and PHONE not in analyst.text
    clear = {s["dataset"]: s["rows"] for s in steward.json()["sources"]}
    assert clear["crm_customers"][0]["mobile"] == PHONE
    missing = _get(world, "analyst", "/v1/oneid/person/records/crm_orders:nope")
    assert missing.status_code == 404 and "crm_orders:nope" in missing.json()["message"]
    assert _get(world, "caller", path).status_code == 403


def test_tags_with_history_and_decisions_about_a_person(world):
    def history(person: str) -> list[tuple[str, bool, list[str]]]:
        tags = _get(world, "steward", f"/v1/oneid/person/persons/{person}/tags").json()["tags"]
        return [(t["tag"], t["carried"], [e["event"] for e in t["events"]]) for t in tags]

    assert history(world.second) == [("repeat_buyer", True, ["gained"]), ("vip", True, ["gained"])]
    assert history(world.person) == [("repeat_buyer", False, []), ("vip", False, ["gained", "lost"])]
    decided = _get(world, "admin", f"/v1/oneid/person/persons/{world.person}/decisions").json()["decisions"]
    assert len(decided) == 2 and {d["inputs"]["person_id"] for d in decided} == {world.person}
    assert _get(world, "analyst", f"/v1/oneid/person/persons/{world.person}/decisions").status_code == 403
    listed = _get(world, "analyst", "/v1/oneid").json()["identities"]
    assert [i["name"] for i in listed] == ["person"]


def test_golden_records_preview_opened_for_a_steward_masked_for_an_analyst(world):
    steward = _get(world, "steward", "/v1/datasets/person_golden/preview", limit=20)
    analyst = _get(world, "analyst", "/v1/datasets/person_golden/preview", limit=20)
    names = {r["person_id"]: r["name"] for r in steward.json()["rows"]}
    assert names[world.person] == "王伟敏" and "enc:" not in steward.text
    masked = {r["person_id"]: r["name"] for r in analyst.json()["rows"]}
    assert masked[world.person] == "王*" and "王伟敏" not in analyst.text
