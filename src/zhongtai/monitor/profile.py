"""The reference profile of a model version: what its training data and scores looked like, as counts.

Saved at training time as `profile.json` beside the artifact (JSON: data only, like the artifact itself),
so drift is judged against the data the version learnt from, not against whatever came before. Per column:

- numeric: the counts of `BINS` bins whose edges are the training quantiles (so each holds about the same
  share; ties collapse edges), plus the missing count. Live values are counted into the same bins.
- discrete: a numeric column with at most `DISCRETE_MAX` distinct values (flags, codes, counts of a few):
  the count of each value, since quantile edges would pile them into one bin.
- categorical: text values; the count of each of the `TOP_K` most frequent, the rest as `other`.

Privacy: a category value is kept only when at least `MIN_CATEGORY_ROWS` rows and `MIN_CATEGORY_SHARE`
of them carry it, so no value that points at one person (a phone, a name) reaches the profile; rare values
are counted as `other`. Numeric edges are quantiles of many rows, never one row's value at small n.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np

from zhongtai.errors import ZhongtaiError

PROFILE_FILE = "profile.json"
PROFILE_FORMAT = "zhongtai-profile/1"
BINS = 20
DISCRETE_MAX = 16
TOP_K = 20
MIN_CATEGORY_ROWS = 10
MIN_CATEGORY_SHARE = 0.01
SCORE = "score"  # the profile entry of the model's scores
# Quantile edges from a random sample of this many rows (counting stays exact over every row): an edge is then
# within about 0.3% of rows of the true quantile, far below what a bin of 5% can notice.
EDGE_SAMPLE = 50_000
# A column is tried as discrete only when its first rows hold few distinct values (no sort of every row).
DISCRETE_PROBE = 2_000

Kind = Literal["numeric", "discrete", "categorical"]
T = TypeVar("T")


@dataclass(frozen=True)
class ColumnProfile:
    """One column's reference: `counts[i]` rows fall in bin i (see the module docstring per kind)."""

    kind: Kind
    rows: int
    missing: int
    counts: list[int]
    edges: list[float] = field(default_factory=list)  # numeric: interior edges, len(counts) - 1 of them
    values: list[Any] = field(default_factory=list)  # discrete / categorical: the value of each count
    other: int = 0  # discrete / categorical: rows of any value not in `values`

    def reference_counts(self) -> np.ndarray:
        """Every bin's count in comparison order: value bins, then `other` (not numeric), then missing."""
        tail = [self.missing] if self.kind == "numeric" else [self.other, self.missing]
        return np.asarray([*self.counts, *tail], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        body: dict[str, Any] = {"kind": self.kind, "rows": self.rows, "missing": self.missing}
        body["counts"] = self.counts
        if self.kind == "numeric":
            body["edges"] = self.edges
        else:
            body["values"], body["other"] = self.values, self.other
        return body

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> ColumnProfile:
        """The profile `to_dict` wrote."""
        return cls(
            kind=body["kind"],
            rows=int(body["rows"]),
            missing=int(body["missing"]),
            counts=[int(c) for c in body["counts"]],
            edges=[float(e) for e in body.get("edges", [])],
            values=list(body.get("values", [])),
            other=int(body.get("other", 0)),
        )


@dataclass(frozen=True)
class Profile:
    """A model version's reference: a profile per feature, and one of its scores (None when it has none)."""

    columns: dict[str, ColumnProfile]
    score: ColumnProfile | None = None

    def to_json(self) -> bytes:
        """The profile file's bytes."""
        body = {
            "format": PROFILE_FORMAT,
            "features": {name: c.to_dict() for name, c in self.columns.items()},
            "score": self.score.to_dict() if self.score is not None else None,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes, where: str) -> Profile:
        """The profile in `raw` (read from `where`, named in the error when it is not one)."""
        try:
            body = json.loads(raw)
            if body.get("format") != PROFILE_FORMAT:
                raise ValueError(f"format {body.get('format')!r}")
            columns = {name: ColumnProfile.from_dict(c) for name, c in body["features"].items()}
            score = ColumnProfile.from_dict(body["score"]) if body.get("score") else None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ZhongtaiError(
                "invalid_argument",
                f"{where} is not a reference profile ({type(exc).__name__})",
                "train the model again to write a new one",
            ) from None
        return cls(columns, score)


def build_profile(columns: Mapping[str, Any], scores: np.ndarray | None = None) -> Profile:
    """The reference profile of `columns` (name -> a 1-D array or list of values; NaN and None are missing)
    and of the model's `scores` (1-D; a 2-D array of class probabilities is profiled by its top class's
    probability, what a multiclass capability logs as its score)."""
    profiled = dict(zip(columns, per_column(profile_column, list(columns.values())), strict=True))
    score = None
    if scores is not None:
        values = np.asarray(scores, dtype=np.float64)
        score = profile_column(values.max(axis=1) if values.ndim == 2 else values, allow_discrete=False)
    return Profile(profiled, score)


def per_column(work: Callable[..., T], items: list[Any]) -> list[T]:
    """`work` over the items on a thread per core: numpy lets go of the GIL inside its loops, so columns are
    counted side by side."""
    workers = min(os.cpu_count() or 1, len(items))
    if workers < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="zt-drift") as pool:
        return list(pool.map(work, items))


