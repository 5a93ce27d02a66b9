"""Proof by attack: the gateway and the demo flow under Schemathesis, the authorization matrix, a PII scan,
and what policy, masking and audit cost a decide.

    python bench/security.py [--customers 300] [--max-examples 12] [--seconds 5] [--slices 8] [--keep]

In a throwaway folder (ZT_HOME inside it; --keep leaves it for reading):

1. `zhongtai demo` runs until it serves; its printed curls are sent as printed, then hostile requests that
   carry the generated customers' phones, e-mails, ID numbers and names where they do not belong, and two
   ingests of a CRM row with PII in its failing fields (a type error, a format warning).
2. Policy cost: the demo's home served by bench/security_serve.py twice at once, governed (as `zhongtai
   serve` builds it) and bare (policy dependency, PII scrubbing and audit records taken out by the bench, in
   that process only), loaded in turn: --slices slices of --seconds of closed-loop decides at 8 concurrent
   requests on each (the demo's customers in turn, the demo's app key), the order swapped every slice.
   decide_rps_policy_on/off: the best slice of each (load from elsewhere only ever lowers a slice). ratio:
   governed / bare decides per CPU-second of the gateway's process (its writer thread included), the
   throughput each would have on a core of its own; on a machine other jobs share, wall-clock slices swing
   by half from one to the next, CPU per decide far less. The wall ratios are printed beside it.
3. Schemathesis, all checks, --max-examples per operation, as an admin, against the demo gateway: cases
   generated, server errors (5xx) and every other failure (a broken promise of the OpenAPI document).
4. The authorization matrix of bench/security_matrix.py (the table tests/gateway/test_authz.py asserts):
   every route × role, an admin token, no credentials, an expired token, a wrong audience, a revoked key.
5. The demo is stopped (its decision log flushed), then the PII scan (bench/security_pii.py) reads every log
   of the run, the metadata store's text and the home's own files for those values and for the API keys.
   A name a caller put in a decision's inputs or a feedback comment is counted apart
   (pii_names_in_kept_inputs): the recognizers that scrub those find phones, e-mails, ID and card numbers,
   not names, so it is kept as sent; every other finding is a leak (pii_findings).

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH / "decide_peers"), str(REPO)]

import httpx  # noqa: E402
import security_matrix  # noqa: E402
import security_pii  # noqa: E402
from load import RawPost, closed_loop  # noqa: E402
from security_demo import (  # noqa: E402
    Demo,
    Processes,
    create_admin_key,
    free_port,
    hostile_requests,
    ingest_errors,
    run_curls,
    say,
    start_demo,
)

CONCURRENCY = 8
SETTLE_SECONDS = 1.0
SERVER_ERROR = "ServerError"


def policy_cost(processes: Processes, demo: Demo, ids: list[int], seconds: float, slices: int) -> dict:
    """Decides through the governed and the bare gateway, both serving the demo's home at once and loaded in
    turn, `slices` slices of `seconds` each, the order swapped every slice. Per gateway: the best slice's
    decides per second of wall time, and decides per CPU-second of its process over all slices (each slice
    counted until its decision log has written the slice's decisions)."""
    bodies = [json.dumps({"customer_id": i}).encode() for i in ids]
    urls, pids = {}, {}
    for mode in ("governed", "bare"):
        port = free_port()
        argv = [sys.executable, str(BENCH / "security_serve.py"), "--port", str(port), "--mode", mode]
        pids[mode] = processes.start(f"serve-{mode}", argv).pid
        processes.wait_healthy(f"serve-{mode}", f"http://127.0.0.1:{port}", timeout=600)
        urls[mode] = f"http://127.0.0.1:{port}/v1/capabilities/churn-risk/decide"
        first = httpx.post(urls[mode], content=bodies[0], headers={"Authorization": f"Bearer {demo.key}"})
        if first.status_code != 200:
            raise SystemExit(f"the {mode} gateway answered {first.status_code}: {first.text[:300]}")
        _load(urls[mode], demo.key, bodies, 3)  # warm-up
    rps: dict[str, list[float]] = {"governed": [], "bare": []}
    done = {"governed": 0, "bare": 0}
    cpu = {"governed": 0.0, "bare": 0.0}
    errors = 0
    for number in range(slices):
        for mode in ("governed", "bare") if number % 2 == 0 else ("bare", "governed"):
            before = _cpu_seconds(pids[mode])
            result = _load(urls[mode], demo.key, bodies, seconds)
            time.sleep(SETTLE_SECONDS)  # the decision log writes the slice's decisions (batches, 0.2 s)
            cpu[mode] += _cpu_seconds(pids[mode]) - before
            done[mode] += result.requests - result.errors
            rps[mode].append(result.rps)
            errors += result.errors
        say(
            f"  slice {number + 1}: governed {rps['governed'][-1]:,.0f}, bare {rps['bare'][-1]:,.0f} decides/s"
        )
    for mode in urls:
        processes.stop(f"serve-{mode}")
    per_cpu = {mode: done[mode] / cpu[mode] if cpu[mode] else 0.0 for mode in cpu}
    on, off = max(rps["governed"]), max(rps["bare"])
    return {
        "decide_rps_policy_on": round(on, 1),
        "decide_rps_policy_off": round(off, 1),
        "decides_per_cpu_second_policy_on": round(per_cpu["governed"], 1),
        "decides_per_cpu_second_policy_off": round(per_cpu["bare"], 1),
        "ratio": round(per_cpu["governed"] / per_cpu["bare"], 3) if per_cpu["bare"] else None,
        "ratio_wall_best": round(on / off, 3) if off else None,
        "ratio_wall_median": round(statistics.median(rps["governed"]) / statistics.median(rps["bare"]), 3),
        "decide_slices": slices,
        "decide_errors": errors,
    }


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load(url: str, key: str, bodies: list[bytes], seconds: float) -> Any:
    async def run() -> Any:
        client = RawPost(url, {"Authorization": f"Bearer {key}"}, max_connections=CONCURRENCY)

        async def send(number: int) -> bool:
            status, _ = await client.post(bodies[number % len(bodies)])
            return status == 200

        try:
            return await closed_loop(send, CONCURRENCY, seconds)
        finally:
            client.close()

    return asyncio.run(run())


# A grants document is YAML text in a JSON string: every string is schema-valid and almost none is a policy,
# so for these two operations an invalid document's 422 is the promise, not a rejected valid request.
SCHEMATHESIS_CONFIG = """\
[[operations]]
include-path-regex = "^/v1/policies/"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]
"""


def schemathesis(folder: Path, demo: Demo, admin: str, max_examples: int) -> dict:
    """Schemathesis with all checks against the demo gateway as an admin; its JSON report counted."""
    reports = folder / "schemathesis"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{demo.url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(max_examples),
        "--seed",
        "20261206",
        "--header",
        f"Authorization: Bearer {admin}",
        "--request-timeout",
        "30",
        "--no-color",
        "--suppress-health-check",
        "too_slow",
        "--report",
        "json",
        "--report-dir",
        str(reports),
    ]
    # Its working directory is the run's folder: Schemathesis keeps a cache of findings there (and reads its
    # configuration).
    (folder / "schemathesis.toml").write_text(SCHEMATHESIS_CONFIG)
    with (folder / "schemathesis.out").open("w") as out:
        run = subprocess_run(command, folder, out)
    found = sorted(glob.glob(str(reports / "json-*.json")))
    if not found:
        raise SystemExit(f"schemathesis wrote no report (exit {run}): see {folder / 'schemathesis.out'}")
    report = json.loads(Path(found[-1]).read_text())
    failures = report.get("failures", [])
    server = sum(f["count"] for f in failures if f["type"] == SERVER_ERROR)
    return {
        "schemathesis_cases": report["test_cases"]["generated"],
        "schemathesis_operations": report["operations"]["tested"],
        "server_errors": server,
        "schema_violations": sum(f["count"] for f in failures) - server,
        "schemathesis_failures": [
            f"{f['code']} {f['title']}: {', '.join(f['operations'])}" for f in failures
        ],
        "schemathesis_errors": len(report.get("errors", [])),
    }


def subprocess_run(command: list[str], cwd: Path, out: Any) -> int:
    """Run a command to its end with its output to `out`; its exit status."""
    return subprocess.run(
        command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=1500, check=False
    ).returncode


def authz(folder: Path) -> dict:
    """The matrix over a fresh home, with tokens of a JWKS served on 127.0.0.1."""
    from tests.govern.jwks import AUDIENCE, ISSUER, Jwks, SigningKey, served_jwks

    signing = SigningKey("rsa-bench")
    home = folder / "authz"
    with (
        served_jwks(Jwks(signing)) as jwks,
        security_matrix.served(home, signing, jwks, ISSUER, AUDIENCE) as s,
    ):
        problems = security_matrix.undeclared(s.client.app)
        found = security_matrix.run(s.client, s.credentials)
    return {
        "authz_cells": found.cells,
        "authz_routes": found.routes,
        "authz_failures": len(found.failures) + len(problems),
        "authz_failure_cells": problems + found.failures,
    }


def customer_ids(demo: Demo) -> list[int]:
    import sqlite3

    crm = demo.home / "demo" / "retail" / "systems" / "crm.db"
    with sqlite3.connect(crm) as connection:
        return [
            row[0] for row in connection.execute("SELECT customer_id FROM customers ORDER BY customer_id")
        ]


def needles_of(demo: Demo) -> security_pii.Needles:
    from zhongtai.config import Settings
    from zhongtai.meta.store import MetadataStore

    store = MetadataStore(Settings.from_env({"ZT_HOME": str(demo.home)}).metadata_url)
    try:
        needles = security_pii.source_values(store)
    finally:
        store.close()
    needles.secrets.update(demo.secrets)
    return needles


def scanned_logs(folder: Path) -> list[Path]:
    """Every log of the run but the two places a key is printed on purpose, once: the demo's curls (its
    stdout) and the last line of `zhongtai keys create`."""
    skip = {"demo.out", "keys-create.out"}
    return [p for p in sorted(folder.glob("*.out")) + sorted(folder.glob("*.err")) if p.name not in skip]


def table(result: dict[str, Any]) -> None:
    rows = [
        ("demo (customers / seconds)", f"{result['customers']} / {result['demo_seconds']}"),
        ("printed curls answered 200", f"{result['curls_ok']} of {result['curls']}"),
        ("hostile requests (5xx)", f"{result['hostile_requests']} ({result['hostile_server_errors']})"),
        (
            "schemathesis cases / operations",
            f"{result['schemathesis_cases']} / {result['schemathesis_operations']}",
        ),
        ("  server errors (5xx)", result["server_errors"]),
        ("  schema violations", result["schema_violations"]),
        ("authz cells / routes", f"{result['authz_cells']} / {result['authz_routes']}"),
        ("  authz failures", result["authz_failures"]),
        ("pii findings", result["pii_findings"]),
        ("  names callers put in kept inputs", result["pii_names_in_kept_inputs"]),
        ("decides/s governed (best slice)", result["decide_rps_policy_on"]),
        ("decides/s bare (best slice)", result["decide_rps_policy_off"]),
        ("  wall ratio best / median", f"{result['ratio_wall_best']} / {result['ratio_wall_median']}"),
        ("decides per CPU-second governed", result["decides_per_cpu_second_policy_on"]),
        ("decides per CPU-second bare", result["decides_per_cpu_second_policy_off"]),
        ("ratio (CPU; target >= 0.90)", result["ratio"]),
        ("seconds", result["seconds"]),
    ]
    for label, value in rows:
        print(f"{label:34} {value}")
    for line in (
        result["schemathesis_failures"] + result["authz_failure_cells"][:20] + result["pii_where"][:50]
    ):
        print(f"  ! {line}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=300, help="Size of the demo (at least 300).")
    parser.add_argument(
        "--max-examples", type=int, default=12, help="Schemathesis cases per operation and phase."
    )
    parser.add_argument("--seconds", type=float, default=5, help="Seconds of load per throughput slice.")
    parser.add_argument("--slices", type=int, default=8, help="Slices of load on each gateway.")
    parser.add_argument("--keep", action="store_true", help="Keep the run's folder (its path is printed).")
    args = parser.parse_args()
    began = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="zt-security-"))
    # Only ZT_HOME: a caller's ZT_METADATA_URL or ZT_ONLINE_URL must not receive the bench's demo.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZT_")} | {"ZT_HOME": str(folder / "home")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p)
    processes = Processes(folder, env)
    result: dict[str, Any] = {"customers": args.customers, "load_average_at_start": list(os.getloadavg())}
    try:
        say(f"zhongtai demo --customers {args.customers} in {folder}")
        demo = start_demo(processes, args.customers)
        result["demo_seconds"] = round(demo.seconds, 1)
        statuses = run_curls(demo)
        result.update(curls=len(statuses), curls_ok=statuses.count(200))
        admin = create_admin_key(processes, demo)
        needles = needles_of(demo)
        hostile = hostile_requests(demo, admin, needles)
        result.update(
            hostile_requests=len(hostile),
            hostile_server_errors=sum(s >= 500 for s in hostile.values()),
            hostile_statuses=hostile,
            ingest_exit_statuses=ingest_errors(processes, demo, needles),
        )
        say("policy cost: governed and bare gateways in turn")
        result.update(policy_cost(processes, demo, customer_ids(demo), args.seconds, args.slices))
        say(f"schemathesis, all checks, {args.max_examples} examples per operation")
        result.update(schemathesis(folder, demo, admin, args.max_examples))
        say("authorization matrix")
        result.update(authz(folder))
        processes.stop("demo")
        say("pii scan")
        findings = security_pii.scan_home(demo.home, needles, scanned_logs(folder))
        leaks = [f for f in findings if not f.free_text_name]
        kept = [f for f in findings if f.free_text_name]
        result["pii_findings"] = len(leaks)
        result["pii_where"] = [f"{f.where}: {f.kind}" for f in leaks]
        # Not a leak of the platform's making, and not one it can stop yet: names callers put in inputs.
        result["pii_names_in_kept_inputs"] = len(kept)
        result["pii_names_in_kept_inputs_where"] = [f.where for f in kept]
        result["pii_values_looked_for"] = len(needles.values) + len(needles.names)
    finally:
        processes.stop_all()
        if args.keep:
            say(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - began, 1)
    table(result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
