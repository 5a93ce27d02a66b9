from __future__ import annotations

import pytest

from zhongtai.meta.store import MetadataStore


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata_url(request, tmp_path) -> str:
    """The metadata store in its embedded default and in its server form."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'metadata.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(metadata_url):
    opened = MetadataStore(metadata_url)
    yield opened
    opened.close()
