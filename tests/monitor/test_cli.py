"""`zhongtai monitor drift` on a small served world: answers go through a real gateway into the decision
log, the command compares them with the serving version's profile, prints, stores and lists the report."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from tests.capabilities.world import FEATURES, KNOWN_IDS, World, _synthetic
from tests.gateway.conftest import served_world
from zhongtai.cli import context
from zhongtai.cli import monitor as monitor_cli
from zhongtai.cli.app import _Group
from zhongtai.cli.output import console
from zhongtai.models.artifacts import ARTIFACT_FILE, ARTIFACT_FORMAT, save_files
from zhongtai.monitor.profile import PROFILE_FILE, build_profile
from zhongtai.monitor.reference import with_profile

pytestmark = pytest.mark.integration
SPEND_SCALE = 3.0  # the reference's spend is three times what the online store holds: a known shift


def _profiled_champion(world: World) -> None:
    """A second version of `churn` (the same booster) whose reference profile is saved and recorded as
    training would, from data like the online store's except spend, then made champion."""
    x, _ = _synthetic(np.random.default_rng(21), 3000)
    x[:, 1] *= SPEND_SCALE
    profile = build_profile({name: x[:, i] for i, name in enumerate(FEATURES)}, world.booster.predict(x))
    files = {ARTIFACT_FILE: world.booster.model_to_string().encode(), PROFILE_FILE: profile.to_json()}
    artifact = save_files(world.storage, "churn", files, ARTIFACT_FILE)
    within = with_profile(profile, "churn", artifact)
    version = world.store.models.register(
        "churn", artifact, ARTIFACT_FORMAT, FEATURES, {}, {}, None, "t", within
    )
    world.store.models.set_alias("churn", version.version, "champion")


def _app() -> typer.Typer:
    root = typer.Typer(cls=_Group, no_args_is_help=True, pretty_exceptions_enable=False)
    root.add_typer(monitor_cli.app, name="monitor")
    return root


@pytest.fixture
def served(tmp_path, monkeypatch):
    context.reset()
    monkeypatch.setattr(console, "_width", 160)  # a wide terminal: the table's columns are not cut
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}", prepare=_profiled_champion) as gateway:
        keys = [k for k in KNOWN_IDS for _ in range(5)]
        with httpx.Client(base_url=gateway.url, headers={"Authorization": f"Bearer {gateway.key}"}) as client:
            for start in range(0, len(keys), 50):
                batch = [{"customer_id": k} for k in keys[start : start + 50]]
                response = client.post("/v1/capabilities/churn-risk/decide/batch", json={"inputs": batch})
                assert response.status_code == 200, response.text
        deadline = time.monotonic() + 60  # the log writes off the request path, in batches
        while gateway.world.store.decisions.count("churn-risk") < len(keys) and time.monotonic() < deadline:
            time.sleep(0.1)
        settings = gateway.world.settings
        env = {
            "ZT_HOME": str(settings.home),
            "ZT_METADATA_URL": settings.metadata_url,
            "ZT_LAKE_URL": settings.lake_url,
        }
        runner = CliRunner()
        yield lambda *args: runner.invoke(_app(), list(args), env=env, catch_exceptions=False)
    context.reset()


def test_drift_finds_the_known_shift_prints_stores_and_lists_it(served):
    result = served("monitor", "drift", "churn-risk", "--window", "1h", "--json")
    assert result.exit_code == 0, result.output
    [checked] = json.loads(result.stdout)
    assert checked["model"] == "churn" and checked["version"] == 2 and checked["decisions"] == 200
    verdicts = {r["name"]: r["verdict"] for r in checked["report"]["results"]}
    assert list(verdicts) == [*FEATURES, "score"]
    assert verdicts["spend_90d"] == "major"
    assert {verdicts[name] for name in FEATURES if name != "spend_90d"} == {"ok"}
    # each customer counts once however often it was scored: 40 customers, not 200 answers
    assert {r["rows"] for r in checked["report"]["results"]} == {len(KNOWN_IDS)}

    shown = served("monitor", "drift", "churn-risk", "--window", "1h")
    assert shown.exit_code == 0, shown.output
    for text in ("churn v2", "200 decisions", "40 distinct requests", "spend_90d", "PSI", "major"):
        assert text in shown.stdout

    listed = json.loads(served("monitor", "reports", "churn-risk", "--json").stdout)
    assert [r["id"] for r in listed] == [checked["report"]["id"] + 1, checked["report"]["id"]]
    assert listed[1]["results"] == checked["report"]["results"]


def test_bad_durations_are_clear_errors(served):
    result = served("monitor", "drift", "churn-risk", "--window", "a week")
    assert result.exit_code == 1 and "--window 'a week': give a duration like 7d, 24h or 90m" in result.output
    result = served("monitor", "drift", "churn-risk", "--every", "10s")
    assert result.exit_code == 1 and "--every 10s: check at most once a minute" in result.output
