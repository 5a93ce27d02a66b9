"""Field encryption at rest: AES-256-GCM with a random 96-bit nonce per value.

A ciphertext is text, `enc:<key id>:<base64url(nonce | ciphertext | tag)>`, so it survives any engine or
export; the key id (authenticated as associated data) says which key wrote it, so decrypting under another
key fails with a message that names both ids rather than a bare authentication error.
"""

from __future__ import annotations

import base64
import os
import re

import pyarrow as pa

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.keys import PiiKeys

NONCE_BYTES = 12
CIPHERTEXT = re.compile(r"^enc:([0-9a-f]{8}):([A-Za-z0-9_-]+)$")


def encrypt(value: str | None, keys: PiiKeys) -> str | None:
    """The ciphertext of one value (None stays None)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if value is None:
        return None
    return _encrypt(AESGCM(keys.encryption_key), value, keys.key_id)


def encrypt_array(values: pa.Array | pa.ChunkedArray, keys: PiiKeys) -> pa.Array:
    """Encrypt every value of an array (each with its own nonce), read as text; nulls stay null."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    cipher = AESGCM(keys.encryption_key)
    return pa.array(
        [None if v is None else _encrypt(cipher, v, keys.key_id) for v in values.to_pylist()], pa.string()
    )


def decrypt(value: str | None, keys: PiiKeys) -> str | None:
    """The clear value of one ciphertext; a wrong key or a damaged value is a ZhongtaiError."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if value is None:
        return None
    return _decrypt(AESGCM(keys.encryption_key), value, keys)


def decrypt_array(values: pa.Array | pa.ChunkedArray, keys: PiiKeys) -> pa.Array:
    """Decrypt every value of an array of ciphertexts (nulls stay null)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    cipher = AESGCM(keys.encryption_key)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    return pa.array(
        [None if v is None else _decrypt(cipher, v, keys) for v in values.to_pylist()], pa.string()
    )


def _encrypt(cipher, value: str, key_id: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = cipher.encrypt(nonce, value.encode(), key_id.encode())
    return f"enc:{key_id}:{base64.urlsafe_b64encode(nonce + sealed).rstrip(b'=').decode()}"


def _decrypt(cipher, value: str, keys: PiiKeys) -> str:
    from cryptography.exceptions import InvalidTag

    found = CIPHERTEXT.match(value)
    if found is None:
        raise ZhongtaiError("pii_decrypt_failed", "the value is not a Zhongtai ciphertext (enc:<key id>:...)")
    key_id, body = found.groups()
    if key_id != keys.key_id:
        raise ZhongtaiError(
            "pii_key_mismatch",
            f"the value was encrypted under PII key {key_id}, but the key in use is {keys.key_id}",
            "set ZT_PII_KEY (or ZT_HOME/pii.key) to the master secret the lake was written with",
        )
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
