"""The PII master secret: from ZT_PII_KEY or a 0600 key file made on first use; derived keys never shown."""

from __future__ import annotations

import os
import stat

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.keys import PiiKeys, load_keys

pytestmark = pytest.mark.unit


def test_key_file_is_created_private_and_reused(tmp_path) -> None:
    first = load_keys(tmp_path / "home", environ={})
    path = tmp_path / "home" / "pii.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_keys(tmp_path / "home", environ={})
    assert again == first and len(first.token_key) == len(first.encryption_key) == 32
    assert first.token_key != first.encryption_key  # two HKDF labels, two independent keys
    assert [p.name for p in path.parent.iterdir()] == ["pii.key"]  # the draft file is gone


def test_environment_secret_wins_over_the_file(tmp_path) -> None:
    from_file = load_keys(tmp_path, environ={})
    secret = "an operator's secret of at least thirty-two characters"
    from_env = load_keys(tmp_path, environ={"ZT_PII_KEY": secret})
    assert from_env == PiiKeys.from_secret(secret.encode()) and from_env.key_id != from_file.key_id


def test_short_secret_is_refused(tmp_path) -> None:
    with pytest.raises(ZhongtaiError, match="ZT_PII_KEY is too short"):
        load_keys(tmp_path, environ={"ZT_PII_KEY": "hunter2"})


def test_key_file_readable_by_others_is_refused(tmp_path) -> None:
    load_keys(tmp_path, environ={})
    os.chmod(tmp_path / "pii.key", 0o644)
    with pytest.raises(ZhongtaiError, match="can be read by other users"):
        load_keys(tmp_path, environ={})


def test_keys_never_appear_in_their_repr(tmp_path) -> None:
    keys = load_keys(tmp_path, environ={})
    shown = repr(keys)
    assert keys.key_id in shown
    assert keys.token_key.hex() not in shown and str(keys.token_key) not in shown
    assert str(keys.encryption_key) not in shown
