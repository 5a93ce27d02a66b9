"""Identities: API keys with expiry and rotation, unknown keys cached, OIDC tokens against a JWKS on 127.0.0.1."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.govern.jwks import AUDIENCE, ISSUER, Jwks, SigningKey, served_jwks
from zhongtai.capabilities.keys import ApiKeys
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.identity import Identities
from zhongtai.govern.jwt import JwksVerifier, OidcSettings
from zhongtai.meta.records import ActiveKey
from zhongtai.meta.store import MetadataStore

pytestmark = pytest.mark.integration


@pytest.fixture
def store(tmp_path):
    opened = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    yield opened
    opened.close()


class CountingSource:
    """The store's key table, counting the queries made to it."""

    def __init__(self, store: MetadataStore) -> None:
        self.store, self.queries = store, 0

    def active_hashes(self) -> dict[str, ActiveKey]:
        self.queries += 1
        return self.store.access.active_hashes()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_carries_its_workspace_scopes_and_roles(store):
    key = store.access.create_key(
        "campaigns", ["analyst"], workspace="marketing", scopes=["call"], owner="li"
    )
    principal = ApiKeys(store.access).check(key)
    assert (principal.name, principal.roles, principal.workspace, principal.scopes) == (
        "campaigns",
        ("analyst",),
        "marketing",
        ("call",),
    )
    [listed] = store.access.keys()
    assert (listed.owner, listed.workspace, listed.scopes) == ("li", "marketing", ["call"])


def test_an_expired_key_is_refused_with_its_name(store):
    wall = datetime.now(UTC)
    key = store.access.create_key("temp", ["caller"], expires_at=wall + timedelta(hours=1))
    keys = ApiKeys(store.access, wall_clock=lambda: wall)
    assert keys.check(key).name == "temp"
    wall += timedelta(hours=2)
    with pytest.raises(ZhongtaiError, match="API key 'temp' has expired") as expired:
        keys.check(key)
    assert expired.value.http_status == 401


def test_rotation_keeps_the_old_key_valid_during_the_grace_then_only_the_new_one(store):
    old = store.access.create_key("crm", ["app"])
    new = store.access.rotate("crm", timedelta(hours=24))
    assert new != old
    wall = datetime.now(UTC)
    keys = ApiKeys(store.access, wall_clock=lambda: wall)
    assert keys.check(old).name == keys.check(new).name == "crm"
    wall += timedelta(hours=25)
    assert keys.check(new).name == "crm"
    with pytest.raises(ZhongtaiError, match="API key 'crm' has expired"):
        keys.check(old)
    [listed] = store.access.keys()
    assert listed.previous_until is not None and listed.revoked_at is None


def test_a_revoked_key_cannot_be_rotated(store):
    store.access.create_key("gone", ["app"])
    store.access.revoke("gone")
    with pytest.raises(ZhongtaiError, match="API key 'gone' is revoked"):
        store.access.rotate("gone", timedelta(hours=1))


def test_an_unknown_key_sent_again_costs_no_database_query(store):
    source = CountingSource(store)
    clock = Clock()
    keys = ApiKeys(source, clock=clock)
    guess = "zt_" + secrets.token_urlsafe(32)
    for _ in range(1000):
        clock.now += 0.01  # ten seconds of the same wrong key, well past the reload floor
        with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
            keys.check(guess)
    assert source.queries == 1


def test_the_unknown_key_cache_is_bounded(store):
    source = CountingSource(store)
    keys = ApiKeys(source, unknown_cache_size=10, min_reload_s=3600)
    guesses = [f"zt_guess-{i}" for i in range(25)]
    for guess in guesses:
        with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
            keys.check(guess)
    # The newest guesses are known to be unknown; the oldest fell out (and would be looked up again).
    with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
        keys.cached(guesses[-1])
    assert keys.cached(guesses[0]) is None
    # Least recently sent goes first: the oldest cached guess, sent again, outlives the next one.
    with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
        keys.cached(guesses[15])
    with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
        keys.check("zt_guess-new")
    assert keys.cached(guesses[16]) is None
    with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
        keys.cached(guesses[15])
    assert source.queries == 1


def _verifier(url: str, **overrides) -> JwksVerifier:
    return JwksVerifier(OidcSettings(jwks_url=url, issuer=ISSUER, audience=AUDIENCE, **overrides))


