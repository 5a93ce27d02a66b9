"""The recommender's arithmetic on dense indexes: candidate tables, the ranker's features, full-ranking metrics.

Users and items are indexes 0..n-1 (the trainer maps keys to them). Everything here is shared by training,
serving and the bench, so a candidate and its features are computed the same way in all three:

- item co-occurrence: cosine similarity of the items' user sets, kept as the `neighbours` nearest per item;
- implicit ALS (the `implicit` package, at training only): item factors; a person's vector is folded in from
  their history at request time (one small solve), so a history newer than the model still counts;
- popularity: each item's share of all interactions, and of the last 30 days' (trend).

`candidates_for` unions the three for one person and returns the ranker's features per candidate; items
outside the candidates rank after them by popularity, so every ranking is over ALL items (full ranking).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

DAY = 86_400.0
RECENT_DAYS = 30.0
COOC, ALS, POPULAR, REPEAT = range(4)  # where a candidate came from (the reason given for it)
# The ranker's own features, before item attributes and person features.
BASE_FEATURES = (
    "cooc_score",
    "cooc_max",
    "als_score",
    "popularity",
    "recent_popularity",
    "history_length",
    "seen_count",
    "days_since_seen",
    "days_since_last",
    "category_share",
)


@dataclass(frozen=True)
class CandidateSettings:
    """How many candidates each generator gives, and the ALS model's shape."""

    cooccurrence: int = 100
    als: int = 100
    popular: int = 50
    neighbours: int = 50
    factors: int = 32
    iterations: int = 15
    regularization: float = 0.05
    alpha: float = 10.0
    history: int = 30
    repeat: bool = False
    seed: int = 7


@dataclass
class Interactions:
    """Interactions as parallel arrays: user and item indexes, time in seconds, weight."""

    user: np.ndarray
    item: np.ndarray
    time: np.ndarray
    weight: np.ndarray
    n_users: int
    n_items: int

    def take(self, mask: np.ndarray) -> Interactions:
        """The interactions where `mask` holds (same index spaces)."""
        return Interactions(
            self.user[mask], self.item[mask], self.time[mask], self.weight[mask], self.n_users, self.n_items
        )

    def matrix(self) -> sp.csr_matrix:
        """users x items, weights summed (duplicates add up)."""
        import scipy.sparse as sp

        return sp.csr_matrix(
            (self.weight.astype(np.float32), (self.user, self.item)), shape=(self.n_users, self.n_items)
        )


@dataclass
class CandidateModel:
    """The candidate tables, all plain arrays (saved as npz)."""

    neighbours: np.ndarray  # (items, M) int32, -1 where an item has fewer neighbours
    neighbour_scores: np.ndarray  # (items, M) float32
    item_factors: np.ndarray  # (items, f) float32; f = 0 without ALS
    gram: np.ndarray  # (f, f): item_factors' Gram matrix, for folding a person in
    popularity: np.ndarray  # (items,) share of all interactions
    recent_popularity: np.ndarray  # (items,) share of the last 30 days' interactions
    regularization: float
    alpha: float

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to save (npz), scalars as 0-d arrays."""
        return {
            "neighbours": self.neighbours,
            "neighbour_scores": self.neighbour_scores,
            "item_factors": self.item_factors,
            "gram": self.gram,
            "popularity": self.popularity,
            "recent_popularity": self.recent_popularity,
            "regularization": np.array(self.regularization),
            "alpha": np.array(self.alpha),
        }

    @classmethod
    def from_arrays(cls, arrays: Any) -> CandidateModel:
        """The model back from `arrays()` (an npz loaded with allow_pickle=False)."""
        return cls(
            neighbours=arrays["neighbours"],
            neighbour_scores=arrays["neighbour_scores"],
            item_factors=arrays["item_factors"],
            gram=arrays["gram"],
            popularity=arrays["popularity"],
            recent_popularity=arrays["recent_popularity"],
            regularization=float(arrays["regularization"]),
            alpha=float(arrays["alpha"]),
        )


def fit_candidates(data: Interactions, settings: CandidateSettings) -> CandidateModel:
    """Co-occurrence neighbours, ALS item factors and popularity from the interactions."""
    matrix = data.matrix()
    neighbours, scores = _cooccurrence(matrix, settings.neighbours)
    factors = _als(matrix, settings) if settings.als > 0 else np.zeros((data.n_items, 0), np.float32)
    counts = np.bincount(data.item, minlength=data.n_items).astype(np.float64)
    recent = data.time > (data.time.max() - RECENT_DAYS * DAY) if len(data.time) else data.time > 0
    recent_counts = np.bincount(data.item[recent], minlength=data.n_items).astype(np.float64)
    return CandidateModel(
        neighbours=neighbours,
        neighbour_scores=scores,
        item_factors=factors,
        gram=(factors.T @ factors).astype(np.float64),
        popularity=counts / max(counts.sum(), 1.0),
        recent_popularity=recent_counts / max(recent_counts.sum(), 1.0),
        regularization=settings.regularization,
        alpha=settings.alpha,
    )


def _cooccurrence(matrix: sp.csr_matrix, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """The `keep` most similar items of each item by cosine similarity of their (binary) user sets."""
    binary = matrix.copy()
    binary.data[:] = 1.0
    together = (binary.T @ binary).tocsr()
    counts = np.asarray(together.diagonal(), dtype=np.float64)
    n_items = matrix.shape[1]
    neighbours = np.full((n_items, keep), -1, dtype=np.int32)
    scores = np.zeros((n_items, keep), dtype=np.float32)
    for item in range(n_items):
        start, end = together.indptr[item], together.indptr[item + 1]
        others, shared = together.indices[start:end], together.data[start:end]
        mask = others != item
        others, shared = others[mask], shared[mask]
        if not len(others):
            continue
        similarity = shared / np.sqrt(counts[item] * counts[others])
        top = np.argsort(-similarity, kind="stable")[:keep]
        neighbours[item, : len(top)] = others[top]
        scores[item, : len(top)] = similarity[top]
    return neighbours, scores


def _als(matrix: sp.csr_matrix, settings: CandidateSettings) -> np.ndarray:
    """Implicit ALS item factors (one thread: reproducible, and the CPU is shared)."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=settings.factors,
            regularization=settings.regularization,
            alpha=settings.alpha,
            iterations=settings.iterations,
            random_state=settings.seed,
            num_threads=1,
        )
        model.fit(matrix.tocsr(), show_progress=False)
    return np.asarray(model.item_factors, dtype=np.float32)


