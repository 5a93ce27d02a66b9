"""Drift detection against Evidently's drift preset and NannyML on the same data, in one run.

    python bench/drift.py [--rows 200000] [--big-rows 2000000] [--big-columns 100] [--skip-peers] [--check]

The data (seeded): a reference and a current window of `--rows` rows each, 20 columns. Seven columns of the
current window are shifted by known amounts, four of them small:

| column | shift |
| --- | --- |
| num_mean_small | mean +0.15 standard deviations (small) |
| num_mean_large | mean +0.5 standard deviations |
| num_scale | standard deviation ×1.25 |
| num_tail | 4% of values moved to a far right tail, +4 sd (small; the mean moves 0.16 sd) |
| cat_share | shares 50/30/20 → 44/33/23 (small) |
| num_missing | missing rate 2% → 6% (small; the present values do not move) |
| disc_count | Poisson(3) → Poisson(3.3) |

The other 13 must not be flagged: ten are fresh samples of the reference's distribution, three are moved
trivially (mean +0.02 sd, sd ×1.01, a category share +1 point) — shifts that no one would act on but that a
significance test alone calls real at this n (the point of judging by effect size).

Zhongtai builds the reference profile (monitor/profile.py) and compares the current window with it
(monitor/drift.py), timed together, median of three runs. Each peer runs in its own environment under
bench/drift_peers/ (made by its setup script; never a project dependency) on the same Parquet files, timing
its drift computation alone. Then Zhongtai alone on `--big-rows` × `--big-columns` (float32 data; 10% of
columns shifted) for the time. A table, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prerequisites import BENCH, CHECK_HELP, check_only, peer_environment

DATA = BENCH / ".data" / "drift"
PEERS = ("evidently", "nannyml")
SHIFTED = (
    "num_mean_small",
    "num_mean_large",
    "num_scale",
    "num_tail",
    "cat_share",
    "num_missing",
    "disc_count",
)
TRIVIAL = ("num_trivial_mean", "num_trivial_scale", "cat_trivial")
CATEGORIES = np.array(["red", "green", "blue"])


def _windows(rows: int, seed: int = 2026) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The reference and current columns (see the module docstring)."""
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal

    def shares(p: list[float]) -> np.ndarray:
        return rng.choice(CATEGORIES, rows, p=p)

    def missing(rate: float) -> np.ndarray:
        values = normal(rows)
        values[rng.random(rows) < rate] = np.nan
        return values

    moved = normal(rows)
    out = rng.random(rows) < 0.04
    moved[out] = rng.normal(4.0, 0.5, int(out.sum()))
    reference = {
        "num_mean_small": normal(rows), "num_mean_large": normal(rows), "num_scale": normal(rows),
        "num_tail": normal(rows), "cat_share": shares([0.5, 0.3, 0.2]), "num_missing": missing(0.02),
        "disc_count": rng.poisson(3.0, rows).astype(np.float64),
        "num_trivial_mean": normal(rows), "num_trivial_scale": normal(rows), "cat_trivial": shares([0.5, 0.3, 0.2]),
    }  # fmt: skip
    current = {
        "num_mean_small": normal(rows) + 0.15, "num_mean_large": normal(rows) + 0.5,
        "num_scale": normal(rows) * 1.25, "num_tail": moved, "cat_share": shares([0.44, 0.33, 0.23]),
        "num_missing": missing(0.06), "disc_count": rng.poisson(3.3, rows).astype(np.float64),
        "num_trivial_mean": normal(rows) + 0.02, "num_trivial_scale": normal(rows) * 1.01,
        "cat_trivial": shares([0.49, 0.31, 0.2]),
    }  # fmt: skip
    for i in range(7):  # fresh samples of one distribution on both sides, of several shapes
        scale = 10.0 ** (i - 3)
        reference[f"same_gamma_{i}"], current[f"same_gamma_{i}"] = (
            rng.gamma(1 + i, scale, rows) for _ in "ab"
        )
    for i in range(3):
        reference[f"same_normal_{i}"], current[f"same_normal_{i}"] = (normal(rows) for _ in "ab")
    return reference, current


def _zhongtai(reference: dict[str, Any], current: dict[str, Any], runs: int = 3) -> tuple[float, list[str]]:
    from zhongtai.monitor.drift import compare
    from zhongtai.monitor.profile import build_profile

    times, flagged = [], []
    for _ in range(runs):
        started = time.perf_counter()
        results = compare(build_profile(reference), current)
        times.append(time.perf_counter() - started)
        flagged = [r.name for r in results if r.drifted]
    return float(np.median(times)), flagged