def profile_column(values: Any, allow_discrete: bool = True) -> ColumnProfile:
    """One column's profile; numeric when every present value is a number (or bool), else categorical."""
    numbers = as_numbers(values)
    if numbers is None:
        return _categorical(*text_values(values))
    gone = np.isnan(numbers)
    present = numbers[~gone] if gone.any() else numbers
    missing = int(numbers.size - present.size)
    if allow_discrete and np.unique(present[:DISCRETE_PROBE]).size <= DISCRETE_MAX:
        distinct = np.unique(present)
        if distinct.size <= DISCRETE_MAX:
            found = np.bincount(np.searchsorted(distinct, present), minlength=distinct.size)
            return ColumnProfile(
                "discrete", int(numbers.size), missing, found.tolist(), values=distinct.tolist()
            )
    edges = _quantile_edges(present)
    counts = np.bincount(bin_of(present, edges), minlength=edges.size + 1)
    return ColumnProfile("numeric", int(numbers.size), missing, counts.tolist(), edges=edges.tolist())


def _quantile_edges(present: np.ndarray) -> np.ndarray:
    if present.size == 0:
        return np.empty(0)
    sample = present
    if present.size > EDGE_SAMPLE:
        sample = present[np.random.default_rng(0).integers(0, present.size, EDGE_SAMPLE)]
    inner = np.quantile(sample, np.linspace(0, 1, BINS + 1)[1:-1])
    edges = np.unique(inner)
    # An edge at the minimum leaves an empty first bin (nothing is below the minimum): drop it.
    return edges[edges > sample.min()] if edges.size else edges


def _categorical(text: np.ndarray, missing: np.ndarray) -> ColumnProfile:
    present = text[~missing] if missing.any() else text
    sample = present
    if present.size > EDGE_SAMPLE:
        # A value held by 1% of rows is in a sample of this size with certainty; its count is then exact.
        sample = present[np.random.default_rng(0).integers(0, present.size, EDGE_SAMPLE)]
    names, seen = np.unique(sample, return_counts=True)
    candidates = names[np.argsort(-seen, kind="stable")[: 2 * TOP_K]]
    exact = np.asarray([np.count_nonzero(present == c) for c in candidates], dtype=np.int64)
    floor = max(MIN_CATEGORY_ROWS, MIN_CATEGORY_SHARE * text.size)
    kept = [int(i) for i in np.argsort(-exact, kind="stable")[:TOP_K] if exact[i] >= floor]
    counts = [int(exact[i]) for i in kept]
    values = [str(candidates[i]) for i in kept]
    other = int(present.size) - sum(counts)
    return ColumnProfile(
        "categorical", int(text.size), int(missing.sum()), counts, values=values, other=other
    )


def bin_of(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each value's bin: how many edges are at or below it (`searchsorted(edges, values, "right")`, done as
    one comparison per edge, which is several times faster for the few edges a profile has)."""
    out = np.zeros(values.size, dtype=np.uint8 if edges.size < 255 else np.intp)
    for edge in edges.astype(values.dtype):
        np.add(out, values >= edge, out=out, casting="unsafe")
    return out


def as_numbers(values: Any) -> np.ndarray | None:
    """The values as floats (float64; a float array as it is) with missing as NaN, or None when some present
    value is not a number."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values  # float32 stays float32: half the memory traffic of a cast, and bins cast to it
    if isinstance(values, np.ndarray) and values.dtype.kind in "iub":
        return values.astype(np.float64)
    if isinstance(values, np.ndarray) and values.dtype.kind in "USO" and values.dtype.kind != "O":
        return None
    out = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        if value is None:
            out[i] = np.nan
        elif isinstance(value, bool | int | float | np.number):
            out[i] = float(value)
        else:
            return None
    return out


def text_values(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """The values as a text array and a mask of the missing ones (None, NaN); other values as their text."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "US":
        return values, np.zeros(values.size, dtype=bool)  # a text array has no missing values
    missing = np.fromiter((v is None or (isinstance(v, float) and v != v) for v in values), bool, len(values))
    text = np.asarray(["" if gone else str(v) for v, gone in zip(values, missing, strict=True)], dtype=str)
    return text, missing
