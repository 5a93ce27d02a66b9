"""Signing keys the tests generate, tokens signed with them, and a JWKS document served on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

ISSUER = "https://idp.example.test/realms/retail"
AUDIENCE = "zhongtai-gateway"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@cache
def _private_key(algorithm: str, label: str) -> Any:
    """One key pair per algorithm and label for the whole run: RSA generation is slow on a busy machine."""
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


class SigningKey:
    """An RS256 or ES256 key pair with a kid; another `label` gives another key pair."""

    def __init__(self, kid: str, algorithm: str = "RS256", label: str = "") -> None:
        self.kid, self.algorithm = kid, algorithm
        self.private = _private_key(algorithm, label or kid)

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        if self.algorithm == "RS256":
            return {"kty": "RSA", "kid": self.kid, "use": "sig", "n": _int(numbers.n), "e": _int(numbers.e)}
        return {"kty": "EC", "kid": self.kid, "crv": "P-256", "x": _int(numbers.x), "y": _int(numbers.y)}

    def token(self, claims: dict[str, Any] | None = None, **header: Any) -> str:
        """A signed token: by default valid for an hour, from ISSUER for AUDIENCE, subject alice."""
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "alice",
            "iat": now,
            "exp": now + 3600,
            **(claims or {}),
        }
        head = {"alg": self.algorithm, "typ": "JWT", "kid": self.kid, **header}
        signed = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(body).encode())}"
        if self.algorithm == "RS256":
            signature = self.private.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = utils.decode_dss_signature(self.private.sign(signed.encode(), ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signed}.{_b64(signature)}"


class Jwks:
    """The JWKS the server answers with; tests add keys to it (a provider rotating its signing key)."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.requests = 0


@contextmanager
def served_jwks(jwks: Jwks) -> Iterator[str]:
    """Serve the JWKS over HTTP on 127.0.0.1; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            jwks.requests += 1
            body = json.dumps({"keys": [k.jwk() for k in jwks.keys]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/realms/retail/protocol/openid-connect/certs"
    finally:
        server.shutdown()
        server.server_close()
