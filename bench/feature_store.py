"""Point-in-time training sets: Zhongtai's join against a hand-written DuckDB ASOF JOIN and Feast, one run.

    python bench/feature_store.py [--entities 100000] [--times 10] [--labels 1000000] [--no-feast]

The data come from bench/feast/data.py (history of entities x times rows with 8 features, labels of which
some have no value inside the 30-day TTL). Ours runs `zhongtai.features.training.point_in_time_join` on the
same Parquet files, then checks it returns every label row with the reference's values. Feast runs in its own
environment (bench/feast/setup.sh) when present. Each engine runs in a subprocess, so its time and peak memory
are its own. The last line is one JSON object.

First version (session 1): the point-in-time part of the issue's table; materialize, online reads and
streaming come with the feature-store issue.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FEAST_PYTHON = HERE / ".venv-feast" / "bin" / "python"


def _ours(folder: Path) -> dict:
    import duckdb
    import pyarrow.compute as pc

    from zhongtai.features.training import point_in_time_join
    from zhongtai.lake.offline.duckdb import DuckDBEngine
    from zhongtai.meta.records import ColumnInfo, FeatureBuild
    from zhongtai.meta.time import now
    from zhongtai.spec.models import FeatureViewSpec

    sys.path.insert(0, str(HERE / "feast"))
    from data import FEATURES, asof_join_duckdb

    history, labels = folder / "history.parquet", folder / "labels.parquet"
    view = FeatureViewSpec(
        name="stats",
        entity="entity",
        timestamp="event_timestamp",
        ttl="30d",
        sql="SELECT 1",
        features=[{"name": f, "type": "float64"} for f in FEATURES],
    )
    build = FeatureBuild(
        "stats", 1, now(), 0, [str(history)], [ColumnInfo(f, "float64") for f in FEATURES], {}, None
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    started = time.perf_counter()
    joined = point_in_time_join(
        DuckDBEngine(con=con),
        f"SELECT * FROM read_parquet('{labels}')",
        [(view, build, ["entity_id"])],
        timestamp="event_timestamp",
    )
    seconds = time.perf_counter() - started
    reference = asof_join_duckdb(history, labels)
    ours = joined.sort_by("label_id")
    same = all(
        pc.all(pc.fill_null(pc.equal(ours.column(f), reference.column(f)), True)).as_py()
        and ours.column(f).null_count == reference.column(f).null_count
        for f in FEATURES
    )
    return {
        "pit_s": round(seconds, 3),
        "rows": joined.num_rows,
        "rows_asked": reference.num_rows,
        "rows_lost": reference.num_rows - joined.num_rows,
        "identical_values": same,
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20), 2),
    }


def _asof(folder: Path) -> dict:
    sys.path.insert(0, str(HERE / "feast"))
    from data import asof_join_duckdb

    started = time.perf_counter()
    joined = asof_join_duckdb(folder / "history.parquet", folder / "labels.parquet")
    return {
        "asof_s": round(time.perf_counter() - started, 3),
        "rows": joined.num_rows,
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20), 2),
    }


def _subprocess(python: Path | str, args: list[str]) -> dict:
    done = subprocess.run([str(python), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--no-feast", action="store_true", help="Skip Feast even if its environment exists.")
    parser.add_argument("--engine", choices=["ours", "asof"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(_ours(args.data) if args.engine == "ours" else _asof(args.data)))
        return

    sys.path.insert(0, str(HERE / "feast"))
    from data import generate

    folder = HERE / ".data" / f"feature_store-{args.entities}x{args.times}-{args.labels}"
    generate(folder, args.entities, args.times, args.labels)
    ours = _subprocess(sys.executable, [__file__, "--engine", "ours", "--data", str(folder)])
    asof = _subprocess(sys.executable, [__file__, "--engine", "asof", "--data", str(folder)])
    feast: dict = {}
    if FEAST_PYTHON.exists() and not args.no_feast:
        feast = _subprocess(
            FEAST_PYTHON,
            [
                str(HERE / "feast" / "run_feast.py"),
                "--entities",
                str(args.entities),
                "--times",
                str(args.times),
                "--labels",
                str(args.labels),
                "--no-serve",
            ],
        )
    print(f"{'engine':<28}{'seconds':>10}{'peak GB':>10}{'rows lost':>11}")
    print(
        f"{'zhongtai point_in_time_join':<28}{ours['pit_s']:>10.2f}{ours['peak_gb']:>10.2f}{ours['rows_lost']:>11,}"
    )
    print(f"{'DuckDB ASOF JOIN by hand':<28}{asof['asof_s']:>10.2f}{asof['peak_gb']:>10.2f}{0:>11,}")
    for name, key in (("Feast file store", "feast_file_1m_s"), ("Feast duckdb store", "feast_duckdb_1m_s")):
        if feast.get(key) is not None:
            print(f"{name:<28}{feast[key]:>10.2f}{'':>10}{'':>11}")
    print(
        json.dumps(
            {
                "labels": args.labels,
                "history_rows": args.entities * args.times,
                "pit_1m_s": ours["pit_s"],
                "asof_1m_s": asof["asof_s"],
                "rows_lost": ours["rows_lost"],
                "identical_values": ours["identical_values"],
                "pit_peak_gb": ours["peak_gb"],
                **{k: v for k, v in feast.items() if k.startswith("feast_")},
            }
        )
    )


if __name__ == "__main__":
    main()