def test_tokens_signed_rs256_and_es256_become_principals_with_roles_and_workspace():
    rsa_key, ec_key = SigningKey("rsa-1"), SigningKey("ec-1", "ES256")
    jwks = Jwks(rsa_key, ec_key)
    with served_jwks(jwks) as url:
        verifier = _verifier(url, roles_claim="realm_access.roles")
        claims = {"realm_access": {"roles": ["analyst"]}, "workspace": "marketing"}
        principal = verifier.principal(rsa_key.token(claims))
        assert (principal.name, principal.roles, principal.workspace, principal.via) == (
            "alice",
            ("analyst",),
            "marketing",
            "oidc",
        )
        assert verifier.principal(ec_key.token({"sub": "bob"})).name == "bob"
        token = rsa_key.token({"sub": "carol"})
        verifier.principal(token)
        assert verifier.cached(token) is not None
    assert jwks.requests == 1


@pytest.mark.parametrize(
    ("claims", "header", "message"),
    [
        ({"exp": int(time.time()) - 120}, {}, "the bearer token has expired"),
        ({"aud": "another-service"}, {}, r"not meant for this gateway \(audience\)"),
        ({"iss": "https://evil.example"}, {}, "issuer is not the configured one"),
        ({"exp": None}, {}, r"the token has no expiry \(exp\)"),
        ({}, {"alg": "HS256"}, "token algorithm is not one of RS256, ES256"),
        ({}, {"alg": "none"}, "token algorithm is not one of RS256, ES256"),
        ({}, {"kid": "unknown"}, "signing key is not in the identity provider's JWKS"),
    ],
)
def test_bad_tokens_are_unauthorized_naming_what_failed(claims, header, message):
    key = SigningKey("rsa-1")
    with served_jwks(Jwks(key)) as url, pytest.raises(ZhongtaiError, match=message) as failed:
        _verifier(url).principal(key.token(claims, **header))
    assert failed.value.http_status == 401


def test_a_token_signed_by_another_key_under_a_known_kid_fails_its_signature():
    known, forger = SigningKey("rsa-1"), SigningKey("rsa-1", label="forger")
    with served_jwks(Jwks(known)) as url, pytest.raises(ZhongtaiError, match="signature does not verify"):
        _verifier(url).principal(forger.token())


def test_clock_skew_within_the_leeway_is_accepted():
    key = SigningKey("rsa-1")
    with served_jwks(Jwks(key)) as url:
        recently_expired = key.token({"exp": int(time.time()) - 30})
        assert _verifier(url, leeway_s=60).principal(recently_expired).name == "alice"
        with pytest.raises(ZhongtaiError, match="expired"):
            _verifier(url, leeway_s=5).principal(recently_expired)


def test_an_unknown_kid_refreshes_the_jwks_once_and_a_rotated_signing_key_works():
    first, second = SigningKey("2026-11"), SigningKey("2026-12", "ES256")
    jwks = Jwks(first)
    with served_jwks(jwks) as url:
        verifier = _verifier(url, leeway_s=60)
        verifier._min_refresh_s = 0.0  # the provider rotates between two requests in this test
        assert verifier.principal(first.token()).name == "alice"
        jwks.keys.append(second)
        assert verifier.principal(second.token({"sub": "dave"})).name == "dave"
        assert jwks.requests == 2


def test_forged_kids_cannot_make_the_gateway_hammer_the_provider():
    key = SigningKey("rsa-1")
    jwks = Jwks(key)
    with served_jwks(jwks) as url:
        verifier = _verifier(url)
        for attempt in range(50):
            with pytest.raises(ZhongtaiError, match="not in the identity provider's JWKS"):
                verifier.principal(key.token(kid=f"forged-{attempt}"))
    assert jwks.requests == 1


def test_identities_tell_keys_from_tokens_and_refuse_tokens_when_oidc_is_off(store):
    key = store.access.create_key("crm", ["app"])
    signing = SigningKey("rsa-1")
    identities = Identities(ApiKeys(store.access))
    assert identities.resolve(key).name == "crm"
    with pytest.raises(ZhongtaiError, match="bearer tokens are not accepted by this gateway"):
        identities.resolve(signing.token())
    with served_jwks(Jwks(signing)) as url:
        with_tokens = Identities(ApiKeys(store.access), _verifier(url))
        token = signing.token()
        assert with_tokens.fast(token) is None  # the JWKS must be fetched first: not on the event loop
        assert with_tokens.resolve(token).name == "alice"
        assert with_tokens.fast(token) is not None
