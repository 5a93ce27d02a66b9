"""Unit tests of bench/oneid_eval.py: the pairwise and cluster metrics every OneID engine is scored with."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "oneid_eval.py"
    spec = importlib.util.spec_from_file_location("oneid_eval", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("oneid_eval", module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


ev = _load()

TRUTH = {("a", "b"), ("c", "d")}


def test_perfect_pairs_score_one_whatever_the_order() -> None:
    score = ev.score_pairs([("b", "a"), ("c", "d"), ("d", "c")], TRUTH)
    assert (score.true_positives, score.predicted, score.actual) == (2, 2, 2)
    assert (score.precision, score.recall, score.f1) == (1.0, 1.0, 1.0)


def test_half_wrong_pairs() -> None:
    score = ev.score_pairs([("a", "b"), ("a", "c")], TRUTH)
    assert (score.true_positives, score.predicted, score.actual) == (1, 2, 2)
    assert score.precision == 0.5
    assert score.recall == 0.5
    assert score.f1 == 0.5


def test_precision_and_recall_differ() -> None:
    score = ev.score_pairs([("a", "b")], {("a", "b"), ("c", "d"), ("e", "f"), ("g", "h")})
    assert score.precision == 1.0
    assert score.recall == 0.25
    assert score.f1 == pytest.approx(0.4)


def test_nothing_predicted_scores_zero_not_an_error() -> None:
    score = ev.score_pairs([], TRUTH)
    assert (score.precision, score.recall, score.f1) == (0.0, 0.0, 0.0)


def test_self_pair_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot pair with itself: 'a'"):
        ev.score_pairs([("a", "a")], TRUTH)


def test_connected_components_close_transitively() -> None:
    clusters = ev.connected_components([("c", "b"), ("b", "a"), ("x", "y")], records=["z"])
    assert clusters == {"a": "a", "b": "a", "c": "a", "x": "x", "y": "x", "z": "z"}


def test_transitive_closure_adds_the_implied_pair() -> None:
    truth = {"a": 1, "b": 1, "c": 1}  # three true pairs: ab, ac, bc
    assert ev.score_pairs(
        [("a", "b"), ("b", "c")], ev.pair_set([("a", "b"), ("a", "c"), ("b", "c")])
    ).recall == (pytest.approx(2 / 3))
    closed = ev.score_predicted_clusters([("a", "b"), ("b", "c")], truth)
    assert (closed.true_positives, closed.predicted, closed.actual) == (3, 3, 3)
    assert closed.f1 == 1.0


def test_over_merged_cluster_costs_precision() -> None:
    truth = {"a": 1, "b": 1, "c": 2, "d": 2}
    score = ev.score_clusters({"a": 0, "b": 0, "c": 0, "d": 0}, truth)  # one cluster of four: six pairs
    assert (score.true_positives, score.predicted, score.actual) == (2, 6, 2)
    assert score.precision == pytest.approx(1 / 3)
    assert score.recall == 1.0
    assert score.f1 == 0.5


def test_a_bridging_false_pair_merges_two_clusters() -> None:
    truth = {"a": 1, "b": 1, "c": 2, "d": 2}
    score = ev.score_predicted_clusters([("a", "b"), ("c", "d"), ("b", "c")], truth)
    assert (score.true_positives, score.predicted) == (2, 6)


def test_records_missing_from_the_prediction_are_singletons() -> None:
    truth = {"a": 1, "b": 1, "c": 1}
    score = ev.score_clusters({"a": "x", "b": "x"}, truth)
    assert (score.true_positives, score.predicted, score.actual) == (1, 1, 3)


def test_cluster_labels_need_not_agree_with_the_truths() -> None:
    assert ev.score_clusters({"a": "p", "b": "p", "c": "q"}, {"a": 9, "b": 9, "c": 8}).f1 == 1.0


def test_febrl_entity() -> None:
    assert ev.febrl_entity("rec-12-dup-0") == "rec-12"
    assert ev.febrl_entity(" rec-12-org") == "rec-12"
    with pytest.raises(ValueError, match="not a FEBRL record id: 'person-1'"):
        ev.febrl_entity("person-1")


def test_febrl_truth_pairs_dedupe_and_link() -> None:
    ids = ["rec-1-org", "rec-1-dup-0", "rec-1-dup-1", "rec-2-org"]
    assert ev.febrl_truth_pairs(ids) == {
        ("rec-1-dup-0", "rec-1-org"),
        ("rec-1-dup-1", "rec-1-org"),
        ("rec-1-dup-0", "rec-1-dup-1"),
    }
    linked = ev.febrl_truth_pairs(["rec-1-org", "rec-2-org"], ["rec-2-dup-0", "rec-3-dup-0"])
    assert linked == {("rec-2-dup-0", "rec-2-org")}


def test_truth_pairs_round_trip_through_parquet(tmp_path: Path) -> None:
    path = tmp_path / "truth.parquet"
    assert ev.write_truth_pairs(path, [("b", "a"), ("a", "b"), ("c", "d")]) == 2
    assert ev.read_truth_pairs(path) == {("a", "b"), ("c", "d")}


def test_data_dir_keeps_itself_out_of_git(tmp_path: Path) -> None:
    folder = ev.data_dir(tmp_path / ".data")
    assert (folder / ".gitignore").read_text() == "*\n"


def test_table_has_a_row_per_level() -> None:
    pairs = ev.score_pairs([("a", "b")], TRUTH).as_dict()
    result = {
        "peer": "p",
        "dataset": "d",
        "seconds": 1.0,
        "peak_rss_mib": 10.0,
        "pairs": pairs,
        "clusters": pairs,
    }
    table = ev.format_table([result]).splitlines()
    assert len(table) == 4
    assert table[2] == "| p | d | pairs | 1.0000 | 0.5000 | 0.6667 | 1 | 1.0 | 10 |"


def test_pairs_merged_counts_entity_pairs_sharing_a_cluster_through_any_record() -> None:
    truth = {"r1": "jiang", "r2": "jiang", "r3": "jiang2", "r4": "wei", "r5": "wei2"}
    predicted = {"r1": "P1", "r2": "P2", "r3": "P2", "r4": "P3", "r5": "P4"}
    assert ev.pairs_merged(predicted, truth, [("jiang", "jiang2"), ("wei", "wei2")]) == 1
    assert ev.pairs_merged({}, truth, [("jiang", "jiang2")]) == 0
