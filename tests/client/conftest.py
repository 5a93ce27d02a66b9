from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.conftest import RunningGateway, served_world


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[RunningGateway]:
    """The churn world served by a real gateway (SQLite online store)."""
    tmp_path = tmp_path_factory.mktemp("client")
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}") as running:
        yield running
