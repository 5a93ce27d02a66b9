"""Drift of live columns against a reference profile: PSI, Jensen-Shannon distance and KS, judged by effect
size with a sample-size-aware threshold.

The rule (derived in docs/monitoring.md). Both sides are counted into the profile's B bins (value bins, then
`other`, then missing), with half a row added to every bin of each side (so an empty bin has a finite log):
p from the m reference rows, q from the n live rows.

- PSI = Σ (q−p)·ln(q/p), the symmetric Kullback-Leibler divergence. To second order it equals Pearson's
  χ² divergence, so when nothing moved, PSI / (1/n + 1/m) is χ² with B−1 degrees of freedom: sampling noise
  alone gives PSI ≈ (B−1)·(1/n + 1/m) on average.
- effect = PSI − (B−1)·(1/n + 1/m), not below 0: the shift once the noise expected at this n and m is taken
  off. This is what is compared with `min_effect` (0.01 by default: a mean shift of 0.1 standard deviations
  of a normal column, or a 50/50 split moving to 55/45).
- distinguishable: PSI above the χ²_{B−1} quantile at 1−α'·(1/n + 1/m), or (numeric columns) the KS
  distance of the binned distributions above the two-sample Kolmogorov bound c(α')·√(1/n + 1/m); α' is the
  family's α split over the columns and the two tests (Bonferroni), so a report of many columns holds α.
- verdict: `drift` when the effect reaches `min_effect` and the shift is distinguishable; `major` when the
  effect also reaches `major_effect` (0.25, the classic PSI line); `ok` otherwise; `no data` for n = 0.

A huge window cannot flag a trivial shift (the effect stays under `min_effect`), and a small one cannot
flag noise (it is not distinguishable). `detectable` reports the least effect a window of this n could flag.
Everything is vectorised (one comparison per bin edge and one `bincount` per column), columns side by side on
a thread per core.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.monitor.profile import (
    SCORE,
    ColumnProfile,
    Profile,
    as_numbers,
    bin_of,
    per_column,
    text_values,
)

MIN_EFFECT = 0.01
MAJOR_EFFECT = 0.25
ALPHA = 0.01


@dataclass(frozen=True)
class Thresholds:
    """What counts as drift: the least practical effect, the major line, and the family's α."""

    min_effect: float = MIN_EFFECT
    major_effect: float = MAJOR_EFFECT
    alpha: float = ALPHA

    def __post_init__(self) -> None:
        if not 0 < self.min_effect <= self.major_effect:
            raise ZhongtaiError(
                "invalid_argument",
                f"min effect {self.min_effect} must be above 0 and at most the major effect {self.major_effect}",
            )
        if not 0 < self.alpha < 1:
            raise ZhongtaiError("invalid_argument", f"alpha {self.alpha} must be between 0 and 1")


