"""Field encryption: AES-GCM round trip, a fresh nonce per value, and clear errors for a wrong key."""

from __future__ import annotations

import pyarrow as pa
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.encryption import decrypt, decrypt_array, encrypt, encrypt_array
from zhongtai.govern.keys import PiiKeys

pytestmark = pytest.mark.unit

KEYS = PiiKeys.from_secret(b"unit test master secret 0123456789abcdef")
OTHER = PiiKeys.from_secret(b"another master secret 0123456789abcdef!!")


def test_round_trip_with_a_fresh_nonce_per_value() -> None:
    first, second = encrypt("上海市浦东新区世纪大道100号", KEYS), encrypt("上海市浦东新区世纪大道100号", KEYS)
    assert first != second and first.startswith(f"enc:{KEYS.key_id}:")
    assert decrypt(first, KEYS) == decrypt(second, KEYS) == "上海市浦东新区世纪大道100号"
    assert "世纪" not in first


def test_arrays_round_trip_and_keep_nulls() -> None:
    values = pa.array(["王芳", None, "Wang Fang"])
    sealed = encrypt_array(values, KEYS)
    assert sealed[1].as_py() is None
    assert decrypt_array(sealed, KEYS).to_pylist() == ["王芳", None, "Wang Fang"]


def test_wrong_key_names_both_key_ids() -> None:
    sealed = encrypt("王芳", KEYS)
    with pytest.raises(
        ZhongtaiError, match=f"encrypted under PII key {KEYS.key_id}, but the key in use is {OTHER.key_id}"
    ):
        decrypt(sealed, OTHER)


def test_altered_value_does_not_authenticate() -> None:
    sealed = encrypt("王芳", KEYS)
    body = sealed.rsplit(":", 1)[1]
    altered = sealed[: -len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(ZhongtaiError, match="does not authenticate"):
        decrypt(altered, KEYS)
    with pytest.raises(ZhongtaiError, match="not a Zhongtai ciphertext"):
        decrypt("王芳", KEYS)
