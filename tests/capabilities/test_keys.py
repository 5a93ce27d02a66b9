from __future__ import annotations

import pytest

from zhongtai.capabilities.keys import ApiKeys
from zhongtai.errors import ZhongtaiError
from zhongtai.meta.store import MetadataStore

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path):
    opened = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    yield opened
    opened.close()


def test_known_key_is_checked_in_memory(store):
    key = store.access.create_key("crm", ["caller"])
    keys = ApiKeys(store.access)
    principal = keys.check(key)
    assert (principal.name, principal.roles) == ("crm", ("caller",))
    for _ in range(100):
        keys.check(key)
    assert keys.reloads == 1


def test_missing_and_unknown_keys_are_unauthorized(store):
    keys = ApiKeys(store.access)
    with pytest.raises(ZhongtaiError, match="missing API key") as missing:
        keys.check(None)
    assert missing.value.http_status == 401
    with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
        keys.check("zt_not-a-key")


def test_a_key_created_later_works_at_once_and_unknown_keys_reload_at_most_20_times_a_second(store):
    clock = Clock()
    keys = ApiKeys(store.access, clock=clock)
    with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
        keys.check("zt_guess-1")
    clock.now += 0.06  # a moment later, as `zhongtai keys create` in another process
    key = store.access.create_key("erp", ["caller"])
    assert keys.check(key).name == "erp"
    reloads = keys.reloads
    for guess in range(100):  # a burst of bad keys over half a second costs at most ten store reads
        clock.now += 0.005
        with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
            keys.check(f"zt_guess-{guess}")
    assert 1 <= keys.reloads - reloads <= 10


def test_a_key_made_just_after_a_reload_works_on_its_first_request_and_is_not_remembered_unknown(store):
    keys = ApiKeys(store.access)  # the real clock: the check waits out the rest of the reload interval
    with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
        keys.check("zt_guess")  # a reload, now
    key = store.access.create_key("erp", ["caller"])  # within the 50 ms that follow
    assert keys.check(key).name == "erp"
    assert keys.check(key).name == "erp"


def test_a_revoked_key_is_refused_once_the_map_is_refreshed(store):
    clock = Clock()
    key = store.access.create_key("bpm", ["caller"])
    keys = ApiKeys(store.access, max_age_s=30, clock=clock)
    assert keys.check(key).name == "bpm"
    store.access.revoke("bpm")
    clock.now += 31
    with pytest.raises(ZhongtaiError, match="unknown or revoked API key"):
        keys.check(key)
