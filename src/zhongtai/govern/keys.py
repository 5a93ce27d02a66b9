"""The PII keys: one master secret, from which the token key and the encryption key are derived.

The master secret comes from `ZT_PII_KEY` (at least 32 characters) or, when that is unset, from
`ZT_HOME/pii.key`, generated on first use with file mode 0600. HKDF-SHA256 derives two independent keys
from it, so a token never reveals anything about the encryption key and the other way round. The key id
is a one-way fingerprint of the token key: it is recorded with every protected column so a lake written
under another key is recognised instead of silently failing to join. Keys are never printed or logged:
`PiiKeys` shows only its id.

Field encryption keys rotate without touching tokens: `rotate_encryption_key` adds a random 32-byte key to
the keyring file `ZT_HOME/pii.keyring` (mode 0600, replaced atomically) and makes it the writing key. Every
key of the keyring stays readable, so a ciphertext names the key that wrote it (`enc:<key id>:...`) and is
decrypted with that one; the key derived from the master secret is the first, under the master's key id.
A key is retired (`retire_encryption_key`) only once nothing in the lake is encrypted under it, and only if
it is not the writing key; a retired key's secret is dropped from the file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zhongtai.errors import ZhongtaiError

ENV_VAR = "ZT_PII_KEY"
KEY_FILE = "pii.key"
KEYRING_FILE = "pii.keyring"
MIN_SECRET_CHARS = 32
_TOKEN_INFO = b"zhongtai pii token key v1"
_ENCRYPTION_INFO = b"zhongtai pii encryption key v1"


@dataclass(frozen=True)
class PiiKeys:
    """The derived keys (32 bytes each) and the key id that names them in the lake."""

    token_key: bytes = field(repr=False)
    encryption_key: bytes = field(repr=False)
    key_id: str
    # The field encryption keys by id (the master's under `key_id`) and the one that writes; retired ids.
    keyring: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    writing_id: str | None = None
    retired: frozenset[str] = frozenset()

    @classmethod
    def from_secret(cls, secret: bytes) -> PiiKeys:
        """Derive both keys from the master secret (HKDF-SHA256, one `info` label per key)."""
        token_key = _hkdf(secret, _TOKEN_INFO)
        key_id = _fingerprint(token_key)
        return cls(token_key, _hkdf(secret, _ENCRYPTION_INFO), key_id)

    @property
    def writing_key_id(self) -> str:
        """The id of the key new ciphertexts are written under."""
        return self.writing_id or self.key_id

    @property
    def writing_key(self) -> bytes:
        """The key new ciphertexts are written under."""
        return self.decryption_key(self.writing_key_id)

    @property
    def readable_ids(self) -> list[str]:
        """Every key id a ciphertext may name and still be read, the master's first."""
        master = [] if self.key_id in self.retired else [self.key_id]
        return master + [k for k in self.keyring if k != self.key_id]

    def decryption_key(self, key_id: str) -> bytes:
        """The key a ciphertext naming `key_id` was written under; `pii_key_mismatch` when it is not held."""
        if key_id == self.key_id and key_id not in self.retired:
            return self.encryption_key
        found = self.keyring.get(key_id)
        if found is not None:
            return found
        if key_id in self.retired:
            raise ZhongtaiError(
                "pii_key_mismatch",
                f"the value was encrypted under PII key {key_id}, which was retired",
                "a retired key cannot be read any more: re-read the value from its source",
            )
        held = self.readable_ids
        in_use = (
            f"the key in use is {held[0]}" if len(held) == 1 else f"the keys in use are {', '.join(held)}"
        )
        raise ZhongtaiError(
            "pii_key_mismatch",
            f"the value was encrypted under PII key {key_id}, but {in_use}",
            "set ZT_PII_KEY (or ZT_HOME/pii.key) to the master secret the lake was written with, and keep "
            "ZT_HOME/pii.keyring beside it",
        )


def load_keys(home: Path, environ: Mapping[str, str] | None = None) -> PiiKeys:
    """The PII keys: from `ZT_PII_KEY` if set, else from `home/pii.key` (created on first use), with the
    rotated field encryption keys of `home/pii.keyring` when there is one."""
    env = os.environ if environ is None else environ
    given = env.get(ENV_VAR)
    if given is not None:
        if len(given.strip()) < MIN_SECRET_CHARS:
            raise ZhongtaiError(
                "invalid_config",
                f"{ENV_VAR} is too short: a PII master secret needs at least {MIN_SECRET_CHARS} characters",
                "generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`",
            )
        keys = PiiKeys.from_secret(given.strip().encode())
    else:
        keys = PiiKeys.from_secret(_key_file(home / KEY_FILE))
    return with_keyring(keys, home / KEYRING_FILE)