@dataclass
class History:
    """One person's past: items (indexes, newest first, unique), how often and when last (seconds)."""

    items: np.ndarray
    counts: np.ndarray
    last_seen: np.ndarray

    @classmethod
    def empty(cls) -> History:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.float64))

    @classmethod
    def of(cls, items: np.ndarray, times: np.ndarray, weights: np.ndarray | None = None) -> History:
        """From raw interactions (any order, repeats allowed)."""
        if not len(items):
            return cls.empty()
        unique, inverse = np.unique(items, return_inverse=True)
        counts = np.bincount(inverse, weights=weights).astype(np.float64)
        last = np.full(len(unique), -np.inf)
        np.maximum.at(last, inverse, times.astype(np.float64))
        order = np.argsort(-last, kind="stable")
        return cls(unique[order].astype(np.int64), counts[order], last[order])


def with_recent(history: History, recent: np.ndarray, at: float) -> History:
    """`history` with the items of `recent` (indexes, newest first) in front, as taken once at `at`; items
    already in the history move to the front and keep their counts."""
    if not len(recent):
        return history
    recent = recent[np.sort(np.unique(recent, return_index=True)[1])]  # first mention of each, in order
    counts = dict(zip(history.items.tolist(), history.counts.tolist(), strict=True))
    older = ~np.isin(history.items, recent)
    return History(
        np.concatenate([recent, history.items[older]]).astype(np.int64),
        np.concatenate([[counts.get(int(i), 1.0) for i in recent], history.counts[older]]),
        np.concatenate([np.full(len(recent), at), history.last_seen[older]]),
    )


@dataclass
class Candidates:
    """One person's candidates: item indexes, the ranker's features, source and the item behind it."""

    items: np.ndarray
    features: np.ndarray  # (candidates, len(BASE_FEATURES) + attributes)
    source: np.ndarray  # COOC, ALS, POPULAR or REPEAT
    because: np.ndarray  # for COOC: the history item that brought it; -1 otherwise
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def fold_in(model: CandidateModel, history: History) -> np.ndarray:
    """A person's ALS vector from their history: the least-squares step of implicit ALS for one user."""
    f = model.item_factors.shape[1]
    if f == 0 or not len(history.items):
        return np.zeros(f)
    factors = model.item_factors[history.items].astype(np.float64)
    confidence = 1.0 + model.alpha * history.counts
    system = model.gram + (factors.T * (confidence - 1.0)) @ factors + model.regularization * np.eye(f)
    return np.asarray(np.linalg.solve(system, factors.T @ confidence))


def candidates_for(
    model: CandidateModel,
    history: History,
    now: float,
    settings: CandidateSettings,
    categories: np.ndarray | None = None,
    attributes: np.ndarray | None = None,
) -> Candidates:
    """Union of co-occurrence, ALS and popular candidates for one person, with the ranker's features.

    `categories` (items,) int codes and `attributes` (items, a) add category affinity and item attributes.
    Items the person has had are left out unless `settings.repeat`.
    """
    n_items = len(model.popularity)
    recent = history.items[: settings.history]
    cooc_score = np.zeros(n_items)
    cooc_max = np.zeros(n_items)
    because = np.full(n_items, -1, dtype=np.int64)
    if len(recent):
        neighbours = model.neighbours[recent]
        scores = model.neighbour_scores[recent].astype(np.float64)
        valid = neighbours >= 0
        flat_items, flat_scores = neighbours[valid], scores[valid]
        np.add.at(cooc_score, flat_items, flat_scores)
        sources = np.broadcast_to(recent[:, None], neighbours.shape)[valid]
        # Highest contribution last, so the assignment keeps the history item that contributed most.
        order = np.argsort(flat_scores, kind="stable")
        np.maximum.at(cooc_max, flat_items, flat_scores)
        because[flat_items[order]] = sources[order]
    als_score = model.item_factors.astype(np.float64) @ fold_in(model, history)
    pool = [_top(cooc_score, settings.cooccurrence, positive=True)]
    if model.item_factors.shape[1] and len(recent):
        pool.append(_top(als_score, settings.als))
    pool.append(_top(model.recent_popularity + model.popularity, settings.popular))
    seen = np.zeros(n_items, dtype=bool)
    seen[history.items] = True
    if settings.repeat:
        pool.append(history.items[: settings.history])
    items = np.unique(np.concatenate(pool))
    if not settings.repeat:
        items = items[~seen[items]]
    source = np.where(
        seen[items],
        REPEAT,
        np.where(cooc_score[items] > 0, COOC, np.where(als_score[items] > 0, ALS, POPULAR)),
    )
    features = _features(model, history, now, items, cooc_score, cooc_max, als_score, categories)
    if attributes is not None and attributes.shape[1]:
        features = np.hstack([features, attributes[items]])
    return Candidates(items, features, source, np.where(source == COOC, because[items], -1))


