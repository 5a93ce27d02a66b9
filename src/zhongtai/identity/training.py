"""Training the general model's m probabilities so that any data trains, and saying which levels could not.

Splink's EM cannot be given every data set. Its maximisation step sets a level's m to that level's share
of the expected matches; a level that never occurs among matches (a birth-date typo level where nobody
mistypes, the `else` of a city nobody leaves) shrinks on every iteration, and faster the more comparisons
disagree together, until it underflows to 0.0 and Splink's setter raises a plain ValueError
("m_probability value 0.0 is below the minimum allowed value of 1e-300"), losing the whole session.

So EM runs here, on what Splink's own `estimate_without_term_frequencies` runs on: the count of blocked
pairs per agreement pattern (Splink computes the patterns, on DuckDB or Spark; a few thousand rows come
back). Three rules keep every estimate usable:

- the maximisation step adds `PSEUDO_PAIRS` pseudo-matches spread as the prior m values (additive
  smoothing), so a level seen only among non-matches gets a small m, never 0;
- a level no blocked pair shows, or a comparison no session can train (it is the blocked key of every
  session), keeps its prior m (`prior_m`); a level the random sample never shows gets u = 1 / sampled
  pairs (rarer than one in the sample). These are reported as untrainable, with the reason;
- every m and u is floored at `FLOOR`, far above Splink's 1e-300, so no weight is infinite.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from zhongtai.lake.offline import ResolutionEngine

FLOOR = 1e-9
PSEUDO_PAIRS = 1.0  # pseudo-matches added in each maximisation step, spread as the prior m values
EXACT_PRIOR = 0.95  # prior m of a comparison's first (strictest) level; the rest share the remainder
MAX_ITERATIONS = 25
CONVERGENCE = 1e-4


@dataclass(frozen=True)
class Untrainable:
    """A level whose m or u the data could not estimate, and the prior it kept."""

    comparison: str
    level: str
    probability: str  # "m" or "u"
    value: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Session:
    """One EM session: the blocking rule's columns and the comparisons it cannot train (the blocked ones)."""

    columns: tuple[str, ...]
    rule: str
    skipped: frozenset[str]


def prior_m(levels: int) -> list[float]:
    """The prior m of a comparison's non-null levels, strictest first: `EXACT_PRIOR` for the first, the
    rest shared equally (Splink's own starting values)."""
    if levels == 1:
        return [1.0]
    return [EXACT_PRIOR] + [(1 - EXACT_PRIOR) / (levels - 1)] * (levels - 1)