def with_keyring(keys: PiiKeys, path: Path) -> PiiKeys:
    """`keys` with the keyring file's keys, writing key and retired ids (unchanged without the file)."""
    ring = _read_keyring(path)
    if ring is None:
        return keys
    keyring = {k["id"]: bytes.fromhex(k["secret"]) for k in ring["keys"] if k["id"] not in ring["retired"]}
    return replace(keys, keyring=keyring, writing_id=ring["writing"], retired=frozenset(ring["retired"]))


def rotate_encryption_key(home: Path, keys: PiiKeys) -> str:
    """Add a new random field encryption key to the keyring and make it the writing key; its id."""
    path = home / KEYRING_FILE
    ring = _read_keyring(path) or {"writing": None, "keys": [], "retired": []}
    secret = secrets.token_bytes(32)
    key_id = _fingerprint(secret)
    if key_id == keys.key_id or any(k["id"] == key_id for k in ring["keys"]):
        raise ZhongtaiError("conflict", f"a new key's id {key_id} is already taken", "rotate again")
    ring["keys"].append({"id": key_id, "secret": secret.hex(), "created_at": datetime.now(UTC).isoformat()})
    ring["writing"] = key_id
    _write_keyring(path, ring)
    return key_id


def retire_encryption_key(home: Path, keys: PiiKeys, key_id: str, remaining: int) -> None:
    """Retire a key no ciphertext uses any more (`remaining`, counted by the caller over the lake): refused
    for the writing key, an unknown key, or while ciphertexts remain, naming how many."""
    if key_id not in keys.readable_ids:
        known = ", ".join(keys.readable_ids)
        raise ZhongtaiError("not_found", f"no PII key {key_id} is in use", f"the keys are {known}")
    if key_id == keys.writing_key_id:
        raise ZhongtaiError(
            "conflict",
            f"PII key {key_id} is the writing key",
            "rotate first (zhongtai pii rotate), re-encrypt (zhongtai pii reencrypt), then retire it",
        )
    if remaining:
        raise ZhongtaiError(
            "conflict",
            f"{remaining:,} ciphertexts in the lake are still encrypted under PII key {key_id}",
            "run `zhongtai pii reencrypt` (and `zhongtai oneid run` for OneID's files), then retire it",
        )
    path = home / KEYRING_FILE
    ring = _read_keyring(path) or {"writing": keys.writing_key_id, "keys": [], "retired": []}
    ring["keys"] = [k for k in ring["keys"] if k["id"] != key_id]
    ring["retired"] = sorted({*ring["retired"], key_id})
    _write_keyring(path, ring)


def _read_keyring(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    _private(path)
    try:
        ring = json.loads(path.read_text())
        for k in ring["keys"]:
            bytes.fromhex(k["secret"])
        ring.setdefault("retired", [])
    except (ValueError, KeyError, TypeError):
        raise ZhongtaiError(
            "invalid_config",
            f"{path} is not a Zhongtai PII keyring",
            "restore it from your backup: ciphertexts written under its keys cannot be read without it",
        ) from None
    return ring


def _write_keyring(path: Path, ring: dict[str, Any]) -> None:
    """Replace the keyring file atomically, mode 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as out:
            json.dump(ring, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def _private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ZhongtaiError(
            "insecure_key_file",
            f"{path} can be read by other users (mode {mode:o})",
            f"run `chmod 600 {path}`",
        )


def _fingerprint(key: bytes) -> str:
    """A key's id: 8 hex digits of an HMAC under it, which say nothing about the key."""
    return hmac.digest(key, b"zhongtai key id", hashlib.sha256)[:4].hex()


def _key_file(path: Path) -> bytes:
    """Read the key file, creating it atomically (first writer wins) when it does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)  # fails if another process created it meanwhile: theirs is the key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    _private(path)
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise ZhongtaiError(
            "invalid_config", f"{path} does not hold a PII master secret", f"remove it or set {ENV_VAR}"
        )
    return secret.encode()


def _hkdf(secret: bytes, info: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
