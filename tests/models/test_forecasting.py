"""The forecasting method on small generated panels: censored days are missing demand, promotions lift,
the baseline and the scale are seasonal naive's, and the distribution gives intervals and a risk."""

from __future__ import annotations

import numpy as np
import pytest

from zhongtai.models.forecasting import (
    Panel,
    exceedance,
    fit,
    forecast_panel,
    mase,
    mase_scale,
    quantiles,
    seasonal_naive,
)

pytestmark = pytest.mark.unit
WEEK = np.array([0.8, 0.9, 1.0, 1.0, 1.1, 1.4, 1.3])


def _panel(values, censored=None, exogenous=None, horizon=14):
    values = np.asarray(values, dtype=np.float64)
    days = values.shape[1]
    return Panel(
        values=values,
        censored=np.zeros(values.shape, dtype=bool) if censored is None else censored,
        exogenous=np.zeros(days + horizon, dtype=np.int64) if exogenous is None else exogenous,
        first_day=0,
        horizon=horizon,
        season_length=7,
    )


def _weekly(series=20, days=140, seed=5, lift_days=(), lift=1.0):
    rng = np.random.default_rng(seed)
    level = rng.uniform(4, 10, size=(series, 1))
    multiplier = np.tile(WEEK, days // 7 + 1)[:days]
    multiplier = np.where(np.isin(np.arange(days), lift_days), multiplier * lift, multiplier)
    return rng.poisson(level * multiplier).astype(np.float64), level


def test_censored_days_are_missing_demand_not_low_demand():
    values, level = _weekly()
    censored = np.zeros(values.shape, dtype=bool)
    censored[:, -40::3] = True  # the shelf emptied early on these days: a fifth of the demand was sold
    cut = np.where(censored, np.floor(values * 0.2), values)
    flagged = fit(_panel(cut, censored), ("ses",))["ses"].forecast
    as_zero_like = fit(_panel(cut), ("ses",))["ses"].forecast
    weekly_truth = (level * WEEK.mean()).ravel()
    assert np.abs(flagged.mean(axis=1) - weekly_truth).mean() < 0.6
    assert (as_zero_like.mean(axis=1) < flagged.mean(axis=1)).mean() > 0.9


def test_a_promotion_in_the_history_lifts_the_same_promotion_ahead():
    days, horizon = 140, 14
    values, _ = _weekly(days=days, lift_days=(30, 31, 90, 91), lift=2.0)
    exogenous = np.zeros(days + horizon, dtype=np.int64)
    exogenous[[30, 31, 90, 91, days + 5]] = 1
    found = fit(_panel(values, exogenous=exogenous, horizon=horizon), ("ses",))["ses"]
    assert found.lifts[1] == pytest.approx(2.0, abs=0.25)
    ahead = found.forecast  # day 5 ahead is on promotion, day 12 the same weekday a week later is not
    assert (ahead[:, 5] / ahead[:, 12]).mean() == pytest.approx(found.lifts[1], rel=0.05)


def test_seasonal_naive_repeats_the_last_season_and_scales_mase():
    values = np.array([[1, 2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6, 7, 8]], dtype=np.float64)
    panel = _panel(values, horizon=9)
    assert seasonal_naive(panel).tolist() == [[2, 3, 4, 5, 6, 7, 8, 2, 3]]
    assert mase_scale(values, 7).tolist() == [1.0]
    assert mase(np.array([[1.0, 2.0]]), np.array([[2.0, np.nan]]), np.array([1.0])) == 1.0


def test_the_model_beats_seasonal_naive_on_noisy_weekly_demand():
    values, _ = _weekly(series=30, days=168, seed=9)
    metrics = forecast_panel(_panel(values, horizon=28), [80], 7).metrics
    assert metrics["validation"]["mase"] < 0.9 * metrics["baseline"]["mase"]
    assert metrics["rolling"]["origins"] == 3
    assert metrics["validation"]["coverage_80"] >= 0.75


def test_the_distribution_orders_intervals_and_risks():
    mean = np.array([2.0, 20.0])
    lo, hi = quantiles(mean, 0.1, 0.1), quantiles(mean, 0.1, 0.9)
    assert (lo <= mean).all() and (hi >= mean).all() and (hi - lo)[1] > (hi - lo)[0]
    risk = exceedance(np.array([10.0, 10.0, 10.0]), 0.05, np.array([0.0, 10.0, 40.0]))
    assert risk[0] > 0.99 and 0.3 < risk[1] < 0.6 and risk[2] < 0.001
    assert exceedance(np.array([10.0]), 0.0, np.array([10.0]))[0] == pytest.approx(0.4170, abs=1e-3)


def test_a_promotion_the_history_never_saw_borrows_the_lift_of_a_related_one():
    from zhongtai.models.forecast import related

    combinations = [{}, {"promotion": "double11", "day": "peak"}, {"promotion": "618", "day": "peak"}]
    assert related(combinations) == ((), (2,), (1,))
    days, horizon = 140, 14
    values, _ = _weekly(days=days, lift_days=(30, 90), lift=2.0)
    exogenous = np.zeros(days + horizon, dtype=np.int64)
    exogenous[[30, 90]] = 1  # double 11 seen twice; 618 only ahead
    exogenous[days + 5] = 2
    panel = Panel(values, np.zeros(values.shape, dtype=bool), exogenous, 0, horizon, 7, related(combinations))
    lifts = fit(panel, ("ses",))["ses"].lifts
    assert lifts[2] == lifts[1] == pytest.approx(2.0, abs=0.3)
    unrelated = fit(_panel(values, exogenous=exogenous, horizon=horizon), ("ses",))["ses"].lifts
    assert unrelated[2] == 1.0


def test_a_backtest_panel_ending_before_the_related_promotion_keeps_the_lift_it_cannot_borrow():
    from zhongtai.models.forecast import related

    # 618 (code 1) only in the horizon of a panel cut early; its related double 11 (code 2) comes later, past
    # that panel's calendar: nothing to borrow, so 618 keeps a lift of 1.
    combinations = [{}, {"promotion": "618", "day": "peak"}, {"promotion": "double11", "day": "peak"}]
    days, horizon = 140, 14
    values, _ = _weekly(days=days)
    exogenous = np.zeros(days + horizon, dtype=np.int64)
    exogenous[75] = 1
    exogenous[120] = 2
    panel = Panel(values, np.zeros(values.shape, dtype=bool), exogenous, 0, horizon, 7, related(combinations))
    early = panel.until(70)
    assert int(early.exogenous.max()) == 1 and early.related[1] == (2,)
    lifts = fit(early, ("ses",))["ses"].lifts
    assert lifts.tolist() == [1.0, 1.0]