def _levels(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """A comparison's non-null levels, strictest first: level i has comparison vector value n - 1 - i."""
    return [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def fill_u(model: dict[str, Any], sampled_pairs: float) -> list[Untrainable]:
    """Give every level Splink's random sample never showed u = 1 / sampled pairs; floor the rest."""
    unseen = max(FLOOR, 1.0 / max(sampled_pairs, 1.0))
    found = []
    for comparison in model["comparisons"]:
        for level in _levels(comparison):
            u = _number(level.get("u_probability"))
            if u is None:
                level["u_probability"] = unseen
                reason = "no randomly sampled pair falls in this level"
                label = level["label_for_charts"]
                found.append(Untrainable(comparison["output_column_name"], label, "u", unseen, reason))
            else:
                level["u_probability"] = max(u, FLOOR)
    return found


def pattern_counts(engine: ResolutionEngine, table: str, model: dict[str, Any], rule: str) -> np.ndarray:
    """(pairs, gamma per comparison) per agreement pattern of the pairs `rule` blocks in `table`.

    Splink computes the comparison vectors, so each engine runs its own dialect, but its predictions
    carry match weights, not levels: scored with m = 1 and u = 2^-(gamma + 1) on every level (term
    frequencies off), a comparison's weight is exactly its level's value plus one (0 for null), and the
    patterns are counted on the engine; a few thousand rows come back."""
    from splink import Linker

    settings = copy.deepcopy(model)
    for comparison in settings["comparisons"]:
        levels = _levels(comparison)
        for i, level in enumerate(levels):
            level.pop("tf_adjustment_column", None)
            level.pop("tf_adjustment_weight", None)
            level["m_probability"], level["u_probability"] = 1.0, 2.0 ** -(len(levels) - i)
    settings["blocking_rules_to_generate_predictions"] = [rule]
    settings["retain_intermediate_calculation_columns"] = True
    linker = Linker(engine.splink_api().register(table), settings, log_level="ERROR")
    pairs = linker.inference.predict()
    gammas = [f"CAST(round(mw_{c['output_column_name']}) AS INTEGER) - 1" for c in model["comparisons"]]
    named = ", ".join(f"{g} AS g{k}" for k, g in enumerate(gammas))
    try:
        found = engine.to_arrow(
            f"SELECT count(*) AS n, {named} FROM {pairs.physical_name} GROUP BY {', '.join(gammas)}",
            "EM agreement patterns",
        )
    finally:
        pairs.drop_table_from_database_and_remove_from_cache()
    columns = ["n", *(f"g{k}" for k in range(len(gammas)))]
    return np.column_stack([found[c].to_numpy(zero_copy_only=False) for c in columns]).astype(np.float64)


def _session_prior(model: dict[str, Any], skipped: frozenset[str]) -> float:
    """The share of matches among a session's blocked pairs to start from: the model's prior times the
    Bayes factor of agreeing on the blocked comparisons."""
    odds = model["probability_two_random_records_match"]
    odds = odds / max(1 - odds, FLOOR)
    for comparison in model["comparisons"]:
        if comparison["output_column_name"] in skipped:
            top = _levels(comparison)[0]
            odds *= prior_m(len(_levels(comparison)))[0] / max(_number(top["u_probability"]) or FLOOR, FLOOR)
    return min(max(odds / (1 + odds), 1e-6), 0.5)


def em(
    patterns: np.ndarray, model: dict[str, Any], skipped: frozenset[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """EM on agreement-pattern counts with u fixed: per trained comparison, (m per level strictest first,
    pairs per level). The maximisation step is smoothed towards the prior m (see the module doc)."""
    counts, gammas = patterns[:, 0], patterns[:, 1:].astype(np.int64)
    comparisons = model["comparisons"]
    active = [k for k, c in enumerate(comparisons) if c["output_column_name"] not in skipped]
    u = {k: np.array([_number(lv["u_probability"]) for lv in _levels(comparisons[k])]) for k in active}
    priors = {k: np.array(prior_m(len(u[k]))) for k in active}
    m = {k: priors[k].copy() for k in active}
    # Pattern's level index (strictest first) per comparison, -1 for null.
    if not counts.sum():  # the session's rule blocks no pair: it trains nothing
        return {comparisons[k]["output_column_name"]: (m[k], np.zeros(len(u[k]))) for k in active}
    index = {k: np.where(gammas[:, k] >= 0, len(u[k]) - 1 - gammas[:, k], -1) for k in active}
    share = _session_prior(model, skipped)
    for _ in range(MAX_ITERATIONS):
        logit = np.full(len(counts), math.log(share / (1 - share)))
        for k in active:
            seen = index[k] >= 0
            logit[seen] += np.log(m[k][index[k][seen]]) - np.log(u[k][index[k][seen]])
        p = 1 / (1 + np.exp(-np.clip(logit, -700, 700)))
        change = 0.0
        for k in active:
            seen = index[k] >= 0
            expected = np.bincount(index[k][seen], weights=(counts * p)[seen], minlength=len(u[k]))
            new = (expected + PSEUDO_PAIRS * priors[k]) / (expected.sum() + PSEUDO_PAIRS)
            change = max(change, float(np.abs(new - m[k]).max()))
            m[k] = np.maximum(new, FLOOR)
        share = min(max(float((counts * p).sum() / counts.sum()), 1e-6), 1 - 1e-6)
        if change < CONVERGENCE:
            break
    observed = {
        k: np.bincount(index[k][index[k] >= 0], weights=counts[index[k] >= 0], minlength=len(u[k]))
        for k in active
    }
    return {comparisons[k]["output_column_name"]: (m[k], observed[k]) for k in active}


def set_m(
    model: dict[str, Any], trained: Sequence[dict[str, tuple[np.ndarray, np.ndarray]]]
) -> list[Untrainable]:
    """Write the sessions' m into `model`: per level the mean over the sessions that saw it, else the prior;
    each comparison's m renormalized and floored. Returns the levels left at their prior."""
    found = []
    for comparison in model["comparisons"]:
        name, levels = comparison["output_column_name"], _levels(comparison)
        priors = prior_m(len(levels))
        runs = [t[name] for t in trained if name in t]
        values = []
        for i, level in enumerate(levels):
            seen = [m[i] for m, observed in runs if observed[i] > 0]
            if seen:
                values.append(float(np.mean(seen)))
                continue
            values.append(priors[i])
            reason = (
                "no blocked pair of a training session falls in this level"
                if runs
                else "every training session blocks on this comparison's key"
            )
            found.append(Untrainable(name, level["label_for_charts"], "m", priors[i], reason))
        total = sum(values)
        for level, value in zip(levels, values, strict=True):
            level["m_probability"] = max(value / total, FLOOR)
    return found
