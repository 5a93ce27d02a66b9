"""Drift statistics on data with known shifts: what moved is found, what did not (or barely) is not."""

from __future__ import annotations

import numpy as np
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.monitor.drift import Thresholds, chi2_quantile, compare
from zhongtai.monitor.profile import MIN_CATEGORY_ROWS, Profile, build_profile

pytestmark = pytest.mark.unit


def _verdicts(results) -> dict[str, str]:
    return {r.name: r.verdict for r in results}


def test_known_shifts_are_found_and_unshifted_columns_are_not():
    rng = np.random.default_rng(3)
    n = 200_000
    reference = {f"same_{i}": rng.normal(size=n) for i in range(6)}
    reference |= {
        "mean": rng.normal(size=n),
        "scale": rng.normal(size=n),
        "share": rng.choice(np.array(["a", "b"]), n),
        "missing": rng.normal(size=n),
        "flag": (rng.random(n) < 0.3).astype(float),
    }
    live = {f"same_{i}": rng.normal(size=n) for i in range(6)}
    gone = rng.random(n) < 0.03
    live |= {
        "mean": rng.normal(0.15, 1, n),  # small: 0.15 standard deviations
        "scale": rng.normal(0, 1.25, n),
        "share": rng.choice(np.array(["a", "b"]), n, p=[0.57, 0.43]),
        "missing": np.where(gone, np.nan, rng.normal(size=n)),
        "flag": (rng.random(n) < 0.36).astype(float),
    }
    verdicts = _verdicts(compare(build_profile(reference), live))
    assert {k for k, v in verdicts.items() if v != "ok"} == {"mean", "scale", "share", "missing", "flag"}


def test_a_trivial_shift_at_a_large_n_is_not_flagged_though_it_is_significant():
    rng = np.random.default_rng(5)
    profile = build_profile({"x": rng.normal(size=400_000)})
    [result] = compare(profile, {"x": rng.normal(0.03, 1, 1_000_000)})
    # KS alone would call it (the two-sample bound at this n is about 0.004), the effect is far from practical
    assert result.ks is not None and result.ks > 0.008
    assert result.effect < 0.002 and result.verdict == "ok"


def test_noise_at_a_small_n_is_not_flagged_but_a_large_shift_is():
    rng = np.random.default_rng(8)
    profile = build_profile({"x": rng.normal(size=50_000)})
    for seed in range(20):
        sample = np.random.default_rng(100 + seed).normal(size=300)
        assert compare(profile, {"x": sample})[0].verdict == "ok"
    [moved] = compare(profile, {"x": rng.normal(1.0, 1, 300)})
    assert moved.verdict == "major"


def test_the_least_detectable_effect_shrinks_with_the_window():
    rng = np.random.default_rng(2)
    profile = build_profile({"x": rng.normal(size=100_000)})
    small, large = (compare(profile, {"x": rng.normal(size=n)})[0] for n in (200, 50_000))
    assert small.detectable is not None and large.detectable is not None
    assert small.detectable > 0.1 > 0.01 == large.detectable


def test_values_the_reference_never_saw_count_as_other():
    rng = np.random.default_rng(4)
    profile = build_profile(
        {"code": rng.integers(0, 3, 10_000).astype(float), "city": rng.choice(np.array(["x", "y"]), 10_000)}
    )
    assert profile.columns["code"].kind == "discrete" and profile.columns["city"].kind == "categorical"
    live = {"code": np.full(5_000, 7.0), "city": np.array(["z"] * 5_000, dtype=object)}
    results = {r.name: r for r in compare(profile, live)}
    assert results["code"].verdict == results["city"].verdict == "major"
    assert results["code"].js == pytest.approx(1.0) and results["city"].js == pytest.approx(1.0)


def test_the_score_is_compared_when_both_sides_have_one():
    rng = np.random.default_rng(6)
    profile = build_profile({"x": rng.normal(size=5_000)}, scores=rng.beta(2, 5, 5_000))
    results = compare(profile, {"x": rng.normal(size=5_000)}, scores=rng.beta(5, 2, 5_000))
    assert _verdicts(results) == {"x": "ok", "score": "major"}


def test_multiclass_scores_are_profiled_by_the_top_class_probability():
    probabilities = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]] * 100)
    profile = build_profile({}, scores=probabilities)
    assert profile.score is not None and profile.score.rows == 300 and profile.score.kind == "numeric"


def test_rare_category_values_never_reach_the_profile():
    values = np.array(["common"] * 5_000 + [f"1391234{i:04d}" for i in range(MIN_CATEGORY_ROWS * 20)])
    column = build_profile({"contact": values}).columns["contact"]
    assert column.values == ["common"] and column.other == MIN_CATEGORY_ROWS * 20


def test_a_profile_survives_its_json():
    rng = np.random.default_rng(1)
    profile = build_profile(
        {"x": rng.normal(size=1_000), "c": rng.choice(np.array(["a", "b"]), 1_000)}, scores=rng.random(1_000)
    )
    assert Profile.from_json(profile.to_json(), "here") == profile


def test_a_file_that_is_not_a_profile_is_a_clear_error():
    with pytest.raises(ZhongtaiError, match=r"lake/x/profile.json is not a reference profile \(ValueError\)"):
        Profile.from_json(b'{"format": "other"}', "lake/x/profile.json")


def test_chi2_quantiles_match_the_tables():
    for probability, df, table in [
        (0.95, 1, 3.841),
        (0.99, 2, 9.210),
        (0.99, 9, 21.666),
        (0.999, 19, 43.820),
    ]:
        assert chi2_quantile(probability, df) == pytest.approx(table, rel=0.01)


def test_thresholds_out_of_range_are_refused():
    with pytest.raises(
        ZhongtaiError, match=r"min effect 0.5 must be above 0 and at most the major effect 0.25"
    ):
        Thresholds(min_effect=0.5)
    with pytest.raises(ZhongtaiError, match=r"alpha 2.0 must be between 0 and 1"):
        Thresholds(alpha=2.0)


def test_logged_values_of_mixed_types_are_counted_with_their_missing():
    reference = ["a"] * 600 + ["b"] * 400
    profile = build_profile({"channel": reference, "visits": [1, 2, 3] * 300 + [None] * 100})
    assert profile.columns["channel"].kind == "categorical" and profile.columns["visits"].kind == "discrete"
    live = {"channel": ["a"] * 300 + [None] * 300 + [float("nan")] * 400, "visits": ["oops", 2.0, None] * 300}
    results = {r.name: r for r in compare(profile, live)}
    assert results["channel"].missing_rate == pytest.approx(0.7) and results["channel"].verdict == "major"
    # text where numbers were profiled is a value the model could not use: not a crash, counted as missing
    assert results["visits"].missing_rate == pytest.approx(2 / 3) and results["visits"].verdict == "major"
