"""The PII keys: one master secret, from which the token key and the encryption key are derived.

The master secret comes from `ZT_PII_KEY` (at least 32 characters) or, when that is unset, from
`ZT_HOME/pii.key`, generated on first use with file mode 0600. HKDF-SHA256 derives two independent keys
from it, so a token never reveals anything about the encryption key and the other way round. The key id
is a one-way fingerprint of the token key: it is recorded with every protected column so a lake written
under another key is recognised instead of silently failing to join. Keys are never printed or logged:
`PiiKeys` shows only its id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from zhongtai.errors import ZhongtaiError

ENV_VAR = "ZT_PII_KEY"
KEY_FILE = "pii.key"
MIN_SECRET_CHARS = 32
_TOKEN_INFO = b"zhongtai pii token key v1"
_ENCRYPTION_INFO = b"zhongtai pii encryption key v1"


@dataclass(frozen=True)
class PiiKeys:
    """The derived keys (32 bytes each) and the key id that names them in the lake."""

    token_key: bytes = field(repr=False)
    encryption_key: bytes = field(repr=False)
    key_id: str

    @classmethod
    def from_secret(cls, secret: bytes) -> PiiKeys:
        """Derive both keys from the master secret (HKDF-SHA256, one `info` label per key)."""
        token_key = _hkdf(secret, _TOKEN_INFO)
        key_id = hmac.digest(token_key, b"zhongtai key id", hashlib.sha256)[:4].hex()
        return cls(token_key, _hkdf(secret, _ENCRYPTION_INFO), key_id)


def load_keys(home: Path, environ: Mapping[str, str] | None = None) -> PiiKeys:
    """The PII keys: from `ZT_PII_KEY` if set, else from `home/pii.key` (created on first use)."""
    env = os.environ if environ is None else environ
    given = env.get(ENV_VAR)
    if given is not None:
        if len(given.strip()) < MIN_SECRET_CHARS:
            raise ZhongtaiError(
                "invalid_config",
                f"{ENV_VAR} is too short: a PII master secret needs at least {MIN_SECRET_CHARS} characters",
                "generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`",
            )
        return PiiKeys.from_secret(given.strip().encode())
    return PiiKeys.from_secret(_key_file(home / KEY_FILE))


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
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ZhongtaiError(
            "insecure_key_file",
            f"{path} can be read by other users (mode {mode:o})",
            f"run `chmod 600 {path}`",
        )
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
