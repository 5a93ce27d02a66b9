"""A small shop's daily sales per item x store, with stock-outs and a promotion calendar, as a project over
two CSV files applied and ingested into a real lake: what the forecast tests train, publish and serve.

Demand is Poisson around a level per series times a weekday profile, doubled on promotion peak days;
on a stock-out day (`sold_out`) the shelf sold only part of the demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

START = date(2026, 1, 1)
DAYS = 140
HORIZON = 14
WEEKDAY = np.array([0.8, 0.9, 1.0, 1.0, 1.1, 1.4, 1.3])
PEAKS = (34, 104, DAYS + 3)  # the last one lies in the horizon: planned, not yet seen
ITEMS, STORES = (11, 12, 13), (1, 2, 3, 4)

SPECS = """\
sources:
  - {{name: pos, type: files, url: "{folder}"}}
datasets:
  - name: sales
    source: pos
    path: sales.csv
    primary_key: [day, item_id, store_id]
    fields: [{{name: day, type: date}}, {{name: units, type: int64}}, {{name: sold_out, type: int64}}]
  - name: promos
    source: pos
    path: promos.csv
    primary_key: [day]
    fields: [{{name: day, type: date}}, {{name: promotion, type: string}}, {{name: promo_day, type: int64}}]
entities:
  - {{name: item_store, join_keys: [item_id, store_id], key_types: {{item_id: int64, store_id: int64}}}}
feature_views:
  - name: demand_outlook
    entity: item_store
    ttl: 7d
    sql: |
      SELECT item_id, store_id, forecast_date::TIMESTAMP AS ts, forecast_7d, stockout_risk_7d, model_version
      FROM demand_forecasts
    features:
      - {{name: forecast_7d, type: float64}}
      - {{name: stockout_risk_7d, type: float64}}
      - {{name: model_version, type: int64}}
models:
  - name: demand
    task: forecast
    entity: item_store
    require_approval: false
    label:
      sql: SELECT item_id, store_id, day::TIMESTAMP AS ts, units, sold_out, on_hand, on_order FROM sales
      timestamp: ts
      label: units
    forecast:
      horizon: {horizon}
      censored: {censored}
      exogenous:
        sql: SELECT day::TIMESTAMP AS ts, promotion, promo_day FROM promos
        columns: [promotion, promo_day]
      stock_risk: {{stock: [on_hand, on_order]}}
      outputs: demand_forecasts
capabilities:
  - name: demand-risk
    model: demand
    input: item_store
    decisions: [{{decision: reorder, min_score: 0.5}}, {{decision: fine}}]
    fallback: {{decision: unknown}}
"""


@dataclass
class World:
    store: MetadataStore
    lake: LakeStorage
    folder: Path


def write_sales(folder: Path, days: int = DAYS, seed: int = 3) -> None:
    """sales.csv and promos.csv (the calendar runs a horizon past the sales)."""
    rng = np.random.default_rng(seed)
    lines = ["day,item_id,store_id,units,sold_out,on_hand,on_order"]
    level = {(i, s): rng.uniform(3, 12) for i in ITEMS for s in STORES}
    for offset in range(days):
        day = START + timedelta(days=offset)
        lift = 2.0 if offset in PEAKS else 1.0
        for (item, store), mean in level.items():
            demand = rng.poisson(mean * WEEKDAY[day.weekday()] * lift)
            sold_out = rng.random() < 0.05
            units = int(demand * 0.3) if sold_out else demand
            on_hand, on_order = (0 if sold_out else int(rng.integers(0, 40))), int(rng.integers(0, 20))
            lines.append(f"{day},{item},{store},{units},{int(sold_out)},{on_hand},{on_order}")
    (folder / "sales.csv").write_text("\n".join(lines) + "\n")
    promos = ["day,promotion,promo_day"]
    for offset in range(days + HORIZON):
        peak = offset in PEAKS
        promos.append(f"{START + timedelta(days=offset)},{'sale' if peak else ''},{2 if peak else 0}")
    (folder / "promos.csv").write_text("\n".join(promos) + "\n")


def make_world(tmp_path: Path, days: int = DAYS, censored: str = "sold_out") -> World:
    """The project applied and both datasets ingested (SQLite metadata, a local lake)."""
    data, project = tmp_path / "data", tmp_path / "project"
    data.mkdir()
    project.mkdir()
    write_sales(data, days)
    specs = SPECS.format(folder=data, horizon=HORIZON, censored=censored)
    (project / "specs.yaml").write_text(specs)
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    lake = LakeStorage(str(tmp_path / "lake"))
    apply_plan(build_plan(load_project(project), store), store)
    for dataset in ("sales", "promos"):
        ingest(store, lake, dataset)
    return World(store, lake, tmp_path)
