"""The recommendation trainer (TRAINERS["recommendation"]): interactions in, candidate tables and a
LightGBM lambdarank ranker out, judged with full ranking against most-popular and item co-occurrence.

The split is by time. The newest `validation.fraction` of the interactions is held out (cut 2); the same
fraction of what precedes it (cut 1) gives the ranker its examples: candidates from the interactions before
cut 1, labelled by what each person took between cut 1 and cut 2. The ranker is then judged on candidates
from everything before cut 2 against what came after, beside the baselines on the same persons. The artifact
served holds that ranker with candidate tables refitted on every interaction, and each person's history.

Person features are the model's feature views (stored views of its entity), read point-in-time at each cut
for training and online at serving. Item categories and attributes come from `recommend.items.sql`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.features import sql as view_sql
from zhongtai.lake.engine import quote as q
from zhongtai.lake.offline import engine_or_default
from zhongtai.lake.views import register_datasets
from zhongtai.models.recommend_artifact import ARTIFACT_FORMAT, MAIN, Recommender, history_arrays
from zhongtai.models.recommend_core import CandidateSettings, Interactions, fit_candidates
from zhongtai.models.recommend_rank import (
    ItemTable,
    examples,
    feature_names,
    fit_ranker,
    histories,
    judge,
    targets_after,
    time_cuts,
)
from zhongtai.models.tasks import Trained, TrainJob
from zhongtai.spec.models import EntitySpec, ModelSpec

if TYPE_CHECKING:
    import pyarrow as pa

    from zhongtai.lake.offline import OfflineEngine
    from zhongtai.spec.recommend_task import RecommendSpec

MAX_JUDGED = 3_000  # held-out persons judged at most (a seeded sample): hit rate within about ±0.02


def settings_of(spec: RecommendSpec, seed: int = 7) -> CandidateSettings:
    """The candidate settings a spec asks for."""
    sources = spec.candidates
    return CandidateSettings(
        cooccurrence=sources.cooccurrence,
        als=sources.als,
        popular=sources.popular,
        neighbours=sources.neighbours,
        factors=sources.als_factors,
        iterations=sources.als_iterations,
        regularization=sources.als_regularization,
        alpha=sources.als_alpha,
        history=spec.history,
        repeat=spec.repeat,
        seed=seed,
    )


def train_recommendation(job: TrainJob) -> Trained:
    """Fit, judge and package a recommender (see the module docstring); saves and registers nothing."""
    spec = job.spec
    rec = _settings(spec)
    entity = EntitySpec.model_validate(job.store.spec("entities", spec.entity))
    if len(entity.join_keys) != 1:
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' entity: '{entity.name}' has a composite key; recommendations are per one key",
        )
    user = entity.join_keys[0]
    job.report("training set", "interactions from label.sql")
    with engine_or_default(job.engine, job.storage) as offline:
        datasets, raw = _interactions(offline, job, user)
        data, user_keys, item_keys = _indexed(spec, raw)
        items, titles = _item_table(offline, job, item_keys)
        cut1, cut2 = _cuts(spec, data)
        person_names, person_at = _person_features(offline, job, user, user_keys, (cut1, cut2))
    settings = settings_of(rec)
    rng = np.random.default_rng(7)
    job.report("split", f"by time: the ranker learns from {_iso(cut1)} to {_iso(cut2)}, the rest validates")
    job.report("train", f"candidates and ranker on {data.n_users:,} persons x {data.n_items:,} items")
    before1 = data.take(data.time < cut1)
    model1 = fit_candidates(before1, settings)
    seen1 = histories(before1)
    between = data.take((data.time >= cut1) & (data.time < cut2))
    x, y, groups = examples(
        model1, seen1, targets_after(between, seen1, rec.repeat), cut1, settings, items,
        person_at[0], rec.ranker.max_users, rng,
    )  # fmt: skip
    if not groups:
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' label.sql: no person took, between the cuts, an item among their candidates",
            "the interactions are too few (or too sparse) to learn a ranking; add history or lower "
            "validation.fraction",
        )
    names = feature_names(items, tuple(person_names))
    params = {
        "learning_rate": rec.ranker.learning_rate,
        "num_leaves": rec.ranker.num_leaves,
        "min_data_in_leaf": rec.ranker.min_data_in_leaf,
    }
    booster = fit_ranker(x, y, groups, names, params, rec.ranker.num_boost_round)
    job.report("evaluate", "full ranking of every item, against most-popular and co-occurrence")
    before2 = data.take(data.time < cut2)
    model2 = fit_candidates(before2, settings)
    seen2 = histories(before2)
    targets = targets_after(data.take(data.time >= cut2), seen2, rec.repeat)
    if len(targets) > MAX_JUDGED:
        kept = np.sort(rng.choice(np.array(sorted(targets)), size=MAX_JUDGED, replace=False))
        targets = {int(u): targets[int(u)] for u in kept}
    judged = judge(model2, booster, seen2, targets, cut2, settings, items, person_at[1], rec.k).as_dict()
    if not judged["model"]["users"]:
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' label.sql: no person has a new item after the validation cut",
            "add interactions or raise validation.fraction",
        )
    job.report("train", "candidate tables on every interaction")
    final = fit_candidates(data, settings)
    keys, indptr, h_items, h_counts, h_last = history_arrays(user_keys, histories(data))
    recommender = Recommender(
        booster=booster,
        candidates=final,
        item_keys=item_keys,
        items=items,
        titles=titles,
        user_keys=keys,
        history_indptr=indptr,
        history_items=h_items,
        history_counts=h_counts,
        history_last=h_last,
        settings=settings,
        features=names,
        person_features=person_names,
        trained_until=float(data.time.max()),
        recent_items=rec.recent_items,
    )
    return _trained(spec, recommender, judged, data, before2, x, groups, datasets, cut1, cut2)


def _settings(spec: ModelSpec) -> RecommendSpec:
    if spec.recommend is None:  # the spec validator refuses this; kept for the type checker
        raise ZhongtaiError("invalid_spec", f"model '{spec.name}' has no `recommend` settings")
    return spec.recommend


def _interactions(offline: OfflineEngine, job: TrainJob, user: str) -> tuple[dict[str, int], pa.Table]:
    spec, rec = job.spec, _settings(job.spec)
    where = f"model '{spec.name}' label.sql"
    datasets = register_datasets(offline, job.store, spec.label.sql, where)
    present = offline.columns(spec.label.sql, where)
    required = [user, rec.item, spec.label.timestamp, *([rec.weight] if rec.weight else [])]
    lacking = view_sql.missing(required, present)
    if lacking:
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: the SQL's output lacks column(s) {', '.join(lacking)}",
            f"it must select the person key ({user}), the item (recommend.item: {rec.item}), the time "
            f"(label.timestamp: {spec.label.timestamp})"
            + (f" and recommend.weight ({rec.weight})" if rec.weight else ""),
        )
    ts = view_sql.timestamp_expr(spec.label.timestamp, present[spec.label.timestamp])
    weight = f"CAST({q(rec.weight)} AS DOUBLE)" if rec.weight else "1.0"
    query = (
        f"SELECT CAST({q(user)} AS VARCHAR) AS u, CAST({q(rec.item)} AS VARCHAR) AS i, "
        f"CAST(epoch_ms({ts}) AS DOUBLE) / 1000.0 AS t, coalesce({weight}, 1.0) AS w "
        f"FROM ({spec.label.sql}) AS interactions "
        f"WHERE {q(user)} IS NOT NULL AND {q(rec.item)} IS NOT NULL AND {q(spec.label.timestamp)} IS NOT NULL"
    )
    return datasets, offline.to_arrow(query, where)


def _indexed(spec: ModelSpec, raw: pa.Table) -> tuple[Interactions, np.ndarray, np.ndarray]:
    if raw.num_rows == 0:
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' label.sql returned no interactions",
            "it must return one row per interaction: person key, item key, time",
        )
    users = np.asarray(raw["u"].to_numpy(zero_copy_only=False)).astype(str)
    item_values = np.asarray(raw["i"].to_numpy(zero_copy_only=False)).astype(str)
    user_keys, user_index = np.unique(users, return_inverse=True)
    item_keys, item_index = np.unique(item_values, return_inverse=True)
    if len(item_keys) < 2:
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' recommend.item: the interactions hold {len(item_keys)} distinct item",
            "a ranking needs at least two items to choose between; check the label SQL's item column",
        )
    if len(user_keys) < 2:
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' label.sql: the interactions come from {len(user_keys)} person",
            "recommendations learn from what many persons take together",
        )
    weight = np.asarray(raw["w"].to_numpy(zero_copy_only=False), dtype=np.float64)
    data = Interactions(
        user_index.astype(np.int64),
        item_index.astype(np.int64),
        np.asarray(raw["t"].to_numpy(zero_copy_only=False), dtype=np.float64),
        np.where(weight > 0, weight, 1.0),
        len(user_keys),
        len(item_keys),
    )
    return data, user_keys, item_keys


def _cuts(spec: ModelSpec, data: Interactions) -> tuple[float, float]:
    """Cut 2: the newest `fraction` of the interactions validate; cut 1: the same fraction of the rest."""
    cuts = time_cuts(data.time, spec.validation.fraction)
    if cuts is None:
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' label.sql: too few distinct interaction times to cut twice by time",
            "give interactions spread over time, or change validation.fraction",
        )
    return cuts


def _item_table(
    offline: OfflineEngine, job: TrainJob, item_keys: np.ndarray
) -> tuple[ItemTable, list[str] | None]:
    """Categories, attributes and titles per item index (items the SQL does not know: NaN, one more
    category, an empty title)."""
    spec, rec = job.spec, _settings(job.spec)
    if rec.items is None:
        return ItemTable.none(len(item_keys)), None
    where = f"model '{spec.name}' recommend.items.sql"
    register_datasets(offline, job.store, rec.items.sql, where)
    present = offline.columns(rec.items.sql, where)
    wanted = [rec.item, *([rec.items.category] if rec.items.category else []), *rec.items.attributes]
    lacking = view_sql.missing(wanted, present)
    if lacking:
        raise ZhongtaiError(
            "invalid_spec",
            f"{where}: the SQL's output lacks column(s) {', '.join(lacking)}",
            f"it must select the item key ({rec.item}) and every column recommend.items names",
        )
    columns = [f"CAST({q(rec.item)} AS VARCHAR) AS __zt_item"]
    if rec.items.category:
        columns.append(f"CAST({q(rec.items.category)} AS VARCHAR) AS __zt_category")
    columns += [f"TRY_CAST({q(a)} AS DOUBLE) AS {q(a)}" for a in rec.items.attributes]
    if rec.items.title:
        columns.append(f"CAST({q(rec.items.title)} AS VARCHAR) AS __zt_title")
    table = offline.to_arrow(f"SELECT {', '.join(columns)} FROM ({rec.items.sql}) AS items", where)
    rows = {str(k): i for i, k in enumerate(table["__zt_item"].to_pylist())}
    at = np.array([rows.get(str(k), -1) for k in item_keys])
    known = at >= 0
    attributes = np.full((len(item_keys), len(rec.items.attributes)), np.nan)
    for j, name in enumerate(rec.items.attributes):
        values = np.array(table[name].to_pylist(), dtype=np.float64)
        attributes[known, j] = values[at[known]]
    categories = None
    if rec.items.category:
        names = np.array([str(v) for v in table["__zt_category"].to_pylist()])
        _, codes = np.unique(names, return_inverse=True)
        categories = np.full(len(item_keys), int(codes.max()) + 1 if len(codes) else 0, dtype=np.int64)
        categories[known] = codes[at[known]]
    titles = None
    if rec.items.title:
        found = table["__zt_title"].to_pylist()
        titles = [str(found[i]) if i >= 0 and found[i] is not None else "" for i in at]
    return ItemTable(categories, attributes, tuple(rec.items.attributes)), titles


def _person_features(
    offline: OfflineEngine, job: TrainJob, user: str, user_keys: np.ndarray, cuts: tuple[float, float]
) -> tuple[list[str], list[np.ndarray | None]]:
    """The model's stored feature views, point-in-time at each cut: (`view.feature` names, per cut a
    (persons, features) matrix with NaN where a value is missing or not a number)."""
    from zhongtai.features.selection import select_features
    from zhongtai.features.training import point_in_time_join

    spec = job.spec
    if not spec.feature_views and not spec.feature_groups:
        return [], [None for _ in cuts]
    selection = select_features(job.store, spec.feature_views, spec.feature_groups)
    views = []
    for view in selection.stored_views:
        if view.entity != spec.entity:
            raise ZhongtaiError(
                "invalid_spec",
                f"model '{spec.name}' feature_views: '{view.name}' describes '{view.entity}', not '{spec.entity}'",
            )
        views.append((view, job.store.features.require_build(view.name), [user]))
    names = [f"{view.name}.{f.name}" for view, _, _ in views for f in view.features]
    row_of = {key: i for i, key in enumerate(user_keys)}
    out: list[np.ndarray | None] = []
    for cut in cuts:
        moment = datetime.fromtimestamp(cut, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        labels = (
            f"SELECT DISTINCT {q(user)}, TIMESTAMP '{moment}' AS __zt_ts "
            f"FROM ({spec.label.sql}) AS interactions WHERE {q(user)} IS NOT NULL"
        )
        table = point_in_time_join(offline, labels, views, timestamp="__zt_ts")
        matrix = np.full((len(user_keys), len(names)), np.nan)
        rows = np.array([row_of.get(str(k), -1) for k in table[user].to_pylist()], dtype=np.int64)
        for j, feature in enumerate(n.split(".", 1)[1] for n in names):
            values = np.array([_number(v) for v in table[feature].to_pylist()], dtype=np.float64)
            matrix[rows[rows >= 0], j] = values[rows >= 0]
        out.append(matrix)
    return names, out


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _trained(
    spec: ModelSpec,
    recommender: Recommender,
    judged: dict[str, dict[str, Any]],
    data: Interactions,
    before: Interactions,
    x: np.ndarray,
    groups: list[int],
    datasets: dict[str, int],
    cut1: float,
    cut2: float,
) -> Trained:
    rec = _settings(spec)
    metrics = {
        "validation": judged["model"],
        "baseline": judged["popularity"],
        "cooccurrence": judged["cooccurrence"],
        "als": judged["als"],
        "train_rows": len(before.user),
        "validation_rows": int(len(data.user) - len(before.user)),
        "ranker_examples": len(x),
        "ranker_groups": len(groups),
        "persons": data.n_users,
        "items": data.n_items,
        "cuts": [_iso(cut1), _iso(cut2)],
    }
    params = {
        "candidates": rec.candidates.model_dump(),
        "ranker": rec.ranker.model_dump(),
        "repeat": rec.repeat,
        "history": rec.history,
    }
    return Trained(
        artifact_format=ARTIFACT_FORMAT,
        files=recommender.files(),
        main=MAIN,
        features=recommender.features,
        params=params,
        metrics=metrics,
        datasets=datasets,
    )


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()
