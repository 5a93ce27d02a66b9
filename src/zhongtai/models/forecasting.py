"""Demand forecasting over a panel of daily series: arrays in, forecasts with a predictive distribution out.

The method, chosen by measurement on the retail scenario (docs/models.md#forecast): demand is taken apart
into a season profile pooled across series (the weekday pattern every store shares), a multiplicative lift
per combination of exogenous values seen in the history (a promotion's lead-in, its peak day), and what is
left, a slowly moving level per series, which a statsforecast model (simple exponential smoothing with its
smoothing weight fitted, a window average, and on small panels AutoETS; whichever wins the rolling-origin
backtests) forecasts. The
forecast puts the profile and the planned promotions' lifts back. Censored days (a stock-out cut the sales)
are missing demand: they are left out of every estimate and of every error, and the level filled in for them
is at least what was sold, never zero.

The predictive distribution is a negative binomial around the point forecast whose dispersion is measured on
the backtests' errors: one for single days (the intervals) and one for the sum over the risk horizon (the
stock-out risk), because errors of neighbouring days are correlated and a sum of daily intervals would be too
narrow. Seasonal naive (the last season repeated) is always computed beside it as the baseline; MASE divides
by each series' in-sample seasonal-naive error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CANDIDATES = ("ses", "window_average")
# AutoETS (trend and damping chosen per series) joins them on small panels: it fits each series by numerical
# optimisation, seconds for a few hundred series but minutes for the retail scenario's 1,700 (measured).
SMALL_PANEL_CELLS = 50_000
LEVEL_WINDOW = 28  # days of base demand a promotion's lift is measured against
MAX_ORIGINS = 3  # rolling origins before the holdout


@dataclass(frozen=True)
class Panel:
    """Daily series on one calendar: `values[s, t]` (NaN: no row), `censored[s, t]`, and per day the index
    of its exogenous combination (0: none of them), for the history and the `horizon` days after it."""

    values: np.ndarray
    censored: np.ndarray
    exogenous: np.ndarray  # (days + horizon,) int: combination index per day, 0 = ordinary day
    first_day: int  # days since 1970-01-01 of column 0
    horizon: int
    season_length: int
    # Per combination, the combinations sharing the most of its values: a combination the history never saw
    # (this year's 618 when the history holds last year's festivals) borrows their lifts.
    related: tuple[tuple[int, ...], ...] = ()

    @property
    def days(self) -> int:
        return int(self.values.shape[1])

    def until(self, end: int) -> Panel:
        """The panel as it was known at day index `end` (exclusive), with the same calendar ahead."""
        return Panel(
            self.values[:, :end],
            self.censored[:, :end],
            self.exogenous[: end + self.horizon],
            self.first_day,
            self.horizon,
            self.season_length,
            self.related,
        )


@dataclass
class Fit:
    """The decomposition learnt from a panel and the point forecast of its next `horizon` days."""

    model: str
    profile: np.ndarray  # (season_length,) by (day number % season_length)
    lifts: np.ndarray  # (combinations,) multiplicative, index 0 = 1.0
    forecast: np.ndarray  # (series, horizon)


@dataclass
class Backtest:
    """Errors of one origin: the model's and seasonal naive's MASE, and what the dispersion is measured on."""

    origin: int
    mase: dict[str, float]
    baseline_mase: float
    forecasts: dict[str, np.ndarray]
    actual: np.ndarray
    observed: np.ndarray


@dataclass
class Forecasts:
    """The chosen model's forecast of the whole panel, its distribution, and how it was judged."""

    model: str
    profile: np.ndarray
    lifts: np.ndarray
    mean: np.ndarray  # (series, horizon)
    dispersion: float  # negative binomial alpha of one day (variance = mu + alpha mu^2)
    sum_dispersion: float  # the same for the sum over the risk horizon
    metrics: dict[str, Any] = field(default_factory=dict)


def observed(panel: Panel) -> np.ndarray:
    """The values as demand: NaN where there was no row or the day was censored."""
    return np.where(panel.censored, np.nan, panel.values)


