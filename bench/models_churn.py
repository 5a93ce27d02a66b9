"""The churn section of bench/models.py: the retail project's churn model on held-out months, against the
logistic baseline, a constant, and the generator's own truth (the oracle).

    python bench/models.py --only churn [--quick] [--customers 20000]

A retail scenario of `customers` people is generated in a throwaway ZT_HOME and taken through the platform
as a user would: apply the project, ingest every dataset, OneID, build the churn model's feature views, build
its point-in-time training set and train it (`train_model`: candidates, logistic and constant baselines,
all scored on the same held-out rows, the last 20% of label rows by cutoff time).

The oracle scores the same held-out rows with what only the generator knows. A label is 1 when the person
places no (uncancelled) order in the 90 days after the cutoff; the generator draws orders as a Poisson
process whose intensity is the person's rate x the day's demand x their activity (1, fading over the
150 days before their churn day, 0 after). So P(label = 1) = exp(-expected orders in the window), and
ranking rows by it is the best any model can do (`churn_oracle_auc`): what is left is the Poisson luck of
someone who buys five times a year going three months without buying. `churn_state_oracle_auc` knows only
the present: each person's true rate and activity on the cutoff day, held for the 90 days, which is the most
that any feature computed at the cutoff could carry.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore
    from zhongtai.scenarios.retail.orders import Orders

DEFAULT_CUSTOMERS = 20_000
QUICK_CUSTOMERS = 3_000
SEED = 7
MODEL = "churn"
LABEL_DAYS = 90  # the label window of sql/churn_labels.sql


def run(quick: bool, customers: int | None = None) -> dict[str, Any]:
    """Generate, ingest, resolve, build features, train and score the churn model; its rows and figures."""
    size = customers or (QUICK_CUSTOMERS if quick else DEFAULT_CUSTOMERS)
    with tempfile.TemporaryDirectory(prefix="zt-bench-churn-") as home:
        measured = measure(Path(home), size)
    return {"rows": rows(measured), "figures": measured}


def measure(home: Path, customers: int) -> dict[str, Any]:
    """The churn figures of a scenario of `customers` people prepared in the empty ZT_HOME `home`."""
    from zhongtai.config import Settings
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

    # Only ZT_HOME: a ZT_METADATA_URL or ZT_ONLINE_URL of the caller must not receive the bench's world.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZT_")} | {"ZT_HOME": str(home)}
    settings = Settings.from_env(env)
    store = MetadataStore(settings.metadata_url)
    lake = LakeStorage(settings.lake_url)
    try:
        truth_dir = prepare(store, lake, home / "retail", customers)
        return evaluate(store, lake, truth_dir, customers)
    finally:
        store.close()


def prepare(store: MetadataStore, lake: LakeStorage, out: Path, customers: int) -> Path:
    """Generate the scenario into `out`, apply its project, ingest, run OneID and build the churn model's
    feature views; returns the truth folder."""
    from zhongtai.features.offline import build_view
    from zhongtai.identity.run import identity_spec, run_oneid
    from zhongtai.lake.ingest import ingest
    from zhongtai.scenarios.retail.generate import generate
    from zhongtai.spec.models import ModelSpec
    from zhongtai.spec.plan import apply_plan, build_plan
    from zhongtai.spec.project import load_project
    from zhongtai.spec.references import ingest_order

    clock = _Clock()
    report = generate(out, customers, seed=SEED)
    clock.done("generate", f"{customers:,} customers")
    apply_plan(build_plan(load_project(report.project_dir), store), store, actor="bench")
    datasets = ingest_order(store.registered("datasets"))
    rows = sum(ingest(store, lake, name).rows for name in datasets)
    clock.done("ingest", f"{rows:,} rows in {len(datasets)} datasets")
    found = run_oneid(store, lake, identity_spec(store))
    clock.done("oneid", f"{found['records']:,} records -> {found['persons']:,} persons")
    views = ModelSpec.model_validate(store.spec("models", MODEL)).feature_views
    for view in views:
        build_view(store, lake, view)
    clock.done("features", ", ".join(views))
    return report.truth_dir


def evaluate(store: MetadataStore, lake: LakeStorage, truth_dir: Path, customers: int) -> dict[str, Any]:
    """Train the churn model on its training set and score its held-out rows with the model, both baselines
    and the oracles."""
    from zhongtai.features.training import build_training_set
    from zhongtai.models.train import time_split, train_model
    from zhongtai.spec.models import ModelSpec

    clock = _Clock()
    spec = ModelSpec.model_validate(store.spec("models", MODEL))
    training_set, table = build_training_set(store, lake, MODEL)
    lineage = training_set.lineage
    timestamp, label = lineage.get("timestamp", spec.label.timestamp), lineage.get("label", spec.label.label)
    clock.done("training set", f"{table.num_rows:,} label rows, {len(lineage['features'])} features")
    # The same split train_model makes, for the oracle to score the same held-out rows.
    split = time_split(table, timestamp, label, list(lineage["features"]), spec.validation.fraction)
    version = train_model(store, lake, MODEL, training=(training_set, table))
    metrics = version.metrics
    clock.done("train", f"v{version.version} {metrics['algorithm']}, AUC {metrics['validation']['auc']:.3f}")
    holdout = split.holdout
    oracle = oracle_scores(
        store,
        lake,
        truth_dir,
        customers,
        holdout["person_id"].to_pylist(),
        holdout[timestamp].to_pylist(),
    )
    labels = np.asarray(split.valid_y)
    figures = {
        "churn_auc": metrics["validation"]["auc"],
        "churn_pr_auc": metrics["validation"]["average_precision"],
        "churn_baseline_auc": metrics["logistic_baseline"]["auc"],
        "churn_baseline_pr_auc": metrics["logistic_baseline"]["average_precision"],
        "churn_constant_auc": metrics["baseline"]["auc"],
        "churn_constant_pr_auc": metrics["baseline"]["average_precision"],
        **_scored("churn_oracle", labels, oracle["future"]),
        **_scored("churn_state_oracle", labels, oracle["present"]),
        "churn_true_churner_share": float(oracle["churns"][labels == 1].mean()),
        "churn_label_agreement": float((oracle["label"] == labels).mean()),
        "churn_true_label_positive_rate": float(oracle["label"].mean()),
        **_scored("churn_oracle_true_label", oracle["label"], oracle["future"]),
        "churn_algorithm": metrics["algorithm"],
        "churn_customers": customers,
        "churn_label_rows": int(table.num_rows),
        "churn_validation_rows": int(labels.size),
        "churn_positive_rate": float(labels.mean()),
        "churn_features": len(lineage["features"]),
    }
    clock.done("oracle", f"AUC {figures['churn_oracle_auc']:.3f}")
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}


def rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The table rows: AUC and PR-AUC of the model against the logistic baseline, the constant and the oracle."""
    return [
        {
            "task": "churn",
            "metric": name,
            "model": figures[f"churn_{key}"],
            "baseline": figures[f"churn_baseline_{key}"],
            "constant": figures[f"churn_constant_{key}"],
            "oracle": figures[f"churn_oracle_{key}"],
        }
        for name, key in (("AUC", "auc"), ("PR-AUC", "pr_auc"))
    ]


