"""Benchmark the audit log: what chaining a decision batch costs the decision-log writer, and how fast
`zhongtai audit verify` walks a long log.

    python bench/audit.py [--batches 200] [--batch-size 500] [--pg postgresql://postgres@127.0.0.1/postgres]

For each metadata store (a SQLite file in a throwaway folder; PostgreSQL in a throwaway database when --pg is
given) it writes --batches batches of --batch-size decisions through `DecisionRecords.append`, which writes
the batch and its audit record in one transaction, and the same batches as plain inserts without the record,
then times `verify` over the log (every record's hash and link, every decision's digest). The last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from zhongtai.govern.audit_verify import verify
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.tables import SqlDecision
from zhongtai.meta.time import now


def _batch(size: int) -> list[DecisionRecord]:
    return [
        DecisionRecord(
            id=str(uuid.uuid4()),
            at=now(),
            capability="churn-risk",
            principal="crm",
            model_name="churn",
            model_version=3,
            decision="retain",
            score=n / size,
            fallback=False,
            inputs={"customer_id": n},
            features={"spend_90d": 1.5 * n, "visits_30d": n % 7, "tenure_days": 400 + n},
            latency_ms=2.5,
        )
        for n in range(size)
    ]


def _plain(store: MetadataStore, batch: list[DecisionRecord]) -> None:
    """The batch as the log wrote it before the audit log: one transaction, no record."""
    with store.transaction() as session:
        session.add_all([SqlDecision(**d.__dict__) for d in batch])


def run(url: str, batches: int, size: int) -> dict[str, float]:
    store = MetadataStore(url)
    try:
        timings: dict[str, float] = {}
        for label, write in (("plain", _plain), ("chained", lambda s, b: s.decisions.append(b))):
            work = [_batch(size) for _ in range(batches)]
            started = time.perf_counter()
            for batch in work:
                write(store, batch)
            timings[f"{label}_ms_per_batch"] = round((time.perf_counter() - started) * 1000 / batches, 2)
        timings["chained_over_plain"] = round(
            timings["chained_ms_per_batch"] / timings["plain_ms_per_batch"], 3
        )
        started = time.perf_counter()
        report = verify(store, store.audit_head.path)
        seconds = time.perf_counter() - started
        if not report.ok:
            raise SystemExit(report.summary())
        timings["verify_s"] = round(seconds, 2)
        timings["verify_decisions_per_s"] = round(report.decisions / seconds)
        return timings
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--pg", help="an admin URL of a PostgreSQL server (a throwaway database is made)")
    args = parser.parse_args()
    results: dict[str, object] = {"batches": args.batches, "batch_size": args.batch_size}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = run(f"sqlite:///{Path(folder) / 'metadata.db'}", args.batches, args.batch_size)
        print("sqlite", results["sqlite"], flush=True)
        if args.pg:
            name = f"zt_bench_audit_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(
                sa.make_url(args.pg).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
            )
            with admin.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
            try:
                url = sa.make_url(args.pg).set(database=name).render_as_string(hide_password=False)
                results["postgresql"] = run(url, args.batches, args.batch_size)
                print("postgresql", results["postgresql"], flush=True)
            finally:
                with admin.connect() as conn:
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                admin.dispose()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
