from __future__ import annotations

import pytest

from zhongtai.meta.store import MetadataStore


@pytest.fixture
def store(metadata_url):
    opened = MetadataStore(metadata_url)
    yield opened
    opened.close()
