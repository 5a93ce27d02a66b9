"""A forecast model trained from its label SQL over the lake, published as a dataset the feature store reads,
and served by its capability; bad input registers nothing."""

from __future__ import annotations

import pytest

from zhongtai.capabilities.runtime import build_runtime
from zhongtai.catalog.lineage import LineageGraph
from zhongtai.errors import ZhongtaiError
from zhongtai.features.online import open_online_store
from zhongtai.lake.reader import read_table
from zhongtai.models import aliases
from zhongtai.models.cards import card_of, render_markdown
from zhongtai.models.forecast import load_forecast
from zhongtai.models.outputs import publish_outputs, refresh_views
from zhongtai.models.train import train_model

from .forecast_world import HORIZON, make_world

pytestmark = pytest.mark.integration


@pytest.fixture
def world(tmp_path):
    found = make_world(tmp_path)
    yield found
    found.store.close()


def _champion(world):
    version = train_model(world.store, world.lake, "demand")
    aliases.move(world.store, "demand", version.version, "champion", "tester", "test")
    return version


def test_the_model_beats_seasonal_naive_and_learns_the_promotion(world):
    version = _champion(world)
    metrics = version.metrics
    assert version.artifact_format == "forecast-npz"
    assert metrics["validation"]["mase"] < metrics["baseline"]["mase"]
    assert metrics["baseline"]["model"] == "seasonal_naive"
    assert 0.5 < metrics["validation"]["coverage_80"] <= 1.0
    assert metrics["datasets"] == {"sales": 1, "promos": 1}
    (sale,) = version.params["lifts"]
    assert sale["values"] == {"promotion": "sale", "promo_day": 2} and 1.5 < sale["lift"] < 2.6
    found = load_forecast(world.lake, version.artifact)
    assert found.series == 12 and found.arrays["mean"].shape == (12, HORIZON)
    # The sale planned on the horizon's 4th day (a Sunday) is forecast well above the Saturday and the
    # Monday beside it (without the sale a Sunday sells less than a Saturday).
    mean = found.arrays["mean"]
    assert (mean[:, 3] > 1.5 * mean[:, [2, 4]].max(axis=1)).all()


def test_outputs_are_published_as_a_dataset_a_view_reads_and_the_capability_serves(world, tmp_path):
    version = _champion(world)
    published = publish_outputs(world.store, world.lake, "demand")
    assert (published.dataset, published.dataset_version, published.rows) == ("demand_forecasts", 1, 12)
    table = read_table(world.store, world.lake, "demand_forecasts")
    assert set(table["model_version"].to_pylist()) == {version.version}
    assert {
        "forecast_7d",
        "forecast_7d_lo_80",
        "forecast_7d_hi_80",
        "stockout_risk_7d",
        "stockout_risk_1d",
    } <= set(table.column_names)
    # The next day's risk is measured against the shelf alone: an empty shelf is certain to stay empty, and
    # a shelf holding a week's demand is not emptied in a day.
    artifact = load_forecast(world.lake, version.artifact)
    shelf = (
        read_table(world.store, world.lake, "sales")
        .to_pandas()
        .sort_values("day")
        .groupby(["item_id", "store_id"])["on_hand"]
        .last()
    )
    rows = table.to_pandas().set_index(["item_id", "store_id"])
    for key, on_hand in shelf.items():
        risk = rows.loc[key, "stockout_risk_1d"]
        assert risk == 1.0 if on_hand == 0 else 0.0 <= risk < 1.0
    assert artifact.arrays["risk_1d"].shape == (12,)
    online = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
    try:
        assert refresh_views(world.store, world.lake, online, "demand_forecasts") == {"demand_outlook": 12}
        stored = online.read("11|2", ["demand_outlook"])["demand_outlook"]
        runtime = build_runtime("demand-risk", world.store, world.lake, online)
        answer = runtime.decide({"item_id": 11, "store_id": 2}).to_dict()
        same = runtime.decide({"item_store": ["11", 2]}).to_dict()
        unknown = runtime.decide({"item_id": 99, "store_id": 2}).to_dict()
        with pytest.raises(ZhongtaiError, match=r"field 'store_id' is required"):
            runtime.decide({"item_id": 11})
    finally:
        online.close()
    # Served from the version's artifact, the same numbers the view published.
    assert answer["risk"] == pytest.approx(stored["stockout_risk_7d"], abs=1e-4)
    assert answer["forecast"]["total"] == pytest.approx(stored["forecast_7d"], abs=1e-3)
    assert answer["decision"] == ("reorder" if answer["risk"] >= 0.5 else "fine")
    assert answer["interval"]["level"] == 80 and answer["interval"]["lo"] <= answer["interval"]["hi"]
    assert len(answer["forecast"]["daily"]) == 7 and answer["model"]["version"] == version.version
    assert same["risk"] == answer["risk"]
    assert unknown["fallback"] is True and unknown["decision"] == "unknown"
    graph = LineageGraph.from_store(world.store)
    relations = {(str(e.upstream), str(e.downstream), e.relation) for e in graph.edges}
    assert ("model demand", "dataset demand_forecasts", "produces") in relations
    assert ("dataset demand_forecasts", "feature view demand_outlook", "reads") in relations
    assert ("dataset promos", "model demand", "moves") in relations


