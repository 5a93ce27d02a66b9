"""Forecast settings: their checks, and the outputs dataset a forecast model declares (plan shows it)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import ModelSpec
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.unit

LABEL = {"sql": "SELECT item_id, ts, units FROM sales", "label": "units"}
SPECS = """\
sources:
  - {{name: pos, type: sql, url: "sqlite:///pos.db"}}
datasets:
  - {{name: sales, source: pos, table: sales}}
{extra}entities:
  - {{name: item, join_keys: [item_id]}}
models:
  - name: demand
    task: forecast
    entity: item
    label: {{sql: "SELECT item_id, ts, units FROM sales", label: units}}
    forecast: {{outputs: demand_forecasts, stock_risk: {{stock: [on_hand]}}}}
"""


def test_settings_are_checked_where_they_are_written():
    with pytest.raises(ValidationError, match="forecast settings apply to task forecast"):
        ModelSpec(name="m", entity="item", label=LABEL, feature_views=["v"], forecast={})
    with pytest.raises(ValidationError, match=r"interval levels are percents from 50 to 99, got \[40\]"):
        ModelSpec(name="m", task="forecast", entity="item", label=LABEL, forecast={"levels": [40]})
    with pytest.raises(ValidationError, match=r"stock_risk.horizon \(30\) must not exceed horizon \(28\)"):
        ModelSpec(
            name="m",
            task="forecast",
            entity="item",
            label=LABEL,
            forecast={"stock_risk": {"stock": ["on_hand"], "horizon": 30}},
        )
    spec = ModelSpec(name="m", task="forecast", entity="item", label=LABEL)
    assert (spec.forecast_settings.horizon, spec.forecast_settings.season_length) == (28, 7)


def test_the_plan_declares_the_outputs_dataset_with_the_model_as_its_origin(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "a.yaml").write_text(SPECS.format(extra=""))
    store = MetadataStore(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        plan = build_plan(load_project(folder), store)
        (step,) = [s for s in plan.steps if s.name == "demand_forecasts"]
        assert (step.kind, step.action, step.spec["model"]) == ("datasets", "create", "demand")
        names = [f["name"] for f in step.spec["fields"]]
        assert names[:2] == ["forecast_date", "forecast_7d"] and "stockout_risk_7d" in names
        apply_plan(plan, store)
        assert build_plan(load_project(folder), store).empty
        assert store.dataset_spec("demand_forecasts")[1] is None  # no source: the model produces it
    finally:
        store.close()


def test_a_declared_dataset_of_the_outputs_name_is_refused(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    extra = "  - {name: demand_forecasts, source: pos, table: forecasts}\n"
    (folder / "a.yaml").write_text(SPECS.format(extra=extra))
    with pytest.raises(ZhongtaiError, match=r"model 'demand' publishes to a dataset of this name"):
        load_project(folder)
