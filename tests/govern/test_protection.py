"""Which fields a spec protects, and a batch as the lake writes it."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pydantic import ValidationError

from zhongtai.govern.encryption import decrypt_array
from zhongtai.govern.keys import PiiKeys
from zhongtai.govern.protection import Protection, annotate, protect_batch, protections
from zhongtai.govern.tokens import tokenize
from zhongtai.lake.schema import columns_of
from zhongtai.spec.models import DatasetSpec, FieldSpec

pytestmark = pytest.mark.unit

KEYS = PiiKeys.from_secret(b"unit test master secret 0123456789abcdef")
SPEC = DatasetSpec(
    name="crm",
    source="s",
    table="crm",
    fields=[
        FieldSpec(name="mobile", pii="phone"),
        FieldSpec(name="full_name", pii="name", storage="encrypted"),
        FieldSpec(name="email", pii="email", storage="clear"),
        FieldSpec(name="note", pii="none"),
    ],
)


def test_declared_classes_are_tokens_unless_the_spec_says_otherwise() -> None:
    assert protections(SPEC) == [
        Protection("mobile", "phone", "token"),
        Protection("full_name", "name", "encrypted"),
    ]


def test_storage_needs_a_pii_class() -> None:
    with pytest.raises(ValidationError, match="storage: encrypted applies to PII fields"):
        FieldSpec(name="note", storage="encrypted")


def test_batch_gets_tokens_and_an_encrypted_copy_beside_them() -> None:
    batch = pa.RecordBatch.from_pylist(
        [{"id": 1, "mobile": "+86 138 1234 5678", "full_name": "王芳", "email": "a@b.cn", "note": "x"}]
    )
    out = protect_batch(batch, protections(SPEC), KEYS)
    assert out.schema.names == ["id", "mobile", "full_name", "full_name__encrypted", "email", "note"]
    row = out.to_pylist()[0]
    assert row["mobile"] == tokenize("13812345678", "phone", KEYS)
    assert row["full_name"] == tokenize("王芳", "name", KEYS)
    assert decrypt_array(out.column("full_name__encrypted"), KEYS).to_pylist() == ["王芳"]
    assert (row["email"], row["note"]) == ("a@b.cn", "x")
    stored = {c.name: c.storage for c in annotate(columns_of(out.schema), SPEC, KEYS.key_id)}
    assert stored == {
        "id": None,
        "mobile": "token",
        "full_name": "encrypted",
        "full_name__encrypted": "ciphertext",
        "email": "clear",
        "note": None,
    }