def oracle_scores(
    store: MetadataStore,
    lake: LakeStorage,
    truth_dir: Path,
    customers: int,
    persons: list[str],
    cutoffs: list[Any],
) -> dict[str, np.ndarray]:
    """Per label row (OneID person, cutoff): the truth's P(no order in the window) knowing the window's
    intensity ("future") or only the present state ("present"), and whether the person truly stops buying
    before the window ends ("churns")."""
    import pyarrow.parquet as pq

    from zhongtai.lake.reader import read_table
    from zhongtai.scenarios.retail.generate import DEFAULT_TODAY, _simulate

    # The same seed, size and day give the same simulation the scenario was written from.
    world = _simulate(SEED, customers, DEFAULT_TODAY)
    behaviour, calendar = world.behaviour, world.calendar
    # OneID person -> the true person behind their CRM record (the label population all have one).
    crosswalk = read_table(store, lake, "person_crosswalk").to_pydict()
    truth = pq.read_table(
        truth_dir / "record_person.parquet", filters=[("dataset", "=", "crm_customers")]
    ).to_pydict()
    # Truth person ids are P0000001...: the simulation's person number plus one.
    true_of_customer = {
        record: int(person[1:]) - 1
        for record, person in zip(truth["record_id"], truth["person_id"], strict=True)
    }
    true_of_person: dict[str, int] = {}
    for dataset, key, person in zip(
        crosswalk["dataset"], crosswalk["key"], crosswalk["person_id"], strict=True
    ):
        if dataset == "crm_customers" and key in true_of_customer:
            true_of_person.setdefault(person, true_of_customer[key])
    who = np.array([true_of_person[p] for p in persons], dtype=np.int64)
    # Window day index of each cutoff (a midnight): the label counts orders from that day on.
    origin = np.datetime64(calendar.start, "D").astype(np.int64)
    first = np.array(cutoffs, dtype="datetime64[D]").astype(np.int64) - origin
    days = np.minimum(first[:, None] + np.arange(LABEL_DAYS)[None, :], calendar.n_days - 1)
    share = behaviour.online_share[who][:, None]
    # Cancelled orders do not count in the label; unhappy people cancel more (orders._fates).
    kept_online = 1 - np.minimum(0.04 * (1 + np.maximum(behaviour.propensity[who], 0)), 1)[:, None]
    demand = share * kept_online * calendar.online[days] + (1 - share) * calendar.store[days]
    rate = behaviour.order_rate[who][:, None]
    future = rate * demand * behaviour.activity(who[:, None], days)
    present = rate * demand * behaviour.activity(who, first - 1)[:, None]
    return {
        "future": np.exp(-future.sum(axis=1)),
        "present": np.exp(-present.sum(axis=1)),
        "churns": (behaviour.churn_day[who] < first + LABEL_DAYS).astype(np.float64),
        "label": _true_labels(world.orders, who, first),
    }


def _true_labels(orders: Orders, who: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The label as the truth has it: 1 when the true person places no uncancelled order on the window's
    days (the platform's label sees a person's orders only as far as OneID linked them)."""
    from zhongtai.scenarios.retail.orders import CANCELLED

    kept = orders.status != CANCELLED
    span = int(orders.day.max()) + LABEL_DAYS + 1
    keys = np.sort(orders.person[kept].astype(np.int64) * span + orders.day[kept])
    opening = np.searchsorted(keys, who * span + first)
    closing = np.searchsorted(keys, who * span + first + LABEL_DAYS)
    return (closing == opening).astype(np.int64)


def _scored(prefix: str, labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        f"{prefix}_auc": float(roc_auc_score(labels, scores)),
        f"{prefix}_pr_auc": float(average_precision_score(labels, scores)),
    }


class _Clock:
    """Progress on stderr, so stdout keeps the table and the JSON line."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def done(self, stage: str, detail: str) -> None:
        now = time.perf_counter()
        sys.stderr.write(f"  churn {stage:<13} {now - self.last:6.1f} s  {detail}\n")
        sys.stderr.flush()
        self.last = now
