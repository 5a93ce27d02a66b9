"""OneID benchmark: our engine beside Splink's FEBRL models and recordlinkage, in one run.

    .venv/bin/python bench/oneid.py [--customers 20000] [--scale N] [--no-peers]

Sets: FEBRL3 (dedupe; pairs and clusters), FEBRL4 (link; cross pairs of our clusters), and the retail
generator's ground truth. FEBRL runs through ONE general configuration (`febrl_config`, columns mapped to
attributes, nothing tuned per set). The retail systems are read directly from the generated files (SQLite
CRM/ERP, JSON lines), not ingested through the lake: the same tables, without the ingest cost. Ends with
one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oneid_eval import (
    PEER_PYTHON,
    export_febrl,
    format_table,
    read_truth_pairs,
    run_peers,
    score_clusters,
    score_pairs,
)

from zhongtai.identity.config import OneIDConfig, SourceConfig, retail_config
from zhongtai.identity.resolve import resolve

FEBRL_FIELDS = {
    "name": ["surname", "given_name"],
    "street_number": "street_number",
    "address": "address_1",
    "locality": "suburb",
    "postcode": "postcode",
    "birth_date": "date_of_birth",
    "national_id": "soc_sec_id",
}


def febrl_config(datasets: list[str]) -> OneIDConfig:
    """The one configuration both FEBRL sets run with (address_2 and state are not mapped)."""
    return OneIDConfig(sources=[SourceConfig(dataset=d, key="rec_id", fields=FEBRL_FIELDS) for d in datasets])


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_febrl(folder: Path, link: bool) -> dict:
    """Our engine on FEBRL4 (link: cross pairs inside our clusters) or FEBRL3 (dedupe)."""
    con = duckdb.connect()
    names = ["febrl4a", "febrl4b"] if link else ["febrl3"]
    for n in names:
        con.execute(f"CREATE VIEW {n} AS SELECT * FROM '{folder / (n + '.parquet')}'")
    started = time.perf_counter()
    res = resolve(con, febrl_config(names))
    seconds = time.perf_counter() - started
    cw = dict(
        zip(res.crosswalk["record_id"].to_pylist(), res.crosswalk["person_id"].to_pylist(), strict=True)
    )
    members: dict[str, list[str]] = {}
    for rec, person in cw.items():
        members.setdefault(person, []).append(rec)
    pairs = set()
    for recs in members.values():
        for i, a in enumerate(recs):
            for b in recs[i + 1 :]:
                same_side = a.split(":")[0] == b.split(":")[0]
                if not (link and same_side):
                    pairs.add((a.split(":", 1)[1], b.split(":", 1)[1]))
    truth = read_truth_pairs(folder / ("febrl4_truth.parquet" if link else "febrl3_truth.parquet"))
    result = {"peer": "oneid", "dataset": "febrl4" if link else "febrl3", "seconds": seconds}
    result["pairs"] = score_pairs(pairs, truth).as_dict()
    if not link:
        from oneid_eval import connected_components

        true_clusters = connected_components(truth)
        ours = {r.split(":", 1)[1]: p for r, p in cw.items()}
        result["clusters"] = score_clusters(ours, true_clusters).as_dict()
    result["peak_rss_mib"] = _peak_gb() * 1024
    return result


def _sqlite(path: Path, table: str) -> pa.Table:
    with sqlite3.connect(path) as db:
        cursor = db.execute(f"SELECT * FROM {table}")
        names = [c[0] for c in cursor.description]
        rows = cursor.fetchall()
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})


def retail_views(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """The generated systems as the configured datasets (read directly, see the module doc)."""
    systems = out / "systems"
    con.register("crm_customers", _sqlite(systems / "crm.db", "customers"))
    con.register("crm_loyalty_members", _sqlite(systems / "crm.db", "loyalty_members"))
    con.register("erp_orders", _sqlite(systems / "erp.db", "orders"))
    con.execute(
        f"CREATE VIEW service_tickets AS SELECT * FROM read_json_auto('{systems}/service/tickets.jsonl')"
    )
    con.execute(f"CREATE VIEW click_events AS SELECT * FROM read_json_auto('{systems}/clickstream/*.jsonl')")


def run_retail(customers: int, folder: Path) -> dict:
    """Our engine on the retail truth (click devices are not resolved: they carry no identity)."""
    from zhongtai.scenarios.retail import generate

    generate(folder, customers, seed=7)
    con = duckdb.connect()
    retail_views(con, folder)
    started = time.perf_counter()
    res = resolve(con, retail_config())
    seconds = time.perf_counter() - started
    truth_sql = (
        "SELECT replace(dataset, 'click_users', 'click_events') || ':' || record_id, person_id "
        f"FROM '{folder}/truth/record_person.parquet' WHERE dataset <> 'click_devices'"
    )
    truth = dict(con.sql(truth_sql).fetchall())
    ours = dict(
        zip(res.crosswalk["record_id"].to_pylist(), res.crosswalk["person_id"].to_pylist(), strict=True)
    )
    return {
        "peer": "oneid",
        "dataset": f"retail-{customers}",
        "seconds": seconds,
        "clusters": score_clusters(ours, truth).as_dict(),
        "peak_rss_mib": _peak_gb() * 1024,
        "stats": res.stats,
    }


def _f1(results: list[dict], peer: str, dataset: str, level: str) -> float | None:
    for r in results:
        if r["peer"] == peer and r["dataset"] == dataset and level in r:
            return round(r[level]["f1"], 5)
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--scale", type=int, default=0, help="customers for a scale run (0: skip)")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args(argv)
    folder = export_febrl()
    ours = [run_febrl(folder, link=True), run_febrl(folder, link=False)]
    with tempfile.TemporaryDirectory() as tmp:
        ours.append(run_retail(args.customers, Path(tmp)))
    peers = run_peers()["results"] if PEER_PYTHON.exists() and not args.no_peers else []
    results = ours + peers
    sys.stdout.write(format_table(results) + "\n")
    splink = next((r["peer"] for r in peers if r["peer"].startswith("splink p>=0.5")), "splink p>=0.5")
    summary = {
        "febrl4_f1": _f1(results, "oneid", "febrl4", "pairs"),
        "febrl3_f1": _f1(results, "oneid", "febrl3", "clusters"),
        "febrl3_pairs_f1": _f1(results, "oneid", "febrl3", "pairs"),
        "splink_febrl4_f1": _f1(results, splink, "febrl4", "pairs"),
        "splink_febrl3_f1": _f1(results, splink, "febrl3", "clusters"),
        "rl_febrl4_f1": _f1(results, "recordlinkage ECM", "febrl4", "pairs"),
        "rl_febrl3_f1": _f1(results, "recordlinkage ECM", "febrl3", "clusters"),
        "retail_f1": ours[2]["clusters"]["f1"],
        "retail_customers": args.customers,
        "scale_records": None,
        "scale_s": None,
        "scale_peak_gb": None,
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
