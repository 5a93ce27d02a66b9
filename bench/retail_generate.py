"""Benchmark: generate the retail scenario and print seconds and rows per second per stage.

    .venv/bin/python bench/retail_generate.py --customers 100000
    .venv/bin/python bench/retail_generate.py --customers 100000 \
        --crm-url postgresql://postgres@127.0.0.1:5432/zt_bench_retail \
        --erp-url mysql://root@127.0.0.1:3306/zt_bench_retail

Writes into a temporary folder (removed afterwards). Databases given by URL must answer first
(bench/prerequisites.py; `--check` stops there). The last line is one JSON object:
{"customers": N, "seconds": ..., "rows": {...}}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from prerequisites import CHECK_HELP, check_only, sql_servers

from zhongtai.scenarios.retail import generate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--crm-url", default=None, help="PostgreSQL URL (default: embedded SQLite)")
    parser.add_argument("--erp-url", default=None, help="MariaDB URL (default: embedded SQLite)")
    parser.add_argument("--check", action="store_true", help=CHECK_HELP)
    args = parser.parse_args()
    sql_servers({"--crm-url": args.crm_url, "--erp-url": args.erp_url})
    check_only(args.check, "retail_generate")
    stage_rows: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="zt-retail-bench-") as folder:
        started = time.perf_counter()
        report = generate(
            Path(folder),
            args.customers,
            seed=args.seed,
            crm_url=args.crm_url,
            erp_url=args.erp_url,
            on_progress=lambda stage, rows: stage_rows.__setitem__(stage, rows),
        )
        total = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    print(f"{'stage':<12} {'seconds':>8} {'rows':>11} {'rows/s':>11}")
    for stage, seconds in report.seconds.items():
        rows = stage_rows.get(stage, 0)
        rate = rows / seconds if seconds else 0.0
        print(f"{stage:<12} {seconds:>8.2f} {rows:>11,} {rate:>11,.0f}")
    print(
        f"{'total':<12} {total:>8.2f}   written to disk: {size / 2**20:,.0f} MiB "
        f"(crm: {report.paths['crm']}, erp: {report.paths['erp']})"
    )
    print(
        json.dumps(
            {
                "customers": args.customers,
                "seconds": round(total, 2),
                "rows": report.rows,
                "stage_seconds": report.seconds,
                "disk_mib": round(size / 2**20),
            }
        )
    )


if __name__ == "__main__":
    main()
