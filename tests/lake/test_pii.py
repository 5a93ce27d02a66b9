"""PII in the lake: tokens by default, encrypted copies where the spec asks, nothing in clear on disk, and
OneID still linking the same person across systems through the tokens."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import yaml

from tests.identity.test_oneid_resolve import people, tables
from zhongtai.catalog.classify import classify_fields, undeclared_pii
from zhongtai.catalog.entries import dataset_entry
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.encryption import decrypt_array
from zhongtai.govern.keys import PiiKeys, load_keys
from zhongtai.govern.protection import storage_notes
from zhongtai.govern.tokens import tokenize
from zhongtai.identity.config import OneIDConfig, SourceConfig
from zhongtai.identity.explain import explain
from zhongtai.identity.run import read_output, run_oneid
from zhongtai.lake.ingest import ingest
from zhongtai.lake.reader import read_table
from zhongtai.spec.models import spec_payload
from zhongtai.spec.project import load_project

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
      - {name: mobile, pii: phone, clean: [phone], checks: [{regex: "^1[3-9][0-9]{9}$"}]}
      - {name: id_number, pii: id_card, checks: [{regex: "^[0-9]{17}[0-9X]$"}]}
  - name: orders
    source: shop
    table: orders
    primary_key: [order_id]
    fields:
      - {name: buyer_name, pii: name, storage: encrypted}
      - {name: buyer_phone, pii: phone}
"""
PHONE, ID_NUMBER, NAME = "13912345678", "11010519491231002X", "欧阳修远"
QUARANTINED_PHONE = "13700001111"


