"""Field encryption at rest: AES-256-GCM with a random 96-bit nonce per value.

A ciphertext is text, `enc:<key id>:<base64url(nonce | ciphertext | tag)>`, so it survives any engine or
export; the key id (authenticated as associated data) says which key wrote it. New values are written under
the keyring's writing key (govern/keys.py); a ciphertext is decrypted with the key its id names, so values
written before a rotation stay readable, and a key not held fails with a message naming the ids rather than
a bare authentication error. `reencrypt_array` rewrites the ciphertexts of other keys under the writing key.
"""

from __future__ import annotations

import base64
import os
import re
from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.keys import PiiKeys

NONCE_BYTES = 12
CIPHERTEXT = re.compile(r"^enc:([0-9a-f]{8}):([A-Za-z0-9_-]+)$")


def encrypt(value: str | None, keys: PiiKeys) -> str | None:
    """The ciphertext of one value (None stays None)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if value is None:
        return None
    return _encrypt(AESGCM(keys.writing_key), value, keys.writing_key_id)


def encrypt_array(values: pa.Array | pa.ChunkedArray, keys: PiiKeys) -> pa.Array:
    """Encrypt every value of an array (each with its own nonce), read as text; nulls stay null."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    cipher, key_id = AESGCM(keys.writing_key), keys.writing_key_id
    return pa.array(
        [None if v is None else _encrypt(cipher, v, key_id) for v in values.to_pylist()], pa.string()
    )


def decrypt(value: str | None, keys: PiiKeys) -> str | None:
    """The clear value of one ciphertext; a key not held or a damaged value is a ZhongtaiError."""
    if value is None:
        return None
    return _decrypt(_Ciphers(keys), value)


def decrypt_array(values: pa.Array | pa.ChunkedArray, keys: PiiKeys) -> pa.Array:
    """Decrypt every value of an array of ciphertexts (nulls stay null), each with the key it names."""
    ciphers = _Ciphers(keys)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    return pa.array([None if v is None else _decrypt(ciphers, v) for v in values.to_pylist()], pa.string())


def reencrypt_array(values: pa.Array | pa.ChunkedArray, keys: PiiKeys) -> tuple[pa.Array, int]:
    """The array with every ciphertext written under another key than the writing key decrypted and
    encrypted again under the writing key (a fresh nonce each), and how many were; other values as they are."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    stale = pc.fill_null(
        pc.and_(
            pc.starts_with(values, "enc:"), pc.invert(pc.starts_with(values, f"enc:{keys.writing_key_id}:"))
        ),
        False,
    )
    count = pc.sum(stale).as_py() or 0
    if not count:
        return values, 0
    ciphers = _Ciphers(keys)
    writer, key_id = ciphers.get(keys.writing_key_id), keys.writing_key_id
    fresh = [_encrypt(writer, _decrypt(ciphers, v), key_id) for v in pc.filter(values, stale).to_pylist()]
    return pc.replace_with_mask(values, stale, pa.array(fresh, values.type)), int(count)


def key_ids(values: pa.Array | pa.ChunkedArray) -> Counter[str]:
    """How many ciphertexts of a text column each key id wrote (other values are not counted)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    sealed = pc.filter(values, pc.fill_null(pc.starts_with(values, "enc:"), False))
    ids = pc.value_counts(pc.utf8_slice_codeunits(sealed, 4, 12)).to_pylist()
    return Counter({found["values"]: found["counts"] for found in ids})


class _Ciphers:
    """One AES-GCM object per key id a batch of ciphertexts names, built on first use."""

    def __init__(self, keys: PiiKeys) -> None:
        self.keys = keys
        self._made: dict[str, Any] = {}

    def get(self, key_id: str) -> Any:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        cipher = self._made.get(key_id)
        if cipher is None:
            cipher = self._made[key_id] = AESGCM(self.keys.decryption_key(key_id))
        return cipher


def _encrypt(cipher: Any, value: str, key_id: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = cipher.encrypt(nonce, value.encode(), key_id.encode())
    return f"enc:{key_id}:{base64.urlsafe_b64encode(nonce + sealed).rstrip(b'=').decode()}"


def _decrypt(ciphers: _Ciphers, value: str) -> str:
    from cryptography.exceptions import InvalidTag

    found = CIPHERTEXT.match(value)
    if found is None:
        raise ZhongtaiError("pii_decrypt_failed", "the value is not a Zhongtai ciphertext (enc:<key id>:...)")
    key_id, body = found.groups()
    cipher = ciphers.get(key_id)
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    try:
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key_id.encode()).decode()
    except InvalidTag:
        raise ZhongtaiError(
            "pii_decrypt_failed",
            f"a value encrypted under PII key {key_id} does not authenticate: it was altered, "
            "or the master secret differs from the one that wrote it",
            "check ZT_PII_KEY / ZT_HOME/pii.key",
        ) from None
