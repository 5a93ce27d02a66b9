"""Who is calling: the credential of a request (an API key or an OIDC bearer token) made a principal.

`Identities.fast` answers from memory (a known key, a token verified before) and never blocks; `resolve`
may read the metadata store (a key made a moment ago) or the identity provider's JWKS (a new signing key),
so the gateway runs it in a thread. Both raise `unauthorized` (401) naming what is wrong, never the
credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.govern.jwt import JwksVerifier, looks_like_jwt
from zhongtai.govern.principal import Principal


class KeyChecker(Protocol):
    """`capabilities.keys.ApiKeys`: API keys checked against the metadata store."""

    def cached(self, key: str | None) -> Principal | None: ...

    def check(self, key: str | None) -> Principal: ...


def presented_credential(headers: Mapping[str, str]) -> str | None:
    """The credential of a request: `Authorization: Bearer <key or token>`, else `X-API-Key`."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return headers.get("x-api-key")


class Identities:
    """API keys and, when ZT_OIDC_JWKS_URL is set, OIDC bearer tokens."""

    def __init__(self, keys: KeyChecker, tokens: JwksVerifier | None = None) -> None:
        self.keys = keys
        self.tokens = tokens

    def fast(self, credential: str | None) -> Principal | None:
        """The principal if memory can tell (no I/O); None when `resolve` must be called."""
        if credential and looks_like_jwt(credential):
            verifier = self._verifier()
            found = verifier.cached(credential)
            if found is not None or verifier.needs_fetch(credential):
                return found
            return verifier.principal(credential)  # a known signing key: CPU only
        return self.keys.cached(credential)

    def resolve(self, credential: str | None) -> Principal:
        """The principal behind the credential, asking the store or the JWKS when needed."""
        if credential and looks_like_jwt(credential):
            return self._verifier().principal(credential)
        return self.keys.check(credential)

    def _verifier(self) -> JwksVerifier:
        if self.tokens is None:
            raise ZhongtaiError(
                ErrorCode.UNAUTHORIZED,
                "bearer tokens are not accepted by this gateway",
                "send an API key, or set ZT_OIDC_JWKS_URL, ZT_OIDC_ISSUER and ZT_OIDC_AUDIENCE",
            )
        return self.tokens