def _top(scores: np.ndarray, count: int, positive: bool = False) -> np.ndarray:
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    count = min(count, len(scores))
    top = np.argpartition(-scores, count - 1)[:count]
    return top[scores[top] > 0] if positive else top


def _features(
    model: CandidateModel,
    history: History,
    now: float,
    items: np.ndarray,
    cooc_score: np.ndarray,
    cooc_max: np.ndarray,
    als_score: np.ndarray,
    categories: np.ndarray | None,
) -> np.ndarray:
    n = len(items)
    seen_count = np.zeros(len(model.popularity))
    seen_count[history.items] = history.counts
    days_since_seen = np.full(len(model.popularity), np.nan)
    days_since_seen[history.items] = (now - history.last_seen) / DAY
    last = (now - history.last_seen[0]) / DAY if len(history.items) else np.nan
    share = np.full(n, np.nan)
    if categories is not None and len(history.items):
        per_category = np.bincount(categories[history.items], minlength=int(categories.max()) + 1)
        share = per_category[categories[items]] / len(history.items)
    return np.column_stack(
        [
            cooc_score[items],
            cooc_max[items],
            als_score[items],
            np.log(model.popularity[items] + 1e-7),
            np.log(model.recent_popularity[items] + 1e-7),
            np.full(n, float(len(history.items))),
            seen_count[items],
            days_since_seen[items],
            np.full(n, last),
            share,
        ]
    )


def shelf_order(
    on_shelf: np.ndarray, risk: np.ndarray | None, demote_above: float, drop_above: float | None = None
) -> np.ndarray:
    """The stock rule on a ranked list: positions of the items on the shelf, in rank order, except that items
    whose stock-out risk is above `demote_above` go after every safer one, and above `drop_above` (if given)
    are left out. Off-shelf items never appear. An unknown risk counts as none."""
    if risk is None:
        return np.flatnonzero(on_shelf)
    known = np.nan_to_num(risk, nan=0.0)
    kept = np.flatnonzero(on_shelf & (known <= drop_above) if drop_above is not None else on_shelf)
    risky = known[kept] > demote_above
    return kept[np.argsort(risky, kind="stable")]


def full_ranking(ranked: np.ndarray, model: CandidateModel, exclude: np.ndarray | None, k: int) -> np.ndarray:
    """The top `k` of a ranking over ALL items: the ranked candidates first, then every other item by
    popularity (so a person with few candidates still gets k items), `exclude` left out."""
    if len(ranked) >= k:
        return ranked[:k]
    taken = np.zeros(len(model.popularity), dtype=bool)
    taken[ranked] = True
    if exclude is not None:
        taken[exclude] = True
    rest = np.argsort(-(model.recent_popularity + model.popularity), kind="stable")
    return np.concatenate([ranked, rest[~taken[rest]][: k - len(ranked)]])


def hit_and_ndcg(top: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """Hit (any target in `top`) and NDCG of `top` against a set of relevant items (binary gains)."""
    relevant = np.isin(top, targets)
    gains = relevant / np.log2(np.arange(2, len(top) + 2))
    ideal = (1.0 / np.log2(np.arange(2, min(len(targets), len(top)) + 2))).sum()
    return float(relevant.any()), float(gains.sum() / ideal) if ideal > 0 else 0.0


@dataclass
class Scores:
    """Hit rate and NDCG at k, summed over the persons judged so far."""

    k: int = 10
    hits: float = 0.0
    ndcg: float = 0.0
    users: int = 0

    def add(self, top: np.ndarray, targets: np.ndarray) -> None:
        hit, ndcg = hit_and_ndcg(top[: self.k], targets)
        self.hits += hit
        self.ndcg += ndcg
        self.users += 1

    def as_dict(self) -> dict[str, float | int]:
        users = max(self.users, 1)
        return {
            f"hit_rate_at_{self.k}": round(self.hits / users, 4),
            f"ndcg_at_{self.k}": round(self.ndcg / users, 4),
            "users": self.users,
        }
