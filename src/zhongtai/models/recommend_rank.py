"""The recommender's ranker and its judgement: lambdarank examples from one period's candidates and what the
person interacted with next, the LightGBM fit, and full-ranking hit rate and NDCG against the baselines.

A split is the caller's: the trainer holds out the newest interactions by time, the MovieLens bench the last
one of each person. Either way the candidates come from the interactions before the cut only, and the ranker
is judged on persons and moments it was not fitted on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.models.recommend_core import (
    BASE_FEATURES,
    POPULAR,
    CandidateModel,
    CandidateSettings,
    History,
    Interactions,
    Scores,
    candidates_for,
    fold_in,
    full_ranking,
)

if TYPE_CHECKING:
    import lightgbm

RANKER_DEFAULTS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "lambdarank_truncation_level": 20,
    "feature_fraction": 0.9,
    "verbose": -1,
    "deterministic": True,
    "seed": 7,
    "num_threads": 1,
}


@dataclass(frozen=True)
class ItemTable:
    """What is known of every item beyond its interactions: a category code and numeric attributes."""

    categories: np.ndarray | None  # (items,) int
    attributes: np.ndarray  # (items, a) float, NaN unknown
    attribute_names: tuple[str, ...]

    @classmethod
    def none(cls, n_items: int) -> ItemTable:
        return cls(None, np.zeros((n_items, 0)), ())


def feature_names(items: ItemTable, person: tuple[str, ...]) -> list[str]:
    """The ranker's input order: its own features, the item attributes, then the person's features."""
    return [*BASE_FEATURES, *(f"item_{n}" for n in items.attribute_names), *(f"person_{n}" for n in person)]


def histories(data: Interactions) -> dict[int, History]:
    """Each person's History from their interactions."""
    order = np.argsort(data.user, kind="stable")
    users, starts = np.unique(data.user[order], return_index=True)
    ends = [*starts[1:], len(order)]
    out = {}
    for user, start, end in zip(users, starts, ends, strict=True):
        rows = order[start:end]
        out[int(user)] = History.of(data.item[rows], data.time[rows], data.weight[rows])
    return out


def targets_after(data: Interactions, seen: Mapping[int, History], repeat: bool) -> dict[int, np.ndarray]:
    """Per person, the items of `data` (the period after the cut) they should be recommended: without
    `repeat`, only items new to them."""
    out = {}
    for user, items in _grouped(data).items():
        history = seen.get(user)
        if history is not None and not repeat:
            items = items[~np.isin(items, history.items)]
        if len(items):
            out[user] = items
    return out


def _grouped(data: Interactions) -> dict[int, np.ndarray]:
    order = np.argsort(data.user, kind="stable")
    users, starts = np.unique(data.user[order], return_index=True)
    ends = [*starts[1:], len(order)]
    return {int(u): np.unique(data.item[order[s:e]]) for u, s, e in zip(users, starts, ends, strict=True)}


def person_row(person: np.ndarray | None, user: int) -> np.ndarray:
    """The person's feature values (NaN where unknown), as a row."""
    if person is None or person.shape[1] == 0:
        return np.zeros(0)
    return person[user] if 0 <= user < len(person) else np.full(person.shape[1], np.nan)


