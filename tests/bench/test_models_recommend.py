"""bench/models_recommend.py's stock count on a hand-made shelf: the rule the runtime applies, counted the
next day, with and without the risk."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from zhongtai.models.recommend_core import CandidateSettings, History, Interactions, fit_candidates
from zhongtai.models.recommend_rank import ItemTable, fit_ranker

pytestmark = pytest.mark.unit


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "models_recommend.py"
    spec = importlib.util.spec_from_file_location("models_recommend", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("models_recommend", module)
    spec.loader.exec_module(module)
    return module


bench = _load()


class _Ledger:
    """One store (0), sixteen products; day 1 every shelf holds 3, except product 5 (empty) and product 6,
    which sold 3 a day all week and is empty on day 2."""

    def __init__(self) -> None:
        self.days = np.arange(3)
        self.store = np.zeros(16, dtype=np.int64)
        self.product = np.arange(16)
        self.on_hand = np.full((3, 16), 3)
        self.on_hand[:, 5] = 0
        self.on_hand[2, 6] = 0
        self.sold = np.zeros((3, 16))
        self.sold[:, 6] = 3


def test_the_risk_keeps_the_item_that_empties_tomorrow_out_of_the_top():
    rng = np.random.default_rng(1)
    data = Interactions(
        rng.integers(0, 40, 400), rng.integers(0, 16, 400), rng.random(400) * 1e6, np.ones(400), 40, 16
    )
    settings = CandidateSettings(als=0, popular=16)
    model = fit_candidates(data, settings)
    x = rng.random((40, 10))
    booster = fit_ranker(
        x, (rng.random(40) > 0.5).astype(float), [20, 20], [f"f{i}" for i in range(10)], {}, 2
    )
    history = {0: History.of(np.array([1]), np.array([0.0]))}
    # The forecast's risk on the evening of day 1: product 6 is the one whose shelf empties tomorrow.
    risks = {1: np.where(np.arange(16) == 6, 1.0, 0.0)}
    with_risk, without = bench._out_of_stock_next_day(
        model, booster, history, {0: np.array([2])}, np.array([0]), _Ledger(), risks, settings,
        ItemTable.none(16), 1e6,
    )  # fmt: skip
    assert with_risk["today_out"] == without["today_out"] == 0  # product 5 is never shown
    assert without["next_day_out"] == 1 and with_risk["next_day_out"] == 0
    assert with_risk["served"] == 1