def _id_number(prefix: str) -> str:
    """A resident ID number with its GB 11643 check character."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return prefix + "10X98765432"[sum(int(d) * w for d, w in zip(prefix, weights, strict=True)) % 11]


@pytest.fixture
def shop(lake_bench):
    lake_bench.sql("CREATE TABLE crm (id INTEGER PRIMARY KEY, full_name TEXT, mobile TEXT, id_number TEXT)")
    lake_bench.sql("CREATE TABLE orders (order_id TEXT PRIMARY KEY, buyer_name TEXT, buyer_phone TEXT)")
    crm = [{"id": 1, "name": NAME, "mobile": f"+86 {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}", "idn": ID_NUMBER}]
    crm += [
        {
            "id": k,
            "name": f"王{'芳伟静磊'[k % 4]}{k}",
            "mobile": f"1380000{k:04d}",
            "idn": _id_number(f"3101011980010{k:04d}"),
        }
        for k in range(2, 8)
    ]
    # Fails the id_number check: quarantined, with a phone that must not be readable there either.
    crm.append({"id": 9, "name": "李四", "mobile": QUARANTINED_PHONE, "idn": "not an id"})
    lake_bench.sql("INSERT INTO crm VALUES (:id, :name, :mobile, :idn)", crm)
    orders = [
        {"o": "O1", "name": f"{NAME[:2]} {NAME[2:]}", "phone": PHONE},
        {"o": "O2", "name": "王芳2", "phone": "138 0000 0002"},
        {"o": "O3", "name": "赵六", "phone": "13600009999"},
    ]
    lake_bench.sql("INSERT INTO orders VALUES (:o, :name, :phone)", orders)
    lake_bench.apply(SPECS)
    return lake_bench


def _keys(bench) -> PiiKeys:
    return load_keys(bench.project)  # ZT_PII_KEY is set for every test (tests/conftest.py)


def test_lake_holds_tokens_and_encrypted_copies_only(shop) -> None:
    crm = ingest(shop.store, shop.lake, "crm")
    ingest(shop.store, shop.lake, "orders")
    assert (crm.rows, crm.rows_quarantined) == (7, 1)
    keys = _keys(shop)
    rows = {r["id"]: r for r in read_table(shop.store, shop.lake, "crm").to_pylist()}  # what preview shows
    assert rows[1]["mobile"] == tokenize(PHONE, "phone", keys)
    assert rows[1]["id_number"] == tokenize(ID_NUMBER, "id_card", keys)
    assert rows[1]["full_name"] == tokenize(NAME, "name", keys)
    # the same phone and name written differently by the order system: the same tokens, so SQL joins them
    order = read_table(shop.store, shop.lake, "orders").to_pylist()[0]
    assert (order["buyer_phone"], order["buyer_name"]) == (rows[1]["mobile"], rows[1]["full_name"])
    table = read_table(shop.store, shop.lake, "crm")
    clear = dict(
        zip(
            table["id"].to_pylist(),
            decrypt_array(table["full_name__encrypted"], keys).to_pylist(),
            strict=True,
        )
    )
    assert clear[1] == NAME
    storage = {f["name"]: f["storage"] for f in dataset_entry(shop.store, "crm").fields}
    assert storage == {
        "id": "clear",
        "full_name": "encrypted",
        "full_name__encrypted": "ciphertext",
        "mobile": "token",
        "id_number": "token",
    }


def test_no_clear_pii_in_any_lake_file_or_quality_record(shop) -> None:
    ingest(shop.store, shop.lake, "crm")
    ingest(shop.store, shop.lake, "orders")
    root = shop.lake.path()
    files = list(shop.lake.fs.find(root))
    assert any("_quarantine" in p for p in files)
    secrets = [PHONE, QUARANTINED_PHONE, ID_NUMBER, NAME, "李四", "13800000002"]
    values = []
    for path in files:
        data = shop.lake.fs.cat_file(path)
        for secret in secrets:
            assert secret.encode() not in data, f"{secret} in {path}"
        if path.endswith(".parquet"):
            values += [str(v) for col in pq.read_table(path).columns for v in col.to_pylist()]
    for secret in secrets:  # decoded too: compression could hide a clear value from the byte scan
        assert not [v for v in values if secret in v]
    quarantined = [v for v in values if "id_number.regex" in v]
    assert quarantined  # the quarantined row is there, with its rule...
    report = shop.store.quality.for_version("crm", 1)
    assert "<id_card>" in str(report.results) and "not an id" not in str(report.results)  # ...and no value


def test_unchanged_source_adds_no_version_despite_random_nonces(shop) -> None:
    ingest(shop.store, shop.lake, "orders")
    again = ingest(shop.store, shop.lake, "orders")
    assert (again.created, again.version) == (False, 1)


def test_another_key_is_a_storage_change_and_cannot_decrypt(shop, monkeypatch) -> None:
    ingest(shop.store, shop.lake, "orders")
    old = _keys(shop)
    monkeypatch.setenv("ZT_PII_KEY", "a rotated master secret, 32 characters or more")
    with pytest.raises(
        ZhongtaiError, match=f"column 'buyer_phone' changed storage from token \\(key {old.key_id}\\)"
    ):
        ingest(shop.store, shop.lake, "orders")
    new = _keys(shop)
    table = read_table(shop.store, shop.lake, "orders")
    with pytest.raises(
        ZhongtaiError, match=f"encrypted under PII key {old.key_id}, but the key in use is {new.key_id}"
    ):
        decrypt_array(table["buyer_name__encrypted"], new)
    rotated = ingest(shop.store, shop.lake, "orders", accept_schema_change=True)
    assert rotated.created and read_table(shop.store, shop.lake, "orders")["buyer_phone"][
        0
    ].as_py() == tokenize(PHONE, "phone", new)


def test_plan_and_ingest_say_when_storage_differs_from_the_spec(shop) -> None:
    ingest(shop.store, shop.lake, "crm")
    undeclared = SPECS.replace(
        '{name: mobile, pii: phone, clean: [phone], checks: [{regex: "^1[3-9][0-9]{9}$"}]}',
        "{name: mobile, clean: [phone]}",
    ).replace(
        "{name: full_name, pii: name, storage: encrypted}", "{name: full_name, pii: name, storage: clear}"
    )
    specs = load_project(_write(shop, undeclared)).datasets
    assert storage_notes(shop.store, specs) == [
        "dataset crm: field full_name is stored encrypted in version 1, the spec says clear: the next ingest "
        "needs --accept-schema-change and re-reads the source in full",
        "dataset crm: field mobile is stored token in version 1, the spec says clear: the next ingest needs "
        "--accept-schema-change and re-reads the source in full",
    ]
    shop.apply(undeclared)
    with pytest.raises(ZhongtaiError, match="column 'mobile' changed storage from token"):
        ingest(shop.store, shop.lake, "crm")
    assert ingest(shop.store, shop.lake, "crm", accept_schema_change=True).version == 2
    warnings = undeclared_pii(classify_fields(shop.store, shop.lake, "crm"))
    assert len(warnings) == 1 and warnings[0].startswith("field 'mobile' looks like phone (")
    assert storage_notes(shop.store, specs) == [
        "dataset crm: field mobile looks like phone but is stored in clear: declare `pii: phone` to store "
        "tokens, or `pii: none`"
    ]


def test_a_reference_check_on_a_tokenized_field_is_refused(shop) -> None:
    ingest(shop.store, shop.lake, "crm")
    shop.apply(
        SPECS.replace(
            "{name: buyer_phone, pii: phone}",
            "{name: buyer_phone, pii: phone, checks: [{references: {dataset: crm, field: mobile}}]}",
        )
    )
    with pytest.raises(
        ZhongtaiError, match=r"field buyer_phone references crm\.mobile, which the lake stores as PII"
    ):
        ingest(shop.store, shop.lake, "orders")


def _write(bench, specs: str):
    folder = bench.project.parent / "next"
    folder.mkdir(exist_ok=True)
    (folder / "specs.yaml").write_text(specs.replace("SOURCE_URL", str(bench.source_db.url)))
    return folder


CONFIG = OneIDConfig(
    sources=[
        SourceConfig(
            dataset="crm",
            key="id",
            trust=1,
            fields={
                "name": "full_name",
                "phone": "mobile",
                "id_card": "id_number",
                "birth_date": "birth_date",
                "city": "city",
            },
        ),
        SourceConfig(
            dataset="orders", key="order_id", trust=2, fields={"name": "buyer_name", "phone": "buyer_phone"}
        ),
    ],
    max_pairs_u=1e4,
)
# Applied with the datasets, so a run can publish its persons and crosswalk (docs/oneid.md).
IDENTITY = yaml.safe_dump(
    {"entities": [{"name": "person", "join_keys": ["person_id"]}], "identities": [spec_payload(CONFIG)]},
    allow_unicode=True,
)


@pytest.fixture
def many(lake_bench):
    """40 people in the CRM and two orders each, phones and names written another way (OneID's test data)."""
    data = tables(people(40))
    lake_bench.sql(
        "CREATE TABLE crm (id INTEGER PRIMARY KEY, full_name TEXT, mobile TEXT, id_number TEXT, "
        "birth_date TEXT, city TEXT)"
    )
    lake_bench.sql("CREATE TABLE orders (order_id TEXT PRIMARY KEY, buyer_name TEXT, buyer_phone TEXT)")
    crm = data["crm"].to_pylist()
    lake_bench.sql(
        "INSERT INTO crm VALUES (:id, :name, :mobile, :idn, :birth, :city)",
        [
            {
                "id": k,
                "name": r["full_name"],
                "mobile": r["mobile"],
                "idn": _id_number(f"3101011980010{k:04d}"),
                "birth": r["birth_date"],
                "city": r["city"],
            }
            for k, r in enumerate(crm)
        ],
    )
    lake_bench.sql(
        "INSERT INTO orders VALUES (:order_id, :buyer_name, :buyer_phone)",
        [{k: r[k] for k in ("order_id", "buyer_name", "buyer_phone")} for r in data["orders"].to_pylist()],
    )
    return lake_bench


def test_oneid_links_on_tokens_and_decrypts_names_in_memory(many) -> None:
    many.apply(SPECS + IDENTITY)
    ingest(many.store, many.lake, "crm")
    ingest(many.store, many.lake, "orders")
    run_oneid(many.store, many.lake, CONFIG)
    location = many.store.identities.current("person").location
    person = {
        r["record_id"]: r["person_id"] for r in read_output(many.lake, location, "crosswalk").to_pylist()
    }
    for k in range(40):
        assert person[f"orders:O{k}-0"] == person[f"orders:O{k}-1"] == person[f"crm:{k}"]
    assert len(set(person.values())) == 40
    records = {r["record_id"]: r for r in read_output(many.lake, location, "records").to_pylist()}
    assert records["crm:1"]["phone"] == tokenize("13800000001", "phone", _keys(many))
    # what OneID derived from the decrypted names is sealed again in its outputs; explain opens it
    assert records["crm:1"]["name_pinyin"].startswith("enc:")
    found = explain(many.lake, location, "crm:1", "orders:O1-1")
    assert found["same_person"] and {"name", "phone"} <= {
        c["comparison"] for c in found["probabilistic"]["comparisons"]
    }
    name = people(40)[1]["name"]
    for path in many.lake.fs.find(many.lake.path()):
        data = many.lake.fs.cat_file(path)
        assert name.encode() not in data and b"13800000001" not in data, path
        if path.endswith(".parquet"):
            values = [str(v) for col in pq.read_table(path).columns for v in col.to_pylist()]
            assert not [v for v in values if name in v or "13800000001" in v], path
    # the birth date is the CRM's own, not digits read out of the ID number's token
    assert records["crm:1"]["birth_date"] == people(40)[1]["birth"].replace("-", "")
    assert records["orders:O1-1"]["name_pinyin"]  # the name was decrypted for the fuzzy comparison


def test_oneid_refuses_a_token_only_name(many) -> None:
    many.apply(
        SPECS.replace("{name: buyer_name, pii: name, storage: encrypted}", "{name: buyer_name, pii: name}")
        + IDENTITY
    )
    ingest(many.store, many.lake, "crm")
    ingest(many.store, many.lake, "orders")
    with pytest.raises(
        ZhongtaiError, match=r"OneID compares name fuzzily, but orders\.buyer_name is stored as tokens only"
    ):
        run_oneid(many.store, many.lake, CONFIG)