def mase_scale(values: np.ndarray, season_length: int) -> np.ndarray:
    """Each series' in-sample seasonal-naive mean absolute error (NaN where it cannot be computed or is 0)."""
    if values.shape[1] <= season_length:
        return np.full(values.shape[0], np.nan)
    diff = np.abs(values[:, season_length:] - values[:, :-season_length])
    with np.errstate(invalid="ignore"):
        scale = np.nanmean(np.where(np.isnan(diff), np.nan, diff), axis=1)
    return np.where(scale > 0, scale, np.nan)


def mase(forecast: np.ndarray, actual: np.ndarray, scale: np.ndarray) -> float:
    """Mean over series of the mean absolute error on observed days, divided by the series' scale."""
    errors = np.abs(forecast - actual)
    with np.errstate(invalid="ignore"):
        per_series = np.nanmean(errors, axis=1) / scale
    finite = per_series[np.isfinite(per_series)]
    return float(finite.mean()) if finite.size else float("nan")


def seasonal_naive(panel: Panel) -> np.ndarray:
    """The last observed season repeated over the horizon (raw sales, as a planner would copy them)."""
    m = panel.season_length
    last = np.nan_to_num(panel.values[:, -m:], nan=0.0)
    reps = -(-panel.horizon // m)
    return np.tile(last, reps)[:, : panel.horizon]


def _season_index(panel: Panel, start: int, count: int) -> np.ndarray:
    return (panel.first_day + start + np.arange(count)) % panel.season_length


def _trailing_mean(values: np.ndarray, window: int, after: int = 0) -> np.ndarray:
    """Mean of the finite values among the `window` days before each day, or with `after`, of the days from
    `window` before to `after` after it, the day itself included (NaN where there are none)."""
    finite = np.isfinite(values)
    sums = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(np.where(finite, values, 0), axis=1)], 1)
    counts = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(finite, axis=1)], axis=1)
    days = np.arange(values.shape[1])
    starts, ends = np.maximum(days - window, 0), np.minimum(days + after + 1, values.shape[1])
    if after:
        total, n = sums[:, ends] - sums[:, starts], counts[:, ends] - counts[:, starts]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, total / np.maximum(n, 1), np.nan)
    ends = days
    total, n = sums[:, ends] - sums[:, starts], counts[:, ends] - counts[:, starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def decompose(panel: Panel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pooled season profile, the lift of each exogenous combination, and the demand with both removed."""
    demand = observed(panel)
    days = panel.days
    combination = panel.exogenous[:days]
    ordinary = combination == 0
    season = _season_index(panel, 0, days)
    # Each day against the ordinary days of the season around it (a centred moving mean), so a trend or a
    # change of level does not leak into the profile.
    half = max(panel.season_length // 2, 1)
    level = _trailing_mean(np.where(ordinary, demand, np.nan), half, after=half)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = demand / np.where(level > 0, level, np.nan)
    profile = np.ones(panel.season_length)
    for position in range(panel.season_length):
        chosen = relative[:, (season == position) & ordinary]
        if np.isfinite(chosen).any():
            profile[position] = float(np.nanmean(chosen))
    profile = profile / profile.mean() if profile.mean() > 0 else np.ones(panel.season_length)
    adjusted = demand / profile[season]
    # A lift is measured against the ordinary days around it, before and after: a festival at the start of
    # the history has no ordinary days before it.
    base = _trailing_mean(np.where(ordinary, adjusted, np.nan), LEVEL_WINDOW, after=LEVEL_WINDOW)
    lifts = np.ones(int(panel.exogenous.max(initial=0)) + 1)
    seen = np.zeros(len(lifts), dtype=bool)
    for code in range(1, len(lifts)):
        days_of = combination == code
        both = np.isfinite(adjusted[:, days_of]) & np.isfinite(base[:, days_of])
        denominator = base[:, days_of][both].sum()
        if denominator > 0:
            lifts[code], seen[code] = float(adjusted[:, days_of][both].sum() / denominator), True
    for code in np.flatnonzero(~seen)[1:] if len(lifts) > 1 else []:
        # A related combination may lie beyond this panel's calendar (a backtest's panel ends earlier).
        related = panel.related[code] if code < len(panel.related) else ()
        borrowed = [lifts[c] for c in related if c < len(lifts) and seen[c]]
        if borrowed:
            lifts[code] = float(np.mean(borrowed))
    return profile, lifts, adjusted / lifts[combination]


def _filled(panel: Panel, base_demand: np.ndarray, profile: np.ndarray, lifts: np.ndarray) -> np.ndarray:
    """Base demand with every gap filled for the model: a censored day gets at least what was sold."""
    level = _trailing_mean(base_demand, LEVEL_WINDOW)
    overall = np.nanmean(base_demand, axis=1, keepdims=True)
    level = np.where(np.isfinite(level), level, np.nan_to_num(overall, nan=0.0))
    season = _season_index(panel, 0, panel.days)
    sold = np.nan_to_num(panel.values, nan=0.0) / (profile[season] * lifts[panel.exogenous[: panel.days]])
    floor = np.where(panel.censored, sold, 0.0)
    return np.where(np.isfinite(base_demand), base_demand, np.maximum(level, floor))


def _statsforecast_models(names: tuple[str, ...]) -> list[Any]:
    from statsforecast.models import AutoETS, SimpleExponentialSmoothingOptimized, WindowAverage

    made = {
        "auto_ets": lambda: AutoETS(season_length=1, alias="auto_ets"),
        "ses": lambda: SimpleExponentialSmoothingOptimized(alias="ses"),
        "window_average": lambda: WindowAverage(window_size=LEVEL_WINDOW, alias="window_average"),
    }
    return [made[name]() for name in names]


def fit(panel: Panel, models: tuple[str, ...] = CANDIDATES) -> dict[str, Fit]:
    """Decompose, forecast the base demand with each statsforecast model, recompose; by model name."""
    import pandas as pd

    os.environ.setdefault("NIXTLA_ID_AS_COL", "1")  # keep unique_id a column (statsforecast 1.x and 2.x)
    from statsforecast import StatsForecast

    profile, lifts, base_demand = decompose(panel)
    filled = _filled(panel, base_demand, profile, lifts)
    series, days = filled.shape
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(series), days),
            "ds": np.tile(np.arange(days), series),
            "y": filled.ravel(),
        }
    )
    found = StatsForecast(models=_statsforecast_models(models), freq=1, n_jobs=1).forecast(
        df=frame, h=panel.horizon
    )
    found = found.sort_values(["unique_id", "ds"])
    ahead = profile[_season_index(panel, days, panel.horizon)]
    ahead = ahead * lifts[panel.exogenous[days : days + panel.horizon]]
    return {
        name: Fit(
            name,
            profile,
            lifts,
            np.maximum(found[name].to_numpy().reshape(series, panel.horizon), 0.0) * ahead,
        )
        for name in models
    }


def backtest(panel: Panel, origin: int, models: tuple[str, ...]) -> Backtest:
    """Fit on the days before `origin` and score the next horizon against seasonal naive."""
    history = panel.until(origin)
    fits = fit(history, models)
    actual = observed(panel)[:, origin : origin + panel.horizon]
    scale = mase_scale(observed(history), panel.season_length)
    return Backtest(
        origin=origin,
        mase={name: mase(f.forecast, actual, scale) for name, f in fits.items()},
        baseline_mase=mase(seasonal_naive(history), actual, scale),
        forecasts={name: f.forecast for name, f in fits.items()},
        actual=actual,
        observed=np.isfinite(actual),
    )


def origins(panel: Panel) -> list[int]:
    """The holdout origin (the last horizon) first, then up to MAX_ORIGINS earlier ones a horizon apart,
    each keeping at least two seasons of history."""
    minimum = 2 * panel.season_length
    found = []
    for step in range(1, MAX_ORIGINS + 2):
        origin = panel.days - step * panel.horizon
        if origin < minimum:
            break
        found.append(origin)
    return found


def candidates(panel: Panel) -> tuple[str, ...]:
    """The statsforecast models a panel's backtests compare: AutoETS too when the panel is small."""
    return (*CANDIDATES, "auto_ets") if panel.values.size <= SMALL_PANEL_CELLS else CANDIDATES


def dispersion(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Negative binomial alpha by the method of moments: E[(y - mu)^2] = mu + alpha mu^2 (0: Poisson)."""
    usable = np.isfinite(actual) & np.isfinite(forecast)
    mu, y = forecast[usable], actual[usable]
    if mu.size == 0 or float((mu**2).sum()) == 0:
        return 0.0
    return float(np.clip((((y - mu) ** 2) - mu).sum() / (mu**2).sum(), 0.0, 10.0))


def window_sums(tests: list[Backtest], model: str, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Forecast and actual sums over each origin's first `days` days, where every day was observed."""
    forecasts, actuals = [], []
    for test in tests:
        whole = test.observed[:, :days].all(axis=1)
        forecasts.append(test.forecasts[model][whole, :days].sum(axis=1))
        actuals.append(test.actual[whole, :days].sum(axis=1))
    return np.concatenate(forecasts), np.concatenate(actuals)


def quantiles(mean: np.ndarray, alpha: float, probability: float) -> np.ndarray:
    """The negative binomial (Poisson when alpha is 0) quantile at `probability` for each mean."""
    from scipy import stats

    mu = np.maximum(np.asarray(mean, dtype=np.float64), 1e-9)
    if alpha <= 1e-9:
        return np.asarray(stats.poisson.ppf(probability, mu), dtype=np.float64)
    k = 1.0 / alpha
    return np.asarray(stats.nbinom.ppf(probability, k, k / (k + mu)), dtype=np.float64)


def exceedance(mean: np.ndarray, alpha: float, threshold: np.ndarray) -> np.ndarray:
    """P(demand > threshold) under the negative binomial (Poisson when alpha is 0) around each mean."""
    from scipy import stats

    mu = np.maximum(np.asarray(mean, dtype=np.float64), 1e-9)
    if alpha <= 1e-9:
        return np.asarray(stats.poisson.sf(threshold, mu), dtype=np.float64)
    k = 1.0 / alpha
    return np.asarray(stats.nbinom.sf(threshold, k, k / (k + mu)), dtype=np.float64)


def coverage(mean: np.ndarray, actual: np.ndarray, alpha: float, level: int) -> float:
    """Share of observed days whose value lies inside the central `level`% interval."""
    tail = (1 - level / 100) / 2
    lo, hi = quantiles(mean, alpha, tail), quantiles(mean, alpha, 1 - tail)
    usable = np.isfinite(actual)
    inside = (actual >= lo) & (actual <= hi)
    return float(inside[usable].mean()) if usable.any() else float("nan")


def forecast_panel(panel: Panel, levels: list[int], risk_days: int) -> Forecasts:
    """Backtest on rolling origins, choose the model, measure its dispersion, then forecast the whole panel.

    The model is chosen on the rolling origins before the holdout (or on the holdout when the history
    holds no earlier one), the dispersion measured on the same origins, and the holdout (the last horizon)
    reports: MASE against seasonal naive, interval coverage.
    """
    found = origins(panel)
    models = candidates(panel)
    holdout = backtest(panel, found[0], models)
    rolling = [backtest(panel, origin, models) for origin in found[1:]]
    judged = rolling or [holdout]
    scores = {name: float(np.nanmean([t.mase[name] for t in judged])) for name in models}
    chosen = min(scores, key=lambda name: scores[name])
    alpha = dispersion(
        np.concatenate([t.forecasts[chosen].ravel() for t in judged]),
        np.concatenate([t.actual.ravel() for t in judged]),
    )
    sum_alpha = dispersion(*window_sums(judged, chosen, min(risk_days, panel.horizon)))
    final = fit(panel, (chosen,))[chosen]
    held = holdout.forecasts[chosen]
    metrics = {
        "validation": {
            "mase": holdout.mase[chosen],
            **{f"coverage_{level}": coverage(held, holdout.actual, alpha, level) for level in levels},
        },
        "baseline": {"mase": holdout.baseline_mase, "model": "seasonal_naive"},
        "rolling": {
            "origins": len(rolling),
            "mase": _mean([t.mase[chosen] for t in rolling]),
            "baseline_mase": _mean([t.baseline_mase for t in rolling]),
        },
        "candidates": {name: round(score, 4) for name, score in scores.items()},
        "model": chosen,
    }
    return Forecasts(chosen, final.profile, final.lifts, final.forecast, alpha, sum_alpha, metrics)


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else None
