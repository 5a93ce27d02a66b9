"""The recommender's arithmetic on small hand-made data: co-occurrence, fold-in, candidates, the stock rule
and full-ranking metrics."""

from __future__ import annotations

import numpy as np
import pytest

from zhongtai.models.recommend_core import (
    COOC,
    CandidateSettings,
    History,
    Interactions,
    candidates_for,
    fit_candidates,
    full_ranking,
    hit_and_ndcg,
    shelf_order,
)
from zhongtai.models.recommend_rank import time_cuts

pytestmark = pytest.mark.unit


def _pairs(users: int = 60) -> Interactions:
    """Every user buys an even item and, a day later, the odd item after it; six items."""
    rng = np.random.default_rng(3)
    first = rng.choice([0, 2, 4], size=users)
    user = np.repeat(np.arange(users), 2)
    item = np.column_stack([first, first + 1]).ravel()
    time = np.column_stack([np.arange(users) * 1e4, np.arange(users) * 1e4 + 86_400]).ravel()
    return Interactions(user, item, time.astype(float), np.ones(len(user)), users, 6)


def test_cooccurrence_finds_the_item_bought_with_another():
    model = fit_candidates(_pairs(), CandidateSettings(als=0, neighbours=3))
    assert model.neighbours[0, 0] == 1 and model.neighbours[3, 0] == 2
    assert model.neighbour_scores[0, 0] == pytest.approx(1.0)
    assert model.item_factors.shape == (6, 0)


def test_candidates_say_which_history_item_brought_them_and_leave_out_what_the_person_has():
    settings = CandidateSettings(als=0, popular=2, neighbours=3)
    model = fit_candidates(_pairs(), settings)
    found = candidates_for(model, History.of(np.array([2]), np.array([0.0])), 1e6, settings)
    assert 2 not in found.items
    at = list(found.items).index(3)
    assert found.source[at] == COOC and found.because[at] == 2


def test_als_folds_a_person_in_from_their_history():
    settings = CandidateSettings(factors=4, iterations=5, als=3, popular=1)
    model = fit_candidates(_pairs(), settings)
    found = candidates_for(model, History.of(np.array([4]), np.array([0.0])), 1e6, settings)
    als = found.features[:, 2]
    assert found.items[np.argmax(als)] == 5


def test_the_stock_rule_never_shows_an_empty_shelf_and_demotes_or_drops_risky_items():
    on_shelf = np.array([True, False, True, True, True])
    risk = np.array([0.9, 0.0, 0.1, np.nan, 0.6])
    assert shelf_order(on_shelf, None, 0.5).tolist() == [0, 2, 3, 4]
    assert shelf_order(on_shelf, risk, 0.5).tolist() == [2, 3, 0, 4]
    assert shelf_order(on_shelf, risk, 0.5, drop_above=0.7).tolist() == [2, 3, 4]


def test_full_ranking_fills_from_popularity_and_metrics_use_every_target():
    model = fit_candidates(_pairs(), CandidateSettings(als=0))
    top = full_ranking(np.array([5]), model, np.array([4]), 3)
    assert top[0] == 5 and 4 not in top and len(top) == 3
    assert hit_and_ndcg(np.array([7, 3, 9]), np.array([3])) == (1.0, pytest.approx(1 / np.log2(3)))
    assert hit_and_ndcg(np.array([7, 8]), np.array([3, 4])) == (0.0, 0.0)


def test_time_cuts_need_interactions_spread_over_time():
    assert time_cuts(np.zeros(10), 0.2) is None
    cut1, cut2 = time_cuts(np.arange(100.0), 0.2)
    assert (cut1, cut2) == (64.0, 80.0)
