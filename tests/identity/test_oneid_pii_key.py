"""Resolution does not depend on the PII key's value: the same sources, tokenized under two keys (as the
lake stores them under two homes' ZT_PII_KEY), give the same persons and the same trained model."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.identity.test_oneid_resolve import CONFIG, people, tables
from zhongtai.govern.keys import PiiKeys, load_keys
from zhongtai.identity.inputs import SourcePlan, prepare
from zhongtai.identity.resolve import Resolution, resolve
from zhongtai.lake.offline.duckdb import DuckDBEngine

pytestmark = pytest.mark.unit

# Few u pairs, so u is estimated on a sample of the profiles (the sample must not depend on the key).
SAMPLED = CONFIG.model_copy(update={"max_pairs_u": 2000})
PLANS = {
    "crm": SourcePlan(tokenize={"mobile": "phone", "email": "email"}),
    "orders": SourcePlan(tokenize={"buyer_phone": "phone"}),
}


def keys(secret: str, tmp_path) -> PiiKeys:
    return load_keys(tmp_path, {"ZT_PII_KEY": secret})


def sources() -> dict[str, pa.Table]:
    """People with typos and family phones, so the model's estimates decide some pairs."""
    persons = people(160)
    for k in range(0, 160, 9):  # a parent registered with the next person's phone
        persons[k]["phone"] = persons[k + 1]["phone"]
    data = tables(persons)
    names = data["orders"]["buyer_name"].to_pylist()
    typo = [n[:-1] + "玲" if i % 7 == 0 else n for i, n in enumerate(names)]
    data["orders"] = data["orders"].set_column(1, "buyer_name", pa.array(typo))
    return data


def resolve_under(secret: str, tmp_path) -> Resolution:
    under = keys(secret, tmp_path)
    engine = DuckDBEngine()
    for name, table in sources().items():
        engine.register_arrow(name, prepare(table, PLANS[name], under))
    return resolve(engine, SAMPLED)


def partition(result: Resolution) -> set[frozenset[str]]:
    members: dict[str, set[str]] = {}
    for record, person in zip(
        result.crosswalk["record_id"].to_pylist(), result.crosswalk["person_id"].to_pylist(), strict=True
    ):
        members.setdefault(person, set()).add(record)
    return {frozenset(m) for m in members.values()}


def trained(result: Resolution) -> list[tuple]:
    return [
        (
            c["output_column_name"],
            level.get("label_for_charts"),
            level.get("m_probability"),
            level.get("u_probability"),
        )
        for c in result.model["comparisons"]
        for level in c["comparison_levels"]
    ]


def test_persons_and_model_do_not_depend_on_the_pii_key(tmp_path) -> None:
    first = resolve_under("first home's master secret 0123456789abcdef", tmp_path)
    second = resolve_under("another home's master secret 9876543210fedcba", tmp_path)
    phones = first.records["phone"].drop_null().to_pylist()
    assert phones and all(p.startswith("phone:") for p in phones)  # resolved on tokens
    assert first.records["phone"].to_pylist() != second.records["phone"].to_pylist()
    assert trained(first) == trained(second)
    assert partition(first) == partition(second)
