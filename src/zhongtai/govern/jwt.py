"""OIDC bearer tokens: JWTs signed RS256 or ES256, verified against the identity provider's JWKS.

Verification, with `cryptography` only: the header names an allowed algorithm (RS256, ES256; never `none`
nor an HMAC one, so a public key cannot be used as a shared secret) and a `kid`; the signature checks
against that key of the JWKS; `exp` is required and, like `nbf`, compared with a clock skew allowance;
`iss` must equal the configured issuer and `aud` must hold the configured audience. The JWKS is fetched on
first use and again when a token names a `kid` not seen yet (a rotated signing key), at most once per
`min_refresh_s`, so forged `kid`s cannot make the gateway hammer the provider. A verified token is cached
until it expires: a repeated token costs one dict lookup, not a signature check.

Every failure is `unauthorized` (401) naming what failed (expired, audience, issuer, signature); the claims
and the token are never quoted. An unreachable JWKS is `unavailable` (503): the caller did nothing wrong.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.govern.principal import Principal

ALGORITHMS = ("RS256", "ES256")
_CACHE_SIZE = 10_000
_NAME_MAX = 128


@dataclass(frozen=True)
class OidcSettings:
    """Where the signing keys are and what a token must say (ZT_OIDC_* in config.py)."""

    jwks_url: str
    issuer: str
    audience: str
    leeway_s: float = 60.0
    roles_claim: str = "roles"
    workspace_claim: str = "workspace"
    subject_claim: str = "sub"


def looks_like_jwt(token: str) -> bool:
    """A JWT is three base64url parts; an API key (`zt_...`) holds no dot."""
    return token.count(".") == 2


def fetch_json(url: str) -> dict[str, Any]:
    """GET a JSON document (the JWKS); `unavailable` when it cannot be had."""
    import httpx

    try:
        response = httpx.get(url, timeout=5.0)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ZhongtaiError(
            ErrorCode.UNAVAILABLE,
            f"cannot read the identity provider's JWKS ({type(exc).__name__})",
            "check ZT_OIDC_JWKS_URL and that the provider is reachable",
        ) from None
    if not isinstance(document, dict):
        raise ZhongtaiError(ErrorCode.UNAVAILABLE, "the JWKS is not a JSON object", "check ZT_OIDC_JWKS_URL")
    return document


class JwksVerifier:
    """Verifies bearer tokens and turns them into principals."""

    def __init__(
        self,
        settings: OidcSettings,
        fetch: Callable[[str], dict[str, Any]] = fetch_json,
        min_refresh_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._fetch = fetch
        self._min_refresh_s = min_refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._fetched_at = -float("inf")
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self.fetches = 0

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before and not expired since, or None (no I/O, no crypto)."""
        hit = self._verified.get(token)
        if hit is None:
            return None
        principal, expires = hit
        if self._clock() > expires + self.settings.leeway_s:
            raise _unauthorized("the bearer token has expired", "get a new token from the identity provider")
        return principal

    def needs_fetch(self, token: str) -> bool:
        """Whether verifying `token` may have to fetch the JWKS (its `kid` is not known yet)."""
        try:
            header = _part(token.split(".")[0], "header")
        except ZhongtaiError:
            return False
        return header.get("kid") not in self._keys

    def principal(self, token: str) -> Principal:
        """Verify the token and return its principal; `unauthorized` naming what failed otherwise."""
        found = self.cached(token)
        if found is not None:
            return found
        claims = self.verify(token)
        principal = self._principal_of(claims)
        with self._lock:
            self._verified[token] = (principal, float(claims["exp"]))
            while len(self._verified) > _CACHE_SIZE:
                self._verified.popitem(last=False)
        return principal

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature, algorithm, expiry, issuer and audience hold."""
        parts = token.split(".")
        if len(parts) != 3:
            raise _unauthorized("the bearer token is not a JWT")
        header, claims = _part(parts[0], "header"), _part(parts[1], "payload")
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise _unauthorized(f"token algorithm is not one of {', '.join(ALGORITHMS)}")
        key = self._key(header.get("kid"))
        signature = _b64(parts[2], "signature")
        _check_signature(algorithm, key, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)
        self._check_claims(claims)
        return claims

    def _key(self, kid: Any) -> Any:
        if not isinstance(kid, str) or not kid:
            raise _unauthorized("the token names no signing key (kid)")
        key = self._keys.get(kid)
        if key is None:
            self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise _unauthorized("the token's signing key is not in the identity provider's JWKS")
        return key

    def _refresh(self) -> None:
        with self._lock:
            if self._clock() - self._fetched_at < self._min_refresh_s:
                return
            self._fetched_at = self._clock()
            document = self._fetch(self.settings.jwks_url)
            self.fetches += 1
            keys = {}
            for jwk in document.get("keys", []):
                if (
                    isinstance(jwk, dict)
                    and isinstance(jwk.get("kid"), str)
                    and jwk.get("use", "sig") == "sig"
                ):
                    parsed = _public_key(jwk)
                    if parsed is not None:
                        keys[jwk["kid"]] = parsed
            self._keys = keys

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now, leeway = self._clock(), self.settings.leeway_s
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise _unauthorized("the token has no expiry (exp)")
        if now > expires + leeway:
            raise _unauthorized("the bearer token has expired", "get a new token from the identity provider")
        not_before = claims.get("nbf")
        if isinstance(not_before, int | float) and now + leeway < not_before:
            raise _unauthorized("the bearer token is not valid yet (nbf)")
        if claims.get("iss") != self.settings.issuer:
            raise _unauthorized("the token's issuer is not the configured one", "check ZT_OIDC_ISSUER")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.settings.audience not in audiences:
            raise _unauthorized(
                "the token is not meant for this gateway (audience)", "check ZT_OIDC_AUDIENCE"
            )

    def _principal_of(self, claims: dict[str, Any]) -> Principal:
        subject = _claim(claims, self.settings.subject_claim)
        if not isinstance(subject, str) or not subject or len(subject) > _NAME_MAX:
            raise _unauthorized(f"the token has no usable subject claim '{self.settings.subject_claim}'")
        roles = _claim(claims, self.settings.roles_claim)
        if isinstance(roles, str):
            roles = roles.split()
        if not isinstance(roles, list):
            roles = []
        workspace = _claim(claims, self.settings.workspace_claim)
        return Principal(
            subject,
            tuple(r for r in roles if isinstance(r, str) and 0 < len(r) <= _NAME_MAX),
            workspace=workspace if isinstance(workspace, str) and 0 < len(workspace) <= 64 else None,
            via="oidc",
        )


def _claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by dotted path (`realm_access.roles` for Keycloak)."""
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _unauthorized(message: str, hint: str | None = None) -> ZhongtaiError:
    return ZhongtaiError(
        ErrorCode.UNAUTHORIZED, message, hint or "send a valid token from the identity provider"
    )


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _unauthorized(f"the token's {what} is not base64url") from None


def _part(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64(text, what))
    except (ValueError, UnicodeDecodeError):
        raise _unauthorized(f"the token's {what} is not JSON") from None
    if not isinstance(value, dict):
        raise _unauthorized(f"the token's {what} is not a JSON object")
    return value


def _int(text: Any) -> int:
    return int.from_bytes(_b64(str(text), "key"), "big")


def _public_key(jwk: dict[str, Any]) -> Any:
    """An RSA or P-256 public key from its JWK; None for a key type this verifier does not use."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        if jwk.get("kty") == "RSA":
            return rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
        if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
            return ec.EllipticCurvePublicNumbers(_int(jwk["x"]), _int(jwk["y"]), ec.SECP256R1()).public_key()
    except (KeyError, ValueError, ZhongtaiError):
        return None
    return None


def _check_signature(algorithm: str, key: Any, signed: bytes, signature: bytes) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    try:
        if algorithm == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            return
        if algorithm == "ES256" and isinstance(key, ec.EllipticCurvePublicKey) and len(signature) == 64:
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.verify(utils.encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
            return
    except InvalidSignature:
        pass
    raise _unauthorized("the token's signature does not verify")
