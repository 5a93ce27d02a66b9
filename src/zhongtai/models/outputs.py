"""Model outputs as features: a serving version's outputs published as a versioned lake dataset, then the
feature views over that dataset built and materialized like any other.

The mechanism, for every task that publishes (a forecast's stock-out risk, a binary model's scores such as
churn's):
- the model spec names its outputs dataset (`forecast.outputs`, or `outputs` of a binary model); declaring
  the model declares the dataset
  (spec/plan.py shows it, with `model:` as its origin, like an identity's datasets), so catalog lineage
  runs dataset -> model -> outputs dataset -> feature view -> capability;
- `publish_outputs` reads the version an alias points at (champion by default) from its artifact, as it was
  trained (no refit; a binary model scores every entity's newest features with it, as batch scoring does),
  and writes it through the lake's own API (lake/produced.py) as the dataset's next
  version; every row carries the model's name and version, so any value a view serves says where it came
  from;
- `refresh_views` builds and materializes the feature views that read the dataset, so the online store, the
  recommender's features and the rules see the new values.

`zhongtai models publish NAME` runs both; the demo runs them after each promotion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zhongtai.errors import ZhongtaiError
from zhongtai.spec.models import ModelSpec

if TYPE_CHECKING:
    import pyarrow as pa

    from zhongtai.features.online.base import OnlineStore
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.records import ModelVersion
    from zhongtai.meta.store import MetadataStore

# By task: the outputs dataset a spec names (None: it publishes nothing) and the table of a version's outputs.
OutputsOf = Callable[[ModelSpec], str | None]
OutputsTable = Callable[["MetadataStore", "LakeStorage", ModelSpec, "ModelVersion"], "pa.Table"]


def _forecast_dataset(spec: ModelSpec) -> str | None:
    return spec.forecast_settings.outputs


def _forecast_table(
    store: MetadataStore, storage: LakeStorage, spec: ModelSpec, version: ModelVersion
) -> pa.Table:
    from zhongtai.models.forecast import outputs_table

    return outputs_table(storage, spec, version)


def _scores_dataset(spec: ModelSpec) -> str | None:
    return spec.outputs


def _scores_table(
    store: MetadataStore, storage: LakeStorage, spec: ModelSpec, version: ModelVersion
) -> pa.Table:
    """Every entity with features in the newest build of the model's views, scored by `version`: the
    join keys, then SCORE_COLUMNS."""
    from datetime import UTC, datetime

    import numpy as np
    import pyarrow as pa

    from zhongtai.capabilities.batch import latest_features
    from zhongtai.models.predictor import load_predictor
    from zhongtai.spec.models import EntitySpec

    entity = EntitySpec.model_validate(store.spec("entities", spec.entity))
    features = latest_features(store, storage, spec, entity.join_keys)
    rows = features.num_rows
    matrix = np.column_stack(
        [
            features.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
            if name in features.column_names
            else np.full(rows, np.nan)
            for name in version.features
        ]
    )
    predictor = load_predictor(storage, version.artifact, version.artifact_format)
    scores = predictor.predict(matrix) if rows else np.empty(0)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    table = features.select(entity.join_keys)
    for name, values, kind in (
        ("scored_at", [now] * rows, pa.timestamp("us")),
        ("score", np.asarray(scores, dtype=np.float64), pa.float64()),
        ("model", [spec.name] * rows, pa.string()),
        ("model_version", [version.version] * rows, pa.int64()),
    ):
        table = table.append_column(name, pa.array(values, kind))
    return table


PUBLISHERS: dict[str, tuple[OutputsOf, OutputsTable]] = {
    "forecast": (_forecast_dataset, _forecast_table),
    "binary_classification": (_scores_dataset, _scores_table),
}


@dataclass(frozen=True)
class Published:
    """One publish: which version's outputs became which version of which dataset."""

    model: str
    model_version: int
    dataset: str
    dataset_version: int
    rows: int

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def outputs_dataset(spec: ModelSpec) -> str | None:
    """The dataset a model spec publishes its outputs to; None when it publishes none."""
    publisher = PUBLISHERS.get(spec.task)
    return publisher[0](spec) if publisher else None


def publish_outputs(
    store: MetadataStore, storage: LakeStorage, model: str, alias: str = "champion"
) -> Published:
    """Write the outputs of the version `alias` points at as the next version of the model's outputs dataset."""
    from zhongtai.lake.produced import write_produced

    spec = ModelSpec.model_validate(store.spec("models", model))
    dataset = outputs_dataset(spec)
    if dataset is None:
        raise ZhongtaiError(
            "invalid_argument",
            f"model '{model}' publishes no outputs",
            "a forecast model names its dataset in forecast.outputs, a binary model in outputs "
            "(docs/models.md#model-outputs-as-features)",
        )
    version = store.models.by_alias(model, alias)
    table = PUBLISHERS[spec.task][1](store, storage, spec, version)
    number = write_produced(store, storage, dataset, table)
    return Published(model, version.version, dataset, number, table.num_rows)


def reading_views(store: MetadataStore, dataset: str) -> list[str]:
    """The registered feature views whose SQL reads `dataset`, by name."""
    from zhongtai.spec.models import FeatureViewSpec
    from zhongtai.spec.references import referenced_tables

    found = []
    for name, payload in sorted(store.registered("feature_views").items()):
        view = FeatureViewSpec.model_validate(payload)
        if dataset in referenced_tables(view.sql, f"feature view '{name}'"):
            found.append(name)
    return found


def refresh_views(
    store: MetadataStore, storage: LakeStorage, online: OnlineStore, dataset: str
) -> dict[str, int]:
    """Build every feature view reading `dataset` and materialize the online ones; rows written, by view."""
    from zhongtai.features.materialize import materialize
    from zhongtai.features.offline import build_view, load_view

    written = {}
    for name in reading_views(store, dataset):
        build_view(store, storage, name)
        view, _ = load_view(store, name)
        written[name] = materialize(store, storage, online, name) if view.online else 0
    return written
