from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.capabilities.world import World, build_world, online_url


@pytest.fixture(params=["sqlite", "redis"])
def world(request, tmp_path) -> Iterator[World]:
    """The churn world on each online store backend (metadata in SQLite: it is not on the hot path)."""
    with online_url(request.param, tmp_path) as url:
        built = build_world(tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", url)
        try:
            yield built
        finally:
            built.online.close()
            built.store.close()
