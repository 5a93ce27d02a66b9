"""The settings of a forecast model (`task: forecast`): what a series is, its horizon, what moves it, what
counts as censored demand, and the stock-out risk its outputs carry (docs/models.md#forecast).

The rows come from the model's label SQL: the series keys (the entity's join keys), the time
(`label.timestamp`) and the value (`label.label`), plus the censoring flag and the stock columns named here.
Exogenous values (promotions) come from their own SQL, because the horizon needs them too: a promotion is
planned before the days it lifts.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from zhongtai.spec.base import Name, Spec

COLUMN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


class ExogenousSpec(Spec):
    """Values known ahead for every day, past and horizon alike (a promotion calendar)."""

    sql: str = Field(
        description="SQL over lake datasets returning the time column (as the label's `timestamp` names it) "
        "and the exogenous columns, one row per day, for the history and the horizon."
    )
    columns: list[str] = Field(
        min_length=1,
        description="The columns whose values move demand (a promotion's name, its day type); each "
        "combination seen in the history gets its own multiplicative lift.",
    )

    @field_validator("columns")
    @classmethod
    def _plain_columns(cls, columns: list[str]) -> list[str]:
        bad = [c for c in columns if not re.match(COLUMN, c)]
        if bad:
            raise ValueError(f"not plain column names: {', '.join(bad)}")
        return columns


class StockRiskSpec(Spec):
    """The stock-out risk of each series: P(demand over the risk horizon > stock on hand + arriving), and
    P(the next day's demand empties the shelf)."""

    stock: list[str] = Field(
        min_length=1,
        description="Columns of the label SQL summed into the stock position at the forecast date "
        "(units on hand, units ordered and arriving); the first is what is on the shelf now, which the "
        "next day's risk (`stockout_risk_1d`) is measured against.",
    )
    horizon: int = Field(default=7, ge=1, le=90, description="Days the risk looks ahead.")


class ForecastSpec(Spec):
    """How a forecast model reads, fits and publishes its series."""

    series_keys: list[str] = Field(
        default=[],
        description="The columns naming a series; the model's entity's join keys (the default) and only them, "
        "so forecasts are served and published per entity.",
    )
    horizon: int = Field(
        default=28, ge=1, le=366, description="Days forecast ahead of the last observed day."
    )
    season_length: int = Field(default=7, ge=1, le=366, description="Days in one season (7: a week).")
    frequency: Literal["daily"] = Field(default="daily", description="The spacing of the series: `daily`.")
    censored: str | None = Field(
        default=None,
        description="A column of the label SQL, true (or 1) on days whose demand was cut by a stock-out: those "
        "days count as missing demand, never as zero (docs/models.md#forecast).",
    )
    exogenous: ExogenousSpec | None = Field(
        default=None, description="Promotions and other values known ahead, by day."
    )
    levels: list[int] = Field(
        default=[80], min_length=1, description="Prediction interval levels in percent (each in 50..99)."
    )
    stock_risk: StockRiskSpec | None = Field(
        default=None, description="The stock-out risk published and served with each forecast."
    )
    outputs: Name | None = Field(
        default=None,
        description="The lake dataset the champion's forecasts are published to (`zhongtai models publish`); "
        "declaring the model declares it, and feature views read it like any dataset.",
    )

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: list[int]) -> list[int]:
        wrong = [level for level in levels if not 50 <= level <= 99]
        if wrong:
            raise ValueError(f"interval levels are percents from 50 to 99, got {wrong}")
        return sorted(set(levels))

    @model_validator(mode="after")
    def _horizons(self) -> ForecastSpec:
        if self.stock_risk is not None and self.stock_risk.horizon > self.horizon:
            raise ValueError(
                f"stock_risk.horizon ({self.stock_risk.horizon}) must not exceed horizon ({self.horizon})"
            )
        return self


def risk_days(settings: ForecastSpec) -> int:
    """Days summed into the published forecast and the risk: the stock-risk horizon, else a week at most."""
    return settings.stock_risk.horizon if settings.stock_risk else min(7, settings.horizon)


def output_columns(settings: ForecastSpec) -> list[tuple[str, str, str]]:
    """The columns a forecast model publishes besides the entity's join keys: (name, type, description)."""
    days = risk_days(settings)
    columns = [
        ("forecast_date", "date", "The last observed day: the forecast looks ahead from the day after it"),
        (f"forecast_{days}d", "float64", f"Expected demand over the {days} days after the forecast date"),
    ]
    for level in settings.levels:
        columns += [
            (f"forecast_{days}d_lo_{level}", "float64", f"Lower end of its {level}% prediction interval"),
            (f"forecast_{days}d_hi_{level}", "float64", f"Upper end of its {level}% prediction interval"),
        ]
    if settings.stock_risk is not None:
        next_day = (
            []
            if days == 1
            else [
                (
                    "stockout_risk_1d",
                    "float64",
                    "P(demand the day after the forecast date empties the shelf: reaches the first stock "
                    "column, before any delivery), 0..1",
                )
            ]
        )
        columns += [
            ("stock_position", "float64", "Stock on hand plus arriving at the forecast date"),
            (
                f"stockout_risk_{days}d",
                "float64",
                f"P(demand over the {days} days after the forecast date > stock position), 0..1",
            ),
            *next_day,
        ]
    columns += [
        ("model", "string", "The forecast model that produced the row"),
        ("model_version", "int64", "Its version: the row's lineage"),
    ]
    return columns


def outputs_dataset(model: str, settings: ForecastSpec, owner: str | None) -> dict[str, dict]:
    """The dataset a forecast model publishes to, as a registered spec payload: no source, `model` names the
    producer. Declared by declaring the model (`zhongtai plan` shows it), versioned by each publish."""
    if settings.outputs is None:
        return {}
    return {
        settings.outputs: {
            "name": settings.outputs,
            "model": model,
            "description": f"Forecasts of model '{model}' per series, as of the forecast date "
            "(`zhongtai models publish`)",
            **({"owner": owner} if owner else {}),
            "fields": [
                {"name": name, "type": kind, "description": text}
                for name, kind, text in output_columns(settings)
            ],
        }
    }
