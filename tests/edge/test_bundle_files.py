"""What a bundle holds and how it guards itself: every file hashed and checked on load, nothing written
half, the snapshot narrowed to the features the model reads, and capabilities it cannot serve refused."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.capabilities.world import KNOWN_IDS, World, build_world
from tests.edge.world_bundle import export
from zhongtai.edge import EdgeError, load_bundle
from zhongtai.edge.manifest import file_digest
from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import Change

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("edge_files")
    built = build_world(tmp, f"sqlite:///{tmp / 'metadata.db'}", f"sqlite:///{tmp / 'online.db'}")
    try:
        yield built
    finally:
        built.online.close()
        built.store.close()


@pytest.fixture
def folder(world, tmp_path):
    return export(world.store, world.storage, world.online, "churn-risk", tmp_path / "b", KNOWN_IDS[:5]).path


def test_the_manifest_names_the_version_and_hashes_every_file(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["capability"] == "churn-risk"
    assert manifest["model"] == {"name": "churn", "version": 1, "task": "binary"}
    assert manifest["artifact_format"] == "lightgbm-text"
    assert {"capability.json", "model/v1/model.txt", "snapshot.json", "zhongtai_edge/bundle.py"} <= set(
        manifest["files"]
    )
    assert all(file_digest(folder / name) == digest for name, digest in manifest["files"].items())


def test_the_snapshot_holds_only_what_the_model_reads(folder, world):
    snapshot = json.loads((folder / "snapshot.json").read_text())["views"]
    assert set(snapshot) == {"customer_activity", "customer_service"}
    assert snapshot["customer_service"][KNOWN_IDS[0]] == world.rows[KNOWN_IDS[0]]["customer_service"]
    assert set(snapshot["customer_activity"]) == set(KNOWN_IDS[:5])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("model/v1/model.txt", "does not match its SHA-256 in the manifest: it was changed after export"),
        ("capability.json", "does not match its SHA-256 in the manifest"),
        ("snapshot.json", "does not match its SHA-256 in the manifest"),
        ("zhongtai_edge/scoring.py", "does not match its SHA-256 in the manifest"),
    ],
)
def test_a_changed_file_is_refused_on_load(folder, change, message):
    with (folder / change).open("a") as out:
        out.write("\n")
    with pytest.raises(EdgeError, match=message):
        load_bundle(folder)


def test_a_missing_or_foreign_file_is_refused(folder, tmp_path, capsys):
    (folder / "model" / "v1" / "model.txt").unlink()
    with pytest.raises(EdgeError, match=r"bundle file .*model\.txt is missing"):
        load_bundle(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["../outside.txt"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EdgeError, match=r"lists '\.\./outside\.txt', outside the bundle"):
        load_bundle(folder)
    with pytest.raises(EdgeError, match="is not a bundle"):
        load_bundle(tmp_path)


def test_the_command_line_says_what_is_wrong_in_one_line(folder):
    import subprocess
    import sys

    ok = subprocess.run(
        [sys.executable, "-m", "zhongtai.edge", "verify", str(folder)], capture_output=True, text=True
    )
    files = len(json.loads((folder / "manifest.json").read_text())["files"])
    assert (ok.returncode, ok.stdout.strip()) == (
        0,
        f"churn-risk: {files} files match the manifest (churn v1)",
    )
    (folder / "capability.json").write_text("{}")
    bad = subprocess.run(
        [sys.executable, "-m", "zhongtai.edge", "verify", str(folder)], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith(
        f"error: bundle file {folder / 'capability.json'} does not match its SHA-256"
    )
    assert "Traceback" not in bad.stderr


def test_an_existing_folder_is_never_overwritten_unless_asked(world, tmp_path):
    out = tmp_path / "b"
    (tmp_path / "b").mkdir()  # an empty folder is fine
    export(world.store, world.storage, world.online, "churn-risk", out)
    with pytest.raises(ZhongtaiError, match=f"{out} exists and is not empty"):
        export(world.store, world.storage, world.online, "churn-risk", out, KNOWN_IDS[:2])
    assert not (out / "snapshot.json").exists()
    export(world.store, world.storage, world.online, "churn-risk", out, KNOWN_IDS[:2], replace=True)
    assert load_bundle(out).snapshot_keys == sorted(KNOWN_IDS[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no staging or old folder left behind


def test_a_bad_entity_key_names_its_line_and_nothing_is_written(world, tmp_path):
    with pytest.raises(ZhongtaiError, match=r"field 'entities:2' is blank"):
        export(world.store, world.storage, world.online, "churn-risk", tmp_path / "b", ["1000", "  "])
    assert list(tmp_path.iterdir()) == []


def test_a_text_capability_is_refused_with_what_the_edge_serves(world, tmp_path):
    model = {
        "name": "intent",
        "task": "text_classification",
        "entity": "customer",
        "label": {"sql": "SELECT customer_id, ts, label FROM intents"},
        "feature_views": ["customer_activity"],
        "text": {"column": "text"},
    }
    capability = {
        "name": "intent",
        "model": "intent",
        "input": "customer_id",
        "fallback": {"decision": "other"},
    }
    world.store.apply(
        [Change("models", "create", "intent", model), Change("capabilities", "create", "intent", capability)],
        "test",
    )
    with pytest.raises(
        ZhongtaiError, match="answers with a text_classification model, which the edge bundle does not serve"
    ):
        export(world.store, world.storage, world.online, "intent", tmp_path / "b")
    assert list(tmp_path.iterdir()) == []