@dataclass(frozen=True)
class ColumnDrift:
    """One column's comparison."""

    name: str
    kind: str
    rows: int  # live rows
    reference_rows: int
    psi: float
    js: float  # Jensen-Shannon distance, base 2 (0 same, 1 disjoint)
    ks: float | None  # numeric columns only
    effect: float
    detectable: float | None  # the least effect this window could flag (None without live rows)
    missing_rate: float
    reference_missing_rate: float
    verdict: str

    @property
    def drifted(self) -> bool:
        """Flagged (drift or major)."""
        return self.verdict in ("drift", "major")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, rounded to what a reader can use."""
        body = dict(self.__dict__)
        for key in ("psi", "js", "ks", "effect", "detectable", "missing_rate", "reference_missing_rate"):
            if body[key] is not None:
                body[key] = round(float(body[key]), 6)
        return body


def compare(
    profile: Profile,
    columns: Mapping[str, Any],
    scores: Any | None = None,
    thresholds: Thresholds | None = None,
) -> list[ColumnDrift]:
    """Every profiled column present in `columns` (and the score, when both sides have one) against the
    reference, in the profile's order; the score's entry is named `score`."""
    limits = thresholds or Thresholds()
    pairs: list[tuple[str, ColumnProfile, Any]] = [
        (name, ref, columns[name]) for name, ref in profile.columns.items() if name in columns
    ]
    if profile.score is not None and scores is not None:
        pairs.append((SCORE, profile.score, scores))
    alpha = limits.alpha / (2 * max(len(pairs), 1))
    return per_column(lambda p: compare_column(p[0], p[1], p[2], limits, alpha), pairs)


def compare_column(
    name: str, reference: ColumnProfile, live: Any, limits: Thresholds, alpha: float
) -> ColumnDrift:
    """One column against its reference; `alpha` is this column's share of the family's α per test."""
    counts = live_counts(reference, live)
    n, m = float(counts.sum()), float(reference.rows)
    missing_rate = counts[-1] / n if n else 0.0
    ref_missing = reference.missing / m if m else 0.0
    if n == 0 or m == 0:
        return ColumnDrift(
            name, reference.kind, int(n), int(m), 0.0, 0.0, None, 0.0, None, 0.0, ref_missing, "no data"
        )
    expected = reference.reference_counts()
    bins = expected.size
    p = (expected + 0.5) / (m + 0.5 * bins)
    q = (counts + 0.5) / (n + 0.5 * bins)
    psi = float(np.sum((q - p) * np.log(q / p)))
    scale = 1.0 / n + 1.0 / m
    noise = (bins - 1) * scale
    effect = max(0.0, psi - noise)
    psi_bound = chi2_quantile(1 - alpha, bins - 1) * scale
    ks = _ks(expected, counts) if reference.kind == "numeric" else None
    ks_bound = math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt(scale)
    distinguishable = psi > psi_bound or (ks is not None and ks > ks_bound)
    verdict = "ok"
    if distinguishable and effect >= limits.min_effect:
        verdict = "major" if effect >= limits.major_effect else "drift"
    return ColumnDrift(
        name=name,
        kind=reference.kind,
        rows=int(n),
        reference_rows=int(m),
        psi=psi,
        js=_js_distance(expected / m, counts / n),
        ks=ks,
        effect=effect,
        detectable=max(limits.min_effect, psi_bound - noise),
        missing_rate=float(missing_rate),
        reference_missing_rate=ref_missing,
        verdict=verdict,
    )


def live_counts(reference: ColumnProfile, live: Any) -> np.ndarray:
    """The live values counted into the reference's bins, in `reference_counts()` order."""
    if reference.kind == "categorical":
        return _category_counts(reference, *text_values(live))
    numbers = as_numbers(live)
    if numbers is None:  # text where numbers were profiled: every value is one the model could not use
        numbers = _numbers_or_nan(live)
    present = ~np.isnan(numbers)
    missing = float(numbers.size - np.count_nonzero(present))
    values = numbers[present] if missing else numbers
    if reference.kind == "numeric":
        edges = np.asarray(reference.edges, dtype=np.float64)
        binned = np.bincount(bin_of(values, edges), minlength=edges.size + 1)
        return np.append(binned.astype(np.float64), missing)
    known = np.asarray(reference.values, dtype=np.float64)
    at = np.minimum(np.searchsorted(known, values), max(known.size - 1, 0))
    hit = known[at] == values if known.size else np.zeros(values.size, dtype=bool)
    found = np.bincount(at[hit], minlength=known.size).astype(np.float64)
    return np.concatenate([found, [float(values.size - np.count_nonzero(hit)), missing]])


def _category_counts(reference: ColumnProfile, text: np.ndarray, missing: np.ndarray) -> np.ndarray:
    present = text[~missing] if missing.any() else text
    found = [float(np.count_nonzero(present == value)) for value in reference.values]
    return np.asarray([*found, float(present.size) - sum(found), float(missing.sum())])


def _numbers_or_nan(values: Any) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if isinstance(value, bool | int | float | np.number):
            out[i] = float(value)
    return out


def _ks(expected: np.ndarray, counts: np.ndarray) -> float:
    """The largest gap between the two CDFs over the value bins (missing left out of both)."""
    ref, live = expected[:-1], counts[:-1]
    if ref.sum() == 0 or live.sum() == 0:
        return 0.0
    return float(np.max(np.abs(np.cumsum(ref) / ref.sum() - np.cumsum(live) / live.sum())))


def _js_distance(p: np.ndarray, q: np.ndarray) -> float:
    middle = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        used = a > 0
        return float(np.sum(a[used] * np.log2(a[used] / middle[used])))

    return math.sqrt(max(0.0, (kl(p) + kl(q)) / 2))


def chi2_quantile(probability: float, df: int) -> float:
    """The χ² quantile by Wilson and Hilferty's cube-root approximation (within 1% for df ≥ 3 in the
    tail used here; for df 1 and 2 the exact forms)."""
    if df <= 0:
        return 0.0
    if df == 1:
        z = NormalDist().inv_cdf((1 + probability) / 2)
        return z * z
    if df == 2:
        return -2.0 * math.log(1 - probability)
    z = NormalDist().inv_cdf(probability)
    k = 2.0 / (9.0 * df)
    return float(df * (1 - k + z * math.sqrt(k)) ** 3)
