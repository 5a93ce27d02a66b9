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

`run(quick)` returns {"rows": [...], "figures": {...}}; run as a script it prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

PUBLIC_SERIES = "AirPassengers (statsforecast.utils, monthly 1949-1960)"


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
        finally:
            store.close()
    return {"metrics": version.metrics, "train_s": seconds}


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