def test_a_series_shorter_than_two_seasons_is_refused_and_nothing_registered(tmp_path):
    world = make_world(tmp_path, days=12)
    try:
        with pytest.raises(
            ZhongtaiError, match=r"forecast\.season_length: 12 of 12 series have fewer than two"
        ):
            train_model(world.store, world.lake, "demand")
        assert world.store.models.versions("demand") == []
    finally:
        world.store.close()


def test_a_censoring_column_the_rows_lack_is_named(tmp_path):
    world = make_world(tmp_path, censored="out_of_stock")
    try:
        with pytest.raises(ZhongtaiError, match=r"the rows lack out_of_stock \(forecast\.censored\)"):
            train_model(world.store, world.lake, "demand")
        assert world.store.models.versions("demand") == []
    finally:
        world.store.close()


def test_publishing_before_a_champion_is_refused(world):
    with pytest.raises(ZhongtaiError, match="champion"):
        publish_outputs(world.store, world.lake, "demand")
    assert world.store.current_version("demand_forecasts") is None


def test_the_champion_moved_on_the_command_line_is_published(world, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from zhongtai.cli import context
    from zhongtai.cli.app import app

    for variable in ("ZT_METADATA_URL", "ZT_LAKE_URL", "ZT_ONLINE_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("ZT_HOME", str(tmp_path))  # the world's metadata.db and lake live here
    monkeypatch.setenv("ZT_PRINCIPAL", "tester")
    context.reset()
    runner = CliRunner()
    try:
        trained = runner.invoke(app, ["train", "demand"])
        moved = runner.invoke(app, ["models", "alias", "demand", "1", "champion"])
        again = runner.invoke(app, ["models", "publish", "demand", "--json"])
    finally:
        context.reset()
    assert trained.exit_code == 0, trained.output
    assert "MASE" in trained.stdout and "80% interval coverage" in trained.stdout
    assert "AUC" not in trained.stdout and "demand v1" in trained.stdout
    assert moved.exit_code == 0, moved.output
    assert "published demand v1 → demand_forecasts v1" in moved.stderr
    assert again.exit_code == 0, again.output
    body = json.loads(again.stdout)
    assert (body["model_version"], body["dataset"], body["dataset_version"]) == (1, "demand_forecasts", 2)
    assert body["views"] == {"demand_outlook": 12}


def test_the_card_shows_the_forecasts_own_figures_against_seasonal_naive(world):
    version = _champion(world)
    found, card = card_of(world.store, "demand")
    assert found.version == version.version and card["kind"] == "task" and card["task"] == "forecast"
    assert card["metrics"]["model"]["mase"] == version.metrics["validation"]["mase"]
    assert card["metrics"]["baseline"] == {
        "mase": version.metrics["baseline"]["mase"],
        "model": "seasonal_naive",
    }
    page = render_markdown(card, version.version)
    assert "| figure | model | baseline |" in page and "| mase | " in page and "| coverage_80 | " in page
    assert "## Label" in page and "FROM sales" in page