def examples(
    model: CandidateModel,
    seen: Mapping[int, History],
    targets: Mapping[int, np.ndarray],
    now: float,
    settings: CandidateSettings,
    items: ItemTable,
    person: np.ndarray | None,
    max_users: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Lambdarank examples: per person with a history and a target among their candidates, the candidates'
    features and 1 for the targets; at most `max_users` persons (a seeded sample)."""
    users = np.array(sorted(u for u in targets if u in seen), dtype=np.int64)
    if len(users) > max_users:
        users = np.sort(rng.choice(users, size=max_users, replace=False))
    rows: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    groups: list[int] = []
    for user in users:
        found = candidates_for(model, seen[int(user)], now, settings, items.categories, items.attributes)
        label = np.isin(found.items, targets[int(user)]).astype(np.float64)
        if not label.any() or label.all():
            continue  # a group without a contrast teaches a ranker nothing
        rows.append(_with_person(found.features, person_row(person, int(user))))
        labels.append(label)
        groups.append(len(label))
    if not rows:
        return np.zeros((0, 0)), np.zeros(0), []
    return np.vstack(rows), np.concatenate(labels), groups


def _with_person(features: np.ndarray, row: np.ndarray) -> np.ndarray:
    if not len(row):
        return features
    return np.hstack([features, np.broadcast_to(row, (len(features), len(row)))])


def fit_ranker(
    x: np.ndarray, y: np.ndarray, groups: list[int], names: list[str], params: Mapping[str, Any], rounds: int
) -> lightgbm.Booster:
    """A LightGBM lambdarank Booster over the examples."""
    import lightgbm

    data = lightgbm.Dataset(x, label=y, group=groups, feature_name=names, free_raw_data=True)
    return lightgbm.train({**RANKER_DEFAULTS, **params}, data, num_boost_round=rounds)


@dataclass
class Judgement:
    """Full-ranking figures of the model and each baseline on the same persons."""

    model: Scores
    popularity: Scores
    cooccurrence: Scores
    als: Scores

    def as_dict(self) -> dict[str, dict[str, float | int]]:
        return {
            "model": self.model.as_dict(),
            "popularity": self.popularity.as_dict(),
            "cooccurrence": self.cooccurrence.as_dict(),
            "als": self.als.as_dict(),
        }


def judge(
    model: CandidateModel,
    booster: lightgbm.Booster | None,
    seen: Mapping[int, History],
    targets: Mapping[int, np.ndarray],
    now: float,
    settings: CandidateSettings,
    items: ItemTable,
    person: np.ndarray | None,
    k: int = 10,
) -> Judgement:
    """Hit rate and NDCG at k over every person with targets, each method ranking ALL items (the person's
    own items left out unless `settings.repeat`). Persons without a history get popularity from every
    method (cold start), as they would when served."""
    out = Judgement(Scores(k), Scores(k), Scores(k), Scores(k))
    by_popularity = np.argsort(-model.popularity, kind="stable")
    for user in sorted(targets):
        truth = targets[user]
        history = seen.get(user, History.empty())
        exclude = None if settings.repeat else history.items
        popular = _top_excluding(by_popularity, exclude, k)
        out.popularity.add(popular, truth)
        if not len(history.items):
            for scores in (out.model, out.cooccurrence, out.als):
                scores.add(popular, truth)
            continue
        found = candidates_for(model, history, now, settings, items.categories, items.attributes)
        if booster is not None and len(found.items):
            x = _with_person(found.features, person_row(person, user))
            predicted = np.asarray(booster.predict(x, num_threads=1), dtype=np.float64)
            ranked = found.items[np.argsort(-predicted, kind="stable")]
        else:
            ranked = found.items
        out.model.add(full_ranking(ranked, model, exclude, k), truth)
        cooc = found.features[:, 0]
        by_cooc = found.items[cooc > 0][np.argsort(-cooc[cooc > 0], kind="stable")]
        out.cooccurrence.add(full_ranking(by_cooc, model, exclude, k), truth)
        out.als.add(_als_top(model, history, exclude, k, by_popularity), truth)
    return out


def _top_excluding(order: np.ndarray, exclude: np.ndarray | None, k: int) -> np.ndarray:
    if exclude is None or not len(exclude):
        return order[:k]
    return order[~np.isin(order, exclude)][:k]


def _als_top(
    model: CandidateModel, history: History, exclude: np.ndarray | None, k: int, fallback: np.ndarray
) -> np.ndarray:
    if model.item_factors.shape[1] == 0:
        return _top_excluding(fallback, exclude, k)
    scores = model.item_factors.astype(np.float64) @ fold_in(model, history)
    if exclude is not None:
        scores[exclude] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]


def ranked_pool(
    model: CandidateModel,
    booster: lightgbm.Booster,
    history: History,
    now: float,
    settings: CandidateSettings,
    items: ItemTable,
    person: np.ndarray,
    by_popularity: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What serving answers from, best first: the person's candidates ordered by the ranker, then popular
    items up to `size` in all (a store short of the candidates still fills k). Returns (items, scores,
    sources, because); the popular fill has NaN scores."""
    found = candidates_for(model, history, now, settings, items.categories, items.attributes)
    x = _with_person(found.features, person)
    scores = np.asarray(booster.predict(x, num_threads=1), dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    ranked = found.items[order]
    extra = by_popularity[~np.isin(by_popularity, ranked)]
    if not settings.repeat:
        extra = extra[~np.isin(extra, history.items)]
    extra = extra[: max(size - len(ranked), 0)]
    return (
        np.concatenate([ranked, extra]),
        np.concatenate([scores[order], np.full(len(extra), np.nan)]),
        np.concatenate([found.source[order], np.full(len(extra), POPULAR)]),
        np.concatenate([found.because[order], np.full(len(extra), -1)]),
    )


def time_cuts(times: np.ndarray, fraction: float) -> tuple[float, float] | None:
    """Cut 2 leaves the newest `fraction` of the interactions for validation, cut 1 the same fraction of
    what precedes it for the ranker's labels; None when the times are too few to cut twice."""
    ordered = np.sort(times)
    if not len(ordered):
        return None
    cut2 = float(ordered[min(int(len(ordered) * (1 - fraction)), len(ordered) - 1)])
    earlier = ordered[ordered < cut2]
    if len(earlier) < 2:
        return None
    cut1 = float(earlier[min(int(len(earlier) * (1 - fraction)), len(earlier) - 1)])
    return (cut1, cut2) if cut1 > earlier[0] else None
