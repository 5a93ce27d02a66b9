"""Secrets in specs are references to environment variables (`${env:NAME}`), never literals.

The metadata store keeps the reference text; the value is read from the environment only when a connection
is opened, so a database dump never holds a password.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from zhongtai.errors import ZhongtaiError

ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
SECRET_KEY_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key", "api-key", "authorization")


def env_references(value: str) -> list[str]:
    """Names of the environment variables a string refers to."""
    return ENV_REF.findall(value)


def is_reference_only(value: str) -> bool:
    """True when every non-blank part of the value that could hold a secret is an env reference."""
    stripped = ENV_REF.sub("", value)
    # "Bearer ${env:TOKEN}" is fine: the scheme word is not a secret.
    return stripped.strip() in ("", "Bearer", "Basic", "Token")


def looks_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in SECRET_KEY_WORDS)


def literal_url_password(url: str) -> bool:
    """True when a URL carries a password written out rather than as an env reference."""
    parts = urlsplit(ENV_REF.sub("REF", url))
    if parts.password is None:
        return False
    original = urlsplit(url).netloc.rsplit("@", 1)[0].partition(":")[2]
    return not is_reference_only(original)


def resolve(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Substitute every `${env:NAME}` with its value; a missing variable is an error naming it."""
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ZhongtaiError(
                "secret_missing",
                f"environment variable {name} is not set",
                f"export {name}=... before running this command",
            )
        return env[name]

    return ENV_REF.sub(substitute, value)
