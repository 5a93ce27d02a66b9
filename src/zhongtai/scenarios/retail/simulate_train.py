"""The simulation's challenger training: the platform's training (models/train.py) on the recent simulated
days' labelled decisions, each from the feature values its decision logged, labelled by its feedback, at its
simulated time, in the schema of the model's own training set (built by the feature store from the lake).

The simulated days happen in the online store and the decision log, not in the lake the feature store joins:
a challenger trained on the lake's history would learn the world before the promotion again, and appended
after that history the simulated rows would all fall in the time split's validation part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from zhongtai.flywheel.retrain import Trainer

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.records import ModelVersion
    from zhongtai.meta.store import MetadataStore


# The challenger learns from the last three simulated days: the time split keeps their last fifth for
# validation, so a challenger trained the evening of the promotion still learns from its morning.
RECENT = timedelta(days=3)


@dataclass(frozen=True)
class LabelledRow:
    """One answered simulated decision: its logged feature values, its outcome and its simulated time."""

    features: dict[str, Any]
    label: bool
    at: datetime


def trainer(store: MetadataStore, storage: LakeStorage, model: str, rows: list[LabelledRow]) -> Trainer:
    """A flywheel trainer for `model` that learns from the last RECENT of `rows` as they are when it trains
    (the list grows as the simulation goes), registered with the lineage of the model's training set."""

    def train(name: str) -> ModelVersion:
        from zhongtai.features.training import build_training_set
        from zhongtai.models.train import train_model

        training_set, table = build_training_set(store, storage, name)
        lineage = training_set.lineage
        spec = store.spec("models", name)
        timestamp = lineage.get("timestamp", spec["label"]["timestamp"])
        label = lineage.get("label", spec["label"]["label"])
        recent = [r for r in rows if r.at >= rows[-1].at - RECENT] if rows else []
        added = appended(table, recent, list(lineage["features"]), timestamp, label)
        return train_model(store, storage, name, training=(training_set, added))

    return train


def appended(
    table: pa.Table, rows: list[LabelledRow], features: list[str], timestamp: str, label: str
) -> pa.Table:
    """`rows` in the training table's schema: its features, label and timestamp; other columns empty."""
    zone = getattr(table.schema.field(timestamp).type, "tz", None)
    label_type = table.schema.field(label).type
    body: list[dict[str, Any]] = []
    for row in rows:
        at = row.at if zone is not None else row.at.replace(tzinfo=None)
        value: Any = int(row.label) if pa.types.is_integer(label_type) else row.label
        body.append({**{f: row.features.get(f) for f in features}, timestamp: at, label: value})
    return pa.Table.from_pylist(body, schema=table.schema)
