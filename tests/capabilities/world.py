"""A small real world for capability and gateway tests.

Specs go through the real path (YAML -> load_project -> plan -> apply), a real LightGBM booster is trained
on synthetic data and saved in the lake, registered and aliased `champion`, and feature values are written
to a real online store (SQLite file or Redis on 127.0.0.1 under a random prefix, removed afterwards).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from zhongtai.config import Settings
from zhongtai.features.online.base import OnlineStore, open_online_store
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.models.artifacts import ARTIFACT_FORMAT, save_booster
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

REDIS_URL = "redis://127.0.0.1:6379/0"
SPECS = """\
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: customer_activity
    entity: customer
    sql: SELECT customer_id, ts, orders_90d, spend_90d, days_since_order FROM orders_agg
    features:
      - {name: orders_90d, type: int64}
      - {name: spend_90d}
      - {name: days_since_order, type: int64}
  - name: customer_service
    entity: customer
    sql: SELECT customer_id, ts, tickets_30d, complained FROM tickets_agg
    features:
      - {name: tickets_30d, type: int64}
      - {name: complained, type: bool}
models:
  - name: churn
    entity: customer
    label: {sql: "SELECT customer_id, ts, label FROM churn_labels"}
    feature_views: [customer_activity, customer_service]
capabilities:
  - name: churn-risk
    model: churn
    input: customer_id
    description: Who is about to leave
    decisions:
      - {decision: watch, min_score: 0.3}
      - {decision: retain_offer, min_score: 0.6}
      - {decision: none, min_score: 0.0}
    fallback: {decision: new_customer, score: 0.5}
    explain_top: 3
  - name: churn-challenger
    model: churn
    alias: challenger
    input: customer_id
    decisions: [{decision: watch, min_score: 0.5}]
    fallback: {decision: new_customer}
policies:
  - name: test_roles
    description: What the roles the gateway tests give their keys may do (default deny otherwise)
    rules:
      - {name: callers, principals: ["role:caller"], actions: [call, see_explanation, read_features]}
      - {name: bare_callers, principals: ["role:bare"], actions: [call]}
      - {name: catalog_readers, principals: ["role:catalog"], actions: [read_catalog, read_models]}
      - {name: modelers, principals: ["role:models"], actions: [read_models, submit, approve, promote, change_traffic]}
      - {name: pushers, principals: ["role:push"], actions: [push_features]}
"""
# Features in training order; the second view's are named with the view qualifier to exercise both forms.
FEATURES = ["orders_90d", "spend_90d", "days_since_order", "customer_service__tickets_30d", "complained"]
KNOWN_IDS = [str(1000 + i) for i in range(40)]


def grant_test_roles(store: MetadataStore) -> None:
    """Apply the SPECS' `test_roles` policy alone, for tests with a store of their own: default deny would
    refuse their keys everything otherwise."""
    import yaml

    from zhongtai.meta.records import Change

    [policy] = yaml.safe_load(SPECS)["policies"]
    store.apply([Change("policies", "create", policy["name"], policy)], "test")


@dataclass
class World:
    store: MetadataStore
    storage: LakeStorage
    online: OnlineStore
    settings: Settings
    booster: Any
    rows: dict[str, dict[str, dict[str, Any]]]  # entity key -> view -> values written


def _synthetic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.column_stack(
        [
            rng.poisson(3, n),
            rng.gamma(2.0, 150.0, n),
            rng.integers(0, 120, n),
            rng.poisson(0.6, n),
            rng.integers(0, 2, n),
        ]
    ).astype(np.float64)
    logit = -0.4 * x[:, 0] + 0.03 * x[:, 2] + 0.8 * x[:, 3] + 1.2 * x[:, 4] - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    return x, y


@cache
def train_booster(seed: int = 7) -> Any:
    """A real tiny LightGBM binary classifier on synthetic churn-like data (trained once per seed)."""
    import lightgbm

    x, y = _synthetic(np.random.default_rng(seed), 3000)
    params = {"objective": "binary", "num_leaves": 8, "learning_rate": 0.2, "verbose": -1, "seed": seed}
    params["num_threads"] = 1  # many threads on a busy machine only add start-up time
    return lightgbm.train(params, lightgbm.Dataset(x, label=y, feature_name=FEATURES), num_boost_round=25)


def register_model(store: MetadataStore, storage: LakeStorage, booster: Any, alias: str = "champion") -> int:
    """Save the booster in the lake, register it as a new version of `churn` and point the alias at it."""
    artifact = save_booster(storage, "churn", booster)
    version = store.models.register("churn", artifact, ARTIFACT_FORMAT, FEATURES, {}, {}, None, "test")
    store.models.set_alias("churn", version.version, alias)
    return version.version


def _feature_rows(rng: np.random.Generator) -> dict[str, dict[str, dict[str, Any]]]:
    x, _ = _synthetic(rng, len(KNOWN_IDS))
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for key, values in zip(KNOWN_IDS, x, strict=True):
        rows[key] = {
            "customer_activity": {
                "orders_90d": int(values[0]),
                "spend_90d": round(float(values[1]), 2),
                "days_since_order": int(values[2]),
            },
            "customer_service": {"tickets_30d": int(values[3]), "complained": bool(values[4])},
        }
    # One customer only the activity view knows: the model still runs, with the missing values as NaN.
    del rows[KNOWN_IDS[-1]]["customer_service"]
    return rows


def write_features(online: OnlineStore, rows: dict[str, dict[str, dict[str, Any]]]) -> None:
    for view in ("customer_activity", "customer_service"):
        online.write(view, [(key, views[view]) for key, views in rows.items() if view in views])


@contextmanager
def online_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A real online store URL: a SQLite file, or Redis under a random prefix whose keys are removed after."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'online.db'}"
        return
    import redis

    prefix = f"zt_test_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{REDIS_URL}?prefix={prefix}"
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def build_world(tmp_path: Path, metadata_url: str, online: str) -> World:
    """Register the specs, train and register the model, fill the online store."""
    folder = tmp_path / "project"
    folder.mkdir(exist_ok=True)
    (folder / "churn.yaml").write_text(SPECS)
    store = MetadataStore(metadata_url)
    apply_plan(build_plan(load_project(folder), store), store)
    storage = LakeStorage(str(tmp_path / "lake"))
    booster = train_booster()
    register_model(store, storage, booster)
    online_store = open_online_store(online)
    rows = _feature_rows(np.random.default_rng(11))
    write_features(online_store, rows)
    settings = Settings(
        home=tmp_path / "home",
        metadata_url=metadata_url,
        lake_url=storage.url,
        offline_engine="duckdb",
        online_url=online,
        bus_url=f"sqlite:///{tmp_path / 'bus.db'}",
    )
    return World(store, storage, online_store, settings, booster, rows)


def model_row(values: dict[str, dict[str, Any]]) -> np.ndarray:
    """The row the model should see for one entity's online values (missing -> NaN)."""
    activity = values.get("customer_activity", {})
    service = values.get("customer_service", {})
    row = [
        activity.get("orders_90d"),
        activity.get("spend_90d"),
        activity.get("days_since_order"),
        service.get("tickets_30d"),
        service.get("complained"),
    ]
    return np.array([[np.nan if v is None else float(v) for v in row]], dtype=np.float64)
