"""Ingest throughput: the retail scenario pulled into the lake, first run and a no-change re-run.

    python bench/ingest.py [--customers 100000] [--crm-url URL --erp-url URL] [--metadata-url URL] [--check]

Prints one line per dataset (rows, seconds, rows/s for the first ingest; seconds for the re-ingest, which must
add no version) and ends with one JSON line of the figures. The databases given by URL must answer first
(bench/prerequisites.py); the default is embedded SQLite, which needs nothing. `--check` stops there.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from prerequisites import CHECK_HELP, check_only, sql_servers

from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.scenarios.retail.generate import generate
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project
from zhongtai.spec.references import ingest_order


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--crm-url")
    parser.add_argument("--erp-url")
    parser.add_argument("--metadata-url")
    parser.add_argument("--check", action="store_true", help=CHECK_HELP)
    args = parser.parse_args()
    sql_servers({"--crm-url": args.crm_url, "--erp-url": args.erp_url, "--metadata-url": args.metadata_url})
    check_only(args.check, "ingest")

    with tempfile.TemporaryDirectory(prefix="zt-bench-ingest-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        report = generate(work / "retail", args.customers, crm_url=args.crm_url, erp_url=args.erp_url)
        print(f"generated {args.customers:,} customers in {time.perf_counter() - started:.1f} s", flush=True)
        store = MetadataStore(args.metadata_url or f"sqlite:///{work / 'metadata.db'}")
        lake = LakeStorage(str(work / "lake"))
        apply_plan(build_plan(load_project(report.project_dir), store), store)
        figures: dict[str, dict[str, float]] = {}
        print(f"{'dataset':<22}{'rows':>12}{'first s':>10}{'rows/s':>12}{'again s':>10}")
        for name in ingest_order(store.registered("datasets")):
            t0 = time.perf_counter()
            first = ingest(store, lake, name)
            t1 = time.perf_counter()
            again = ingest(store, lake, name)
            t2 = time.perf_counter()
            if again.created:
                sys.exit(f"{name}: re-ingest with no change made version {again.version}")
            rate = first.rows / (t1 - t0) if t1 > t0 else 0.0
            figures[name] = {
                "rows": first.rows,
                "first_s": round(t1 - t0, 2),
                "again_s": round(t2 - t1, 2),
            }
            print(
                f"{name:<22}{first.rows:>12,}{t1 - t0:>10.2f}{rate:>12,.0f}{t2 - t1:>10.2f}",
                flush=True,
            )
        store.close()
    total_rows = sum(int(f["rows"]) for f in figures.values())
    total_s = sum(f["first_s"] for f in figures.values())
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)
    print(
        f"total: {total_rows:,} rows in {total_s:.1f} s ({total_rows / total_s:,.0f} rows/s), peak RSS {peak_gb:.2f} GB"
    )
    print(
        json.dumps(
            {
                "customers": args.customers,
                "rows": total_rows,
                "ingest_s": round(total_s, 2),
                "rows_per_s": round(total_rows / total_s),
                "reingest_s": round(sum(f["again_s"] for f in figures.values()), 2),
                "peak_rss_gb": round(peak_gb, 2),
                "datasets": figures,
            }
        )
    )


if __name__ == "__main__":
    main()
