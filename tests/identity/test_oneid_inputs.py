"""How OneID reads protected PII: tokens join as they are, clear values beside them are tokenized the
same way, encrypted columns are decrypted in memory, and a token is never read as anything else."""

from __future__ import annotations

import pyarrow as pa
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.encryption import encrypt
from zhongtai.govern.keys import PiiKeys
from zhongtai.govern.tokens import tokenize
from zhongtai.identity.config import OneIDConfig, SourceConfig
from zhongtai.identity.inputs import SourcePlan, plan_inputs, prepare
from zhongtai.identity.records import RAW, build_records
from zhongtai.meta.records import ColumnInfo

pytestmark = pytest.mark.unit

KEYS = PiiKeys.from_secret(b"unit test master secret 0123456789abcdef")
CONFIG = OneIDConfig(
    sources=[
        SourceConfig(dataset="crm", key="id", fields={"name": "full_name", "phone": "mobile"}),
        SourceConfig(dataset="shop", key="id", fields={"name": "buyer", "phone": "tel", "email": "mail"}),
    ]
)


def _schema(**storage: str) -> list[ColumnInfo]:
    return [ColumnInfo(name, "string", storage=kind, key_id=KEYS.key_id) for name, kind in storage.items()]


def test_clear_columns_are_tokenized_where_another_source_keeps_tokens() -> None:
    schemas = {
        "crm": _schema(full_name="encrypted", mobile="token"),
        "shop": _schema(buyer="clear", tel="clear", mail="clear"),
    }
    plans = plan_inputs(CONFIG, schemas, {"crm": {"full_name": "name", "mobile": "phone"}, "shop": {}})
    assert plans["crm"] == SourcePlan(decrypt=("full_name",))
    assert plans["shop"] == SourcePlan(tokenize={"tel": "phone"})  # e-mail is clear everywhere: left clear


def test_an_encrypted_joinable_column_joins_on_its_token_and_is_never_decrypted() -> None:
    # Phones kept encrypted for a steward's preview: OneID joins on the token the field keeps, so no clear
    # phone reaches the records or golden records; a clear phone elsewhere is tokenized to match it.
    schemas = {
        "crm": _schema(full_name="encrypted", mobile="encrypted"),
        "shop": _schema(buyer="clear", tel="clear", mail="clear"),
    }
    plans = plan_inputs(CONFIG, schemas, {"crm": {"full_name": "name", "mobile": "phone"}, "shop": {}})
    assert plans["crm"] == SourcePlan(decrypt=("full_name",))
    assert plans["shop"] == SourcePlan(tokenize={"tel": "phone"})


def test_a_fuzzily_compared_attribute_stored_as_tokens_is_an_error() -> None:
    schemas = {"crm": _schema(full_name="token", mobile="token"), "shop": _schema(buyer="clear")}
    with pytest.raises(
        ZhongtaiError, match=r"OneID compares name fuzzily, but crm\.full_name is stored as tokens"
    ):
        plan_inputs(CONFIG, schemas, {"crm": {"full_name": "name"}, "shop": {}})


def test_prepare_decrypts_and_tokenizes() -> None:
    table = pa.table(
        {"full_name": [tokenize("王芳", "name", KEYS)], "full_name__encrypted": [encrypt("王芳", KEYS)],
         "tel": ["+86 138 1234 5678"]}
    )  # fmt: skip
    out = prepare(table, SourcePlan(decrypt=("full_name",), tokenize={"tel": "phone"}), KEYS)
    assert out["full_name"].to_pylist() == ["王芳"]
    assert out["tel"].to_pylist() == [tokenize("13812345678", "phone", KEYS)]


def test_records_keep_canonical_tokens_drop_unparsed_ones_and_read_nothing_from_them() -> None:
    raw = {c: [None, None] for c in RAW}
    raw |= {
        "dataset": ["a", "a"],
        "key": ["1", "2"],
        "trust": [1, 1],
        "updated_at": [None, None],
        "phone": [tokenize("13812345678", "phone", KEYS), tokenize("call me", "phone", KEYS)],
        # an ID number token: no birth date or gender is read out of its hex digits
        "id_card": [tokenize("11010519491231002X", "id_card", KEYS), "11010519491231002X"],
    }
    table = pa.table(
        {k: pa.array(v, pa.timestamp("us") if k == "updated_at" else None) for k, v in raw.items()}
    )
    records = build_records(table).to_pylist()
    assert records[0]["phone"] == tokenize("13812345678", "phone", KEYS) and records[1]["phone"] is None
    assert records[0]["id_card"].startswith("id_card:")
    assert (records[0]["birth_date"], records[0]["gender"]) == (None, None)
    assert (records[1]["birth_date"], records[1]["gender"]) == ("19491231", "F")
