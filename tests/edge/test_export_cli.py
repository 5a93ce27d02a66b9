"""`zhongtai export bundle` as a user types it, on the churn world's stores (configured by ZT_* variables)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tests.capabilities.world import KNOWN_IDS, World, build_world
from zhongtai.cli import context
from zhongtai.cli.app import app
from zhongtai.edge import load_bundle

pytestmark = pytest.mark.integration


@pytest.fixture
def world(tmp_path, monkeypatch) -> Iterator[World]:
    built = build_world(
        tmp_path, f"sqlite:///{tmp_path / 'metadata.db'}", f"sqlite:///{tmp_path / 'online.db'}"
    )
    s = built.settings
    for name, value in {
        "ZT_HOME": str(s.home),
        "ZT_METADATA_URL": s.metadata_url,
        "ZT_LAKE_URL": s.lake_url,
        "ZT_ONLINE_URL": s.online_url,
        "ZT_BUS_URL": s.bus_url,
    }.items():
        monkeypatch.setenv(name, value)
    context.reset()
    try:
        yield built
    finally:
        context.reset()
        built.online.close()
        built.store.close()


def test_export_bundle_writes_a_bundle_and_says_what_it_holds(world, tmp_path):
    entities = tmp_path / "customers.txt"
    entities.write_text("# customers of the shop\n" + "\n".join(KNOWN_IDS[:10]) + "\n\nnobody\n")
    out = tmp_path / "bundle"
    result = CliRunner().invoke(
        app, ["export", "bundle", "churn-risk", "--out", str(out), "--entities", str(entities)]
    )
    assert result.exit_code == 0, result.output
    assert f"bundle churn-risk: churn v1 (lightgbm-text) written to {out}" in result.output
    assert "snapshot: 10 of 11 entities with stored values" in result.output
    bundle = load_bundle(out)
    assert bundle.decide({"customer_id": "nobody"})["fallback"] is True
    assert bundle.decide({"customer_id": KNOWN_IDS[0]})["model"] == {"name": "churn", "version": 1}


def test_export_bundle_json_summary_and_errors(world, tmp_path):
    out = tmp_path / "bundle"
    result = CliRunner().invoke(app, ["export", "bundle", "churn-risk", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["capability"], summary["version"], summary["entities"]) == ("churn-risk", 1, 0)
    assert "manifest.json" not in summary["files"] and "model/v1/model.txt" in summary["files"]
    again = CliRunner().invoke(app, ["export", "bundle", "churn-risk", "--out", str(out)])
    assert again.exit_code == 1
    assert f"error: {out} exists and is not empty" in again.output
    assert "Traceback" not in again.output
    unknown = CliRunner().invoke(app, ["export", "bundle", "nope", "--out", str(tmp_path / "other")])
    assert unknown.exit_code == 1
    assert "capability 'nope'" in unknown.output
    assert not (tmp_path / "other").exists()
