"""One peer's drift check on the bench's data, run inside that peer's own environment by bench/drift.py.

    .venv-evidently/bin/python run_peer.py evidently DATA_DIR
    .venv-nannyml/bin/python run_peer.py nannyml DATA_DIR

Reads DATA_DIR/reference.parquet, current.parquet and columns.json ({"numeric": [...], "categorical": [...]}),
times the peer's drift computation alone (not the reading), and prints one JSON line:
{"tool", "version", "seconds", "flagged": [columns], "config"}.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd


def evidently(reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, list[str]]) -> dict:
    """The DataDriftPreset with its defaults: per column, its own choice of test and threshold (at this size:
    Wasserstein distance (normed) ≥ 0.1 for numbers, Jensen-Shannon distance ≥ 0.1 for categories)."""
    import evidently as ev
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=kinds["numeric"], categorical_columns=kinds["categorical"])
    started = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    flagged, methods = [], set()
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type") != "evidently:metric_v2:ValueDrift":
            continue
        method, threshold, value = config["method"], config["threshold"], metric["value"]
        methods.add(method)
        # Evidently's own rule: a p-value drifts below its threshold, a distance at or above it.
        drifted = value < threshold if "p_value" in method else value >= threshold
        if drifted:
            flagged.append(config["column"])
    seconds = time.perf_counter() - started
    return {"version": ev.__version__, "seconds": seconds, "flagged": flagged, "config": sorted(methods)}


def nannyml(reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, list[str]]) -> dict:
    """UnivariateDriftCalculator with its default methods (Jensen-Shannon for both kinds) and thresholds
    (learnt from the spread over reference chunks); 10 chunks a side, a column flagged when any current
    chunk alerts."""
    import nannyml as nml

    columns = kinds["numeric"] + kinds["categorical"]
    started = time.perf_counter()
    calculator = nml.UnivariateDriftCalculator(
        column_names=columns, treat_as_categorical=kinds["categorical"], chunk_number=10
    )
    calculator.fit(reference)
    results = calculator.calculate(current).filter(period="analysis").to_df()
    chunks = {c: int(results[c].xs("alert", axis=1, level=-1).to_numpy().sum()) for c in columns}
    flagged = [c for c in columns if chunks[c] > 0]
    seconds = time.perf_counter() - started
    config = ["jensen_shannon (default)", "10 chunks, any chunk alerting"]
    found = {"version": nml.__version__, "seconds": seconds, "flagged": flagged, "config": config}
    return found | {"alerting_chunks": {c: k for c, k in chunks.items() if k}}


def main() -> None:
    tool, folder = sys.argv[1], Path(sys.argv[2])
    reference = pd.read_parquet(folder / "reference.parquet")
    current = pd.read_parquet(folder / "current.parquet")
    kinds = json.loads((folder / "columns.json").read_text())
    found = {"evidently": evidently, "nannyml": nannyml}[tool](reference, current, kinds)
    sys.stdout.write(json.dumps({"tool": tool, **found}) + "\n")


if __name__ == "__main__":
    main()
