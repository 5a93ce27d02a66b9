"""The forecast figures of the quality bench: MASE against seasonal naive and the 80% interval's coverage.

    python bench/models_forecast.py [--quick]

Generated sales: the retail scenario in a throwaway folder, its inventory and promotion calendar applied
and ingested into embedded stores, and the `stock_forecast` model trained through `train_model` as
`zhongtai train` does: daily units per product x store (1,700 series of a year), 28-day horizon, the last
horizon held out and three rolling origins before it. `forecast_mase` is the model's MASE over all four
origins (each series' error divided by its in-sample seasonal-naive error, then averaged over series and
origins), `forecast_snaive_mase` seasonal naive's on the same days; `forecast_coverage80` is the share of
observed held-out days inside the 80% interval (integer intervals of counts cover at least their level).
Stock-out days are censored demand and count in no error.

Public series: AirPassengers, the monthly airline passengers 1949-1960 that statsforecast ships
(`statsforecast.utils.AirPassengers`, no download), through the same method (`forecast_panel`) with a
season of 12 and a 12-month horizon; `public_mase` and `public_snaive_mase` over the holdout and the three
rolling origins.

What the promotion calendar is worth: one more origin, a week before 618's lead-in (1 June; its peak on the
18th inside the 28 days), forecast with the calendar and with it left out (`forecast_festival_*`), and the
forecast units of the peak day over the units sold (`forecast_618_peak_ratio*`). The history holds no
earlier 618: its lead-in and peak borrow the lifts of the festivals the history saw (double 11, double 12).
MASE, a mean absolute error, rewards the median, and counts this low (about one unit a day) have medians
under their means, so a lift that corrects the mean can leave MASE where it was; the peak-day ratio shows
what the calendar changes.

`run(quick)` returns {"rows": [...], "figures": {...}}; run as a script it prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

PUBLIC_SERIES = "AirPassengers (statsforecast.utils, monthly 1949-1960)"
ORIGIN_618, PEAK_618 = date(2026, 5, 25), date(2026, 6, 18)  # a week before the lead-in; the peak day


def _origins_mean(metrics: dict[str, Any]) -> tuple[float, float]:
    """Means over the holdout and the rolling origins, weighting each origin alike."""
    origins = metrics["rolling"]["origins"]
    held, rolled = metrics["validation"]["mase"], metrics["rolling"]["mase"]
    base_held, base_rolled = metrics["baseline"]["mase"], metrics["rolling"]["baseline_mase"]
    if not origins:
        return held, base_held
    return (
        (held + origins * rolled) / (origins + 1),
        (base_held + origins * base_rolled) / (origins + 1),
    )


def generated(customers: int) -> dict[str, Any]:
    """Train `stock_forecast` on the generated retail inventory; its metrics and how long it took."""
    from zhongtai.lake.ingest import ingest
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore
    from zhongtai.models.train import train_model
    from zhongtai.scenarios.retail.generate import generate
    from zhongtai.spec.plan import apply_plan, build_plan
    from zhongtai.spec.project import load_project

    with tempfile.TemporaryDirectory(prefix="zt-bench-forecast-") as folder:
        root = Path(folder)
        report = generate(root / "retail", customers)
        store = MetadataStore(f"sqlite:///{root / 'metadata.db'}")
        try:
            lake = LakeStorage(str(root / "lake"))
            apply_plan(build_plan(load_project(report.project_dir), store), store, actor="bench")
            for dataset in ("inventory_stock", "promotion_calendar"):
                ingest(store, lake, dataset)
            started = time.perf_counter()
            version = train_model(store, lake, "stock_forecast")
            seconds = time.perf_counter() - started
            festival = _festival_origin(store, lake, version.metrics["model"])
        finally:
            store.close()
    return {"metrics": version.metrics, "train_s": seconds, "festival": festival}


def _festival_origin(store: Any, lake: Any, model: str) -> dict[str, float]:
    """MASE over the 28 days from a week before 618's lead-in (its peak inside), with the promotion
    calendar and without it: what the exogenous input is worth where it matters."""
    from zhongtai.models.forecast import read_series
    from zhongtai.models.forecasting import backtest
    from zhongtai.models.tasks import TrainJob
    from zhongtai.spec.models import EntitySpec, ModelSpec

    spec = ModelSpec.model_validate(store.spec("models", "stock_forecast"))
    entity = EntitySpec.model_validate(store.spec("entities", spec.entity))
    job = TrainJob(store, lake, spec, lambda stage, detail: None)
    panel = read_series(job, spec.forecast_settings, entity).panel
    origin = (ORIGIN_618 - date(1970, 1, 1)).days - panel.first_day
    peak = (PEAK_618 - ORIGIN_618).days
    with_calendar = backtest(panel, origin, (model,))
    blind = backtest(dataclasses.replace(panel, exogenous=np.zeros_like(panel.exogenous)), origin, (model,))

    def peak_ratio(test: Any) -> float:
        seen = test.observed[:, peak]
        return float(test.forecasts[model][seen, peak].sum() / test.actual[seen, peak].sum())

    return {
        "mase": with_calendar.mase[model],
        "no_promotions_mase": blind.mase[model],
        "snaive_mase": with_calendar.baseline_mase,
        "peak_ratio": peak_ratio(with_calendar),
        "no_promotions_peak_ratio": peak_ratio(blind),
    }


def public() -> dict[str, Any]:
    """The method on AirPassengers: season 12, horizon 12."""
    from statsforecast.utils import AirPassengers

    from zhongtai.models.forecasting import Panel, forecast_panel

    values = np.asarray(AirPassengers, dtype=np.float64)[None, :]
    horizon = 12
    panel = Panel(
        values=values,
        censored=np.zeros_like(values, dtype=bool),
        exogenous=np.zeros(values.shape[1] + horizon, dtype=np.int64),
        first_day=0,
        horizon=horizon,
        season_length=12,
    )
    return {"metrics": forecast_panel(panel, [80], horizon).metrics}


def run(quick: bool) -> dict[str, Any]:
    """The forecast rows and figures of bench/models.py (quick: a smaller retailer, the same 1,700 series)."""
    sales = generated(300 if quick else 5_000)
    airline = public()
    mase, snaive = _origins_mean(sales["metrics"])
    public_mase, public_snaive = _origins_mean(airline["metrics"])
    coverage = sales["metrics"]["validation"]["coverage_80"]
    figures = {
        "forecast_mase": round(mase, 4),
        "forecast_snaive_mase": round(snaive, 4),
        "forecast_coverage80": round(coverage, 4),
        "forecast_holdout_mase": round(sales["metrics"]["validation"]["mase"], 4),
        "forecast_holdout_snaive_mase": round(sales["metrics"]["baseline"]["mase"], 4),
        "forecast_festival_mase": round(sales["festival"]["mase"], 4),
        "forecast_festival_no_promotions_mase": round(sales["festival"]["no_promotions_mase"], 4),
        "forecast_festival_snaive_mase": round(sales["festival"]["snaive_mase"], 4),
        "forecast_618_peak_ratio": round(sales["festival"]["peak_ratio"], 3),
        "forecast_618_peak_ratio_no_promotions": round(sales["festival"]["no_promotions_peak_ratio"], 3),
        "forecast_model": sales["metrics"]["model"],
        "forecast_series": sales["metrics"]["series"],
        "forecast_train_s": round(sales["train_s"], 1),
        "public_mase": round(public_mase, 4),
        "public_snaive_mase": round(public_snaive, 4),
        "public_model": airline["metrics"]["model"],
        "public_series": PUBLIC_SERIES,
    }
    rows = [
        {"task": "forecast", "metric": "MASE, generated sales (4 origins)", "model": figures["forecast_mase"],
         "baseline": figures["forecast_snaive_mase"]},
        {"task": "forecast", "metric": "MASE, generated sales (holdout)", "model": figures["forecast_holdout_mase"],
         "baseline": figures["forecast_holdout_snaive_mase"]},
        {"task": "forecast", "metric": "MASE, 618 (with promotion calendar)",
         "model": figures["forecast_festival_mase"], "baseline": figures["forecast_festival_snaive_mase"]},
        {"task": "forecast", "metric": "MASE, 618 (calendar left out)",
         "model": figures["forecast_festival_no_promotions_mase"],
         "baseline": figures["forecast_festival_snaive_mase"]},
        {"task": "forecast", "metric": "618 peak day: forecast / actual units",
         "model": figures["forecast_618_peak_ratio"], "baseline": None},
        {"task": "forecast", "metric": "618 peak day, calendar left out",
         "model": figures["forecast_618_peak_ratio_no_promotions"], "baseline": None},
        {"task": "forecast", "metric": "80% interval coverage (holdout)", "model": figures["forecast_coverage80"],
         "baseline": None},
        {"task": "forecast", "metric": "MASE, AirPassengers (4 origins)", "model": figures["public_mase"],
         "baseline": figures["public_snaive_mase"]},
    ]  # fmt: skip
    return {"rows": rows, "figures": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="A smaller retailer (the same series).")
    result = run(parser.parse_args().quick)
    print(f"{'task':<10} {'metric':<36} {'model':>8} {'baseline':>9}")
    for row in result["rows"]:
        baseline = "" if row["baseline"] is None else f"{row['baseline']:.4f}"
        print(f"{row['task']:<10} {row['metric']:<36} {row['model']:>8.4f} {baseline:>9}")
    print(json.dumps(result["figures"], ensure_ascii=False))


if __name__ == "__main__":
    main()
