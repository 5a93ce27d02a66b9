"""Serving follows the registry: a moved alias, a new capability or a removed one reaches the loaded runtimes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tests.capabilities.world import KNOWN_IDS, World, build_world, register_model, train_booster
from zhongtai.capabilities.serving import Capabilities, RegistryWatcher
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration


@pytest.fixture
def served(metadata_url, tmp_path) -> Iterator[tuple[World, Capabilities, RegistryWatcher]]:
    """The churn world loaded as a gateway loads it, with a watcher polled by hand (no thread)."""
    world = build_world(tmp_path, metadata_url, f"sqlite:///{tmp_path / 'online.db'}")
    capabilities = Capabilities.load_all(world.store, world.storage, world.online)
    watcher = RegistryWatcher(capabilities, world.store.serving_signal)
    watcher._seen = watcher._read()  # start() without the thread: the test polls with check()
    try:
        yield world, capabilities, watcher
    finally:
        world.online.close()
        world.store.close()


def _served_version(capabilities: Capabilities, name: str = "churn-risk") -> int | None:
    return capabilities.get(name).decide({"customer_id": KNOWN_IDS[0]}).model_version


def test_a_moved_alias_is_served_after_one_poll_and_nothing_else_is_rebuilt(served, metadata_url):
    world, capabilities, watcher = served
    assert watcher.check() == {} and watcher.syncs == 0  # nothing moved: no sync, no rebuild
    before = capabilities.get("churn-risk")
    v2 = register_model(world.store, world.storage, train_booster(seed=8), alias="candidate")
    # Another process moves the alias: its own store on the same database.
    other = MetadataStore(metadata_url)
    try:
        assert watcher.check() == {}  # registering and a non-serving alias change nothing that serves
        assert capabilities.get("churn-risk") is before
        other.models.set_alias("churn", v2, "champion")
    finally:
        other.close()
    frozen = gc.get_freeze_count()
    assert watcher.check() == {"churn-risk": "churn v2 (was v1)"}
    # The new runtime is kept out of the cyclic collector's walks, as startup's objects are.
    assert gc.get_freeze_count() > frozen
    gc.unfreeze()  # the other tests' objects go back to the collector
    assert _served_version(capabilities) == 2
    assert capabilities.get("churn-risk").target != before.target
    # The old runtime still answers for a request that held it: it was replaced, not torn down.
    assert before.decide({"customer_id": KNOWN_IDS[0]}).model_version == 1


def test_a_capability_waiting_for_its_alias_starts_serving_when_the_alias_appears(served):
    world, capabilities, watcher = served
    assert "churn-challenger" in capabilities.errors  # no challenger yet
    register_model(world.store, world.storage, train_booster(seed=9), alias="challenger")
    assert watcher.check() == {"churn-challenger": "churn v2 (was nothing)"}
    assert "churn-challenger" not in capabilities.errors
    assert _served_version(capabilities, "churn-challenger") == 2


def test_a_version_that_cannot_load_leaves_the_old_one_serving(served):
    world, capabilities, watcher = served
    v2 = register_model(world.store, world.storage, train_booster(seed=8), alias="spare")
    artifact = world.store.models.get("churn", v2).artifact
    world.storage.remove(artifact.rsplit("/", 1)[0])
    world.store.models.set_alias("churn", v2, "champion")
    assert watcher.check() == {}
    assert _served_version(capabilities) == 1
    assert (
        "model artifact" in capabilities.stale["churn-risk"]
        and "is missing" in capabilities.stale["churn-risk"]
    )
    # Fixing the registry (back to v1) clears the note without a rebuild of what already serves.
    world.store.models.set_alias("churn", 1, "champion")
    assert watcher.check() == {}
    assert "churn-risk" not in capabilities.stale


def test_a_removed_capability_stops_serving(served, tmp_path):
    world, capabilities, watcher = served
    folder = tmp_path / "project"
    text = (folder / "churn.yaml").read_text()
    cut = text.index("  - name: churn-challenger")
    (folder / "churn.yaml").write_text(text[:cut])
    apply_plan(build_plan(load_project(folder), world.store), world.store, allow_delete=True)
    register_model(world.store, world.storage, train_booster(seed=9), alias="challenger")
    watcher.check()
    assert capabilities.names() == ["churn-risk"] and capabilities.errors == {}


def test_an_unreachable_store_keeps_serving_and_is_retried(served):
    world, capabilities, watcher = served
    calls = {"n": 0}

    def flaky() -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("store down")
        return world.store.serving_signal()

    watcher._signal = flaky
    register_model(world.store, world.storage, train_booster(seed=8))  # moves champion to v2
    assert watcher.check() == {}  # the store is "down": nothing changes, nothing raises
    assert _served_version(capabilities) == 1
    assert watcher.check() == {"churn-risk": "churn v2 (was v1)"}


@pytest.mark.unit
def test_the_poll_interval_comes_from_the_environment():
    from zhongtai.config import Settings
    from zhongtai.errors import ZhongtaiError

    assert Settings.from_env({"ZT_HOME": "/tmp/zt"}).serving_poll_seconds == 1.0
    assert Settings.from_env({"ZT_SERVING_POLL": "0.25"}).serving_poll_seconds == 0.25
    for bad in ("0", "-1", "nan", "soon"):
        with pytest.raises(ZhongtaiError, match="ZT_SERVING_POLL must be a positive number"):
            Settings.from_env({"ZT_SERVING_POLL": bad})
