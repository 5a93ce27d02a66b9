"""A small real project with a multiclass and a regression model, from CSV files to served capabilities.

Two CSV files (monthly customer features; monthly labels: a segment and next month's spend) go through the
real path: YAML -> plan -> apply -> ingest -> feature view build -> point-in-time training set ->
`train_model` -> champion -> materialize. The labels follow the features with noise, so both models learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from zhongtai.features.materialize import materialize
from zhongtai.features.offline import build_view
from zhongtai.features.online import open_online_store
from zhongtai.features.online.base import OnlineStore
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.records import ModelVersion
from zhongtai.meta.store import MetadataStore
from zhongtai.models.train import train_model
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

SPECS = """\
sources:
  - {name: files, type: files, url: "DATA"}
datasets:
  - name: customer_months
    source: files
    path: customer_months.csv
    fields:
      - {name: customer_id, type: int64}
      - {name: ts, type: timestamp}
  - name: customer_outcomes
    source: files
    path: customer_outcomes.csv
    fields:
      - {name: customer_id, type: int64}
      - {name: ts, type: timestamp}
      - {name: segment, type: string}
      - {name: next_spend, type: float64}
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: customer_stats
    entity: customer
    sql: SELECT customer_id, ts, visits, basket, tenure FROM customer_months
    features:
      - {name: visits, type: int64}
      - {name: basket}
      - {name: tenure, type: int64}
models:
  - name: segment
    task: multiclass_classification
    entity: customer
    label: {sql: "SELECT customer_id, ts, segment AS label FROM customer_outcomes"}
    feature_views: [customer_stats]
    params: {num_boost_round: 60, min_data_in_leaf: 20, num_threads: 1}
    require_approval: false
  - name: spend
    task: regression
    entity: customer
    label: {sql: "SELECT customer_id, ts, next_spend AS label FROM customer_outcomes"}
    feature_views: [customer_stats]
    params: {num_boost_round: 60, min_data_in_leaf: 20, num_threads: 1}
    require_approval: false
capabilities:
  - name: segment-of
    model: segment
    input: customer_id
    fallback: {decision: unknown}
    explain_top: 2
  - name: spend-band
    model: spend
    input: customer_id
    value_bands:
      - {decision: high, min_value: 300}
      - {decision: medium, min_value: 100}
    fallback: {decision: unknown}
  - name: spend-value
    model: spend
    input: customer_id
    fallback: {decision: unknown}
"""
CUSTOMERS = 150
MONTHS = 6


@dataclass
class TabularWorld:
    store: MetadataStore
    storage: LakeStorage
    online: OnlineStore
    versions: dict[str, ModelVersion]


def _write_csvs(folder: Path, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    features = ["customer_id,ts,visits,basket,tenure"]
    outcomes = ["customer_id,ts,segment,next_spend"]
    for month in range(MONTHS):
        ts = datetime(2025, 1 + month, 1, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S")
        for customer in range(1, CUSTOMERS + 1):
            visits, basket, tenure = rng.poisson(4), rng.gamma(2.0, 30.0), rng.integers(1, 1000)
            features.append(f"{customer},{ts},{visits},{basket:.2f},{tenure}")
            # Interactions and a cap a linear model cannot follow, so the boosted trees have work to do.
            spend = 30 * min(visits, 5) + (1.8 if tenure > 400 else 0.4) * basket + rng.normal(0, 12)
            worth = spend + rng.normal(0, 25)
            segment = "gold" if worth > 200 else "silver" if worth > 110 else "bronze"
            outcomes.append(f"{customer},{ts},{segment},{spend:.2f}")
    (folder / "customer_months.csv").write_text("\n".join(features) + "\n")
    (folder / "customer_outcomes.csv").write_text("\n".join(outcomes) + "\n")


def build_tabular_world(tmp_path: Path) -> TabularWorld:
    """Apply the project, ingest, build, train both models, make them champion and materialize."""
    data, project = tmp_path / "data", tmp_path / "project"
    data.mkdir()
    project.mkdir()
    _write_csvs(data)
    (project / "specs.yaml").write_text(SPECS.replace("DATA", str(data)))
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    storage = LakeStorage(str(tmp_path / "lake"))
    apply_plan(build_plan(load_project(project), store), store)
    for dataset in ("customer_months", "customer_outcomes"):
        ingest(store, storage, dataset)
    build_view(store, storage, "customer_stats")
    versions = {}
    for model in ("segment", "spend"):
        versions[model] = train_model(store, storage, model)
        store.models.set_alias(model, versions[model].version, "champion")
    online = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
    materialize(store, storage, online, "customer_stats")
    return TabularWorld(store, storage, online, versions)