def _write_parquet(reference: dict[str, Any], current: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    DATA.mkdir(parents=True, exist_ok=True)
    for name, columns in (("reference", reference), ("current", current)):
        pq.write_table(pa.table(columns), DATA / f"{name}.parquet")
    kinds = {
        "numeric": [c for c, v in reference.items() if v.dtype.kind == "f"],
        "categorical": [c for c, v in reference.items() if v.dtype.kind != "f"],
    }
    (DATA / "columns.json").write_text(json.dumps(kinds))


def _peer(tool: str, python: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), str(BENCH / "drift_peers" / "run_peer.py"), tool, str(DATA)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{tool} failed: {done.stderr.strip().splitlines()[-1:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _big(rows: int, columns: int, seed: int = 7) -> tuple[float, int, int]:
    """Zhongtai alone on rows × columns (float32), every tenth column's mean moved 0.2 sd: seconds, hits,
    false flags."""
    rng = np.random.default_rng(seed)
    reference = {f"c{i}": rng.standard_normal(rows, dtype=np.float32) for i in range(columns)}
    current = {}
    for i in range(columns):
        values = rng.standard_normal(rows, dtype=np.float32)
        current[f"c{i}"] = values + np.float32(0.2) if i % 10 == 0 else values
    seconds, flagged = _zhongtai(reference, current, runs=1)
    shifted = {f"c{i}" for i in range(0, columns, 10)}
    return seconds, len(shifted & set(flagged)), len(set(flagged) - shifted)


def _score(flagged: list[str]) -> tuple[int, int]:
    return len(set(flagged) & set(SHIFTED)), len(set(flagged) - set(SHIFTED))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="Rows in each window (reference, current).")
    parser.add_argument("--big-rows", type=int, default=2_000_000, help="Rows of the timing-only run.")
    parser.add_argument("--big-columns", type=int, default=100, help="Columns of the timing-only run.")
    parser.add_argument("--skip-peers", action="store_true", help="Zhongtai only (no peer environments).")
    parser.add_argument("--check", action="store_true", help=CHECK_HELP)
    args = parser.parse_args()
    pythons = (
        {}
        if args.skip_peers
        else {p: peer_environment(BENCH / "drift_peers" / f"setup_{p}.sh") for p in PEERS}
    )
    check_only(args.check, "drift")

    reference, current = _windows(args.rows)
    print(f"data: {args.rows:,} rows × {len(reference)} columns a window, {len(SHIFTED)} shifted", flush=True)
    found: dict[str, dict[str, Any]] = {}
    seconds, flagged = _zhongtai(reference, current)
    found["zt"] = {"tool": "zhongtai", "seconds": seconds, "flagged": flagged, "config": ["defaults"]}
    if pythons:
        _write_parquet(reference, current)
    for tool, python in pythons.items():
        print(f"{tool}: running in {python.parent.parent.name}", flush=True)
        found[tool] = _peer(tool, python)
    del reference, current
    print(f"zhongtai: {args.big_rows:,} × {args.big_columns}", flush=True)
    big_s, big_hits, big_false = _big(args.big_rows, args.big_columns)
    _report(found, args, big_s, big_hits, big_false)


def _report(
    found: dict[str, dict[str, Any]], args: argparse.Namespace, big_s: float, hits: int, false: int
) -> None:
    print(f"\n| tool | seconds | hits (of {len(SHIFTED)}) | false flags (of 13) | missed | falsely flagged |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    summary: dict[str, Any] = {"rows": args.rows, "columns": 20, "shifted": len(SHIFTED)}
    for key, result in found.items():
        got, wrong = _score(result["flagged"])
        missed = sorted(set(SHIFTED) - set(result["flagged"]))
        extra = sorted(set(result["flagged"]) - set(SHIFTED))
        print(
            f"| {result['tool']} {result.get('version', '')} | {result['seconds']:.2f} | {got} | {wrong} | "
            f"{', '.join(missed) or '-'} | {', '.join(extra) or '-'} |"
        )
        summary |= {f"{key}_s": round(result["seconds"], 3), f"{key}_hits": got, f"{key}_false": wrong}
    print(
        f"| zhongtai {args.big_rows:,} × {args.big_columns} | {big_s:.2f} | {hits} of {args.big_columns // 10} | {false} | | |"
    )
    for result in found.values():
        if result.get("alerting_chunks"):
            chunks = ", ".join(f"{c} {k}/10" for c, k in sorted(result["alerting_chunks"].items()))
            print(f"\n{result['tool']}: current chunks alerting per column: {chunks}")
    summary |= {"zt_2m_s": round(big_s, 3), "zt_2m_hits": hits, "zt_2m_false": false}
    summary |= {"big_rows": args.big_rows, "big_columns": args.big_columns}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
