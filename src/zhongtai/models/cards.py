"""Model cards: what a version is for, what it learnt from, how good it is and where it is weaker.

A card is built once, when the version is registered, from the same holdout its metrics come from, and is
stored with the run that registered it (JSON in the metadata store). `render_markdown` turns it into the
page `zhongtai models card` prints. Metrics carry percentile bootstrap intervals (200 resamples, fixed seed);
slices small enough to mislead are flagged, never hidden. A card quotes column names and figures, never a
row's values, except the values of the slice columns the spec names (a tier, a channel, a language).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.models.metrics import bootstrap_intervals, brier, reliability

if TYPE_CHECKING:
    import pyarrow as pa

    from zhongtai.meta.records import ModelVersion, TrainingSet
    from zhongtai.meta.store import MetadataStore
    from zhongtai.models.predictor import Predictor
    from zhongtai.spec.models import ModelSpec

CARD_SCHEMA = "zhongtai-card/1"
RESAMPLES = 200
SEED = 42
EXPLAIN_ROWS = 2000  # holdout rows explained for the top features: plenty for a stable mean
TOP_FEATURES = 10
SMALL_SLICE = 100  # fewer rows than this and a slice's figures are flagged as unreliable
MAX_SLICE_VALUES = 20
NUMERIC_BINS = 4  # a numeric slice column with many values is cut at its quartiles


@dataclass(frozen=True)
class Holdout:
    """The validation side of the time split, as the card needs it."""

    x: np.ndarray
    y: np.ndarray
    table: pa.Table  # the same rows with every training-set column, for slices


def build_card(
    spec: ModelSpec,
    training_set: TrainingSet,
    data: dict[str, Any],
    holdout: Holdout,
    scored: dict[str, np.ndarray],
    predictor: Predictor,
    comparison: dict[str, Any],
) -> dict[str, Any]:
    """The card of a new version.

    `data` describes the training data (rows, time range, split); `scored` holds holdout scores of the model,
    the logistic baseline and the constant baseline; `comparison` the candidates and the metric that chose.
    """
    lineage = training_set.lineage
    intervals = {name: bootstrap_intervals(holdout.y, s, RESAMPLES, SEED) for name, s in scored.items()}
    model = scored["model"]
    card: dict[str, Any] = {
        "schema": CARD_SCHEMA,
        "model": spec.name,
        "description": spec.description,
        "purpose": spec.card.purpose if spec.card else "",
        "owner": (spec.card.owner if spec.card and spec.card.owner else spec.owner) or "",
        "not_for": list(spec.card.not_for) if spec.card else [],
        "training_data": {
            "training_set": training_set.id,
            "datasets": dict(lineage.get("datasets", {})),
            "feature_views": dict(lineage.get("feature_views", {})),
            **data,
        },
        "label": {"sql": spec.label.sql, "column": spec.label.label, "timestamp": spec.label.timestamp},
        "metrics": intervals,
        "lift": {
            f"over_{base}": {
                name: _gain(name, intervals["model"][name]["value"], intervals[base][name]["value"])
                for name in ("auc", "log_loss", "brier", "average_precision")
            }
            for base in ("logistic_baseline", "constant_baseline")
        },
        "calibration": {"brier": brier(holdout.y, model), "bins": reliability(holdout.y, model)},
        "top_features": top_features(predictor, holdout.x),
        "slices": {column: slice_metrics(holdout.table[column], holdout.y, model) for column in spec.slices},
        "bootstrap": {"resamples": RESAMPLES, "seed": SEED, "level": 0.95},
        **comparison,
    }
    return card


def _gain(name: str, model: float | None, base: float | None) -> float | None:
    if model is None or base is None:
        return None
    return model - base if name in ("auc", "average_precision") else base - model


def top_features(predictor: Predictor, rows: np.ndarray) -> list[dict[str, Any]]:
    """Features by mean |contribution| on (a fixed sample of) the holdout, through the served explain()."""
    if len(rows) > EXPLAIN_ROWS:
        rows = rows[np.sort(np.random.default_rng(SEED).choice(len(rows), EXPLAIN_ROWS, replace=False))]
    _, contributions = predictor.explain(rows)
    strength = np.abs(contributions[:, :-1]).mean(axis=0)  # the last column is the bias
    order = sorted(range(len(strength)), key=lambda i: (-strength[i], predictor.features[i]))
    return [
        {"feature": predictor.features[i], "mean_abs_contribution": float(strength[i])}
        for i in order[:TOP_FEATURES]
    ]


def slice_metrics(column: pa.ChunkedArray, labels: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
    """Holdout figures per value of a slice column (numeric columns with many values by quartile)."""
    from sklearn.metrics import roc_auc_score

    found = []
    for value, inside in _groups(column):
        y, p = labels[inside], scores[inside]
        both = 0 < y.sum() < y.size
        found.append(
            {
                "value": value,
                "rows": int(y.size),
                "positive_rate": float(y.mean()),
                "mean_score": float(p.mean()),
                "auc": float(roc_auc_score(y, p)) if both else None,
                "brier": brier(y, p),
                "small": bool(y.size < SMALL_SLICE or not both),
            }
        )
    return found


def _groups(column: pa.ChunkedArray) -> list[tuple[str, np.ndarray]]:
    import pyarrow as pa

    values = column.to_pylist()
    missing = np.array([v is None for v in values])
    numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    distinct = {v for v in values if v is not None}
    groups: list[tuple[str, np.ndarray]] = []
    if numeric and len(distinct) > MAX_SLICE_VALUES // 2:
        numbers = np.array([np.nan if v is None else float(v) for v in values])
        edges = np.unique(np.nanquantile(numbers, np.linspace(0, 1, NUMERIC_BINS + 1)))
        which = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, len(edges) - 2)
        for index in range(len(edges) - 1):
            closing = "]" if index == len(edges) - 2 else ")"
            name = f"[{edges[index]:g}, {edges[index + 1]:g}{closing}"
            groups.append((name, (which == index) & ~missing))
    else:
        from collections import Counter

        counts = Counter(v for v in values if v is not None)
        kept = set(sorted(sorted(distinct, key=str), key=lambda v: -counts[v])[:MAX_SLICE_VALUES])
        for value in sorted(kept, key=str):
            groups.append((str(value), np.array([v == value for v in values]) & ~missing))
        others = ~missing & ~np.array([v in kept for v in values])
        if others.any():
            groups.append(("(other values)", others))
    if missing.any():
        groups.append(("(missing)", missing))
    return [(name, mask) for name, mask in groups if mask.any()]


def render_markdown(card: dict[str, Any], version: int) -> str:
    """The card as a Markdown page."""
    data, metrics = card["training_data"], card["metrics"]
    lines = [f"# Model card: {card['model']} v{version}", ""]
    lines += [f"**Purpose:** {card['purpose'] or card['description'] or '(not declared)'}  "]
    lines += [f"**Owner:** {card['owner'] or '(not declared)'}  ", f"**Algorithm:** {card['algorithm']}", ""]
    lines += ["## Not to be used for", ""]
    lines += [f"- {item}" for item in card["not_for"]] or ["(the spec declares no limits: `card.not_for`)"]
    lines += ["", "## Training data", ""]
    lines += [
        f"- training set `{data['training_set']}`: {data['rows']:,} rows from {data['first_timestamp']} "
        f"to {data['last_timestamp']}",
        f"- time split at {data['split_timestamp']}: {data['train_rows']:,} training rows before it, "
        f"{data['holdout_rows']:,} holdout rows from then on",
        "- datasets: " + (", ".join(_dataset(k, v, data) for k, v in data["datasets"].items()) or "-"),
        "- feature views: " + (", ".join(f"{k} build {v}" for k, v in data["feature_views"].items()) or "-"),
        "",
        "## Label",
        "",
        f"`{card['label']['column']}` (1 = positive) at `{card['label']['timestamp']}`, from:",
        "",
        "```sql",
        card["label"]["sql"].strip(),
        "```",
        "",
        "## Metrics on the holdout (95% bootstrap intervals)",
        "",
        "| metric | model | logistic baseline | constant baseline |",
        "| --- | --- | --- | --- |",
    ]
    for name in ("auc", "log_loss", "brier", "average_precision"):
        cells = [_interval(metrics[m][name]) for m in ("model", "logistic_baseline", "constant_baseline")]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lift = card["lift"]
    lines += ["", "Lift (positive = the model is better):", ""]
    for base in ("logistic_baseline", "constant_baseline"):
        gains = ", ".join(f"{k} {_number(v, signed=True)}" for k, v in lift[f"over_{base}"].items())
        lines.append(f"- over the {base.replace('_', ' ')}: {gains}")
    lines += ["", f"## Calibration (Brier {_number(card['calibration']['brier'])})", ""]
    lines += ["| score bin | rows | mean score | positive rate |", "| --- | --- | --- | --- |"]
    for b in card["calibration"]["bins"]:
        lines.append(
            f"| {b['from']:.1f}–{b['to']:.1f} | {b['rows']:,} | {_number(b['mean_score'])} | "
            f"{_number(b['positive_rate'])} |"
        )
    lines += ["", "## Top features (mean |contribution| on the holdout)", ""]
    lines += [
        f"{i}. `{f['feature']}` {f['mean_abs_contribution']:.4f}"
        for i, f in enumerate(card["top_features"], 1)
    ]
    lines += _slices_markdown(card["slices"])
    lines += _candidates_markdown(card)
    return "\n".join(lines) + "\n"


def _dataset(name: str, version: int, data: dict[str, Any]) -> str:
    rows = data.get("dataset_rows", {}).get(name)
    return f"{name} v{version}" + ("" if rows is None else f" ({rows:,} rows)")


def _slices_markdown(slices: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = ["", "## Metrics by slice", ""]
    if not slices:
        return [*lines, "(the spec names no `slices`)"]
    for column, groups in slices.items():
        lines += [f"### {column}", "", "| value | rows | positive rate | mean score | AUC | Brier | note |"]
        lines.append("| --- | --- | --- | --- | --- | --- | --- |")
        for g in groups:
            note = "small: read with care" if g["small"] else ""
            lines.append(
                f"| {g['value']} | {g['rows']:,} | {_number(g['positive_rate'])} | {_number(g['mean_score'])} "
                f"| {_number(g['auc'])} | {_number(g['brier'])} | {note} |"
            )
        lines.append("")
    return lines


def _candidates_markdown(card: dict[str, Any]) -> list[str]:
    lines = ["", f"## Candidates (judged by {card['selection_metric']} on the same holdout)", ""]
    lines += ["| # | algorithm | params | status | auc | log_loss | brier | winner |"]
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for i, c in enumerate(card["candidates"], 1):
        m = c.get("metrics", {})
        params = " ".join(f"{k}={v}" for k, v in sorted(c["params"].items())) or "(defaults)"
        lines.append(
            f"| {i} | {c['algorithm']} | {params} | {c['status']} | {_number(m.get('auc'))} | "
            f"{_number(m.get('log_loss'))} | {_number(m.get('brier'))} | {'yes' if c.get('winner') else ''} |"
        )
    return lines


def _interval(entry: dict[str, float | None]) -> str:
    if entry["value"] is None:
        return "-"
    return f"{entry['value']:.4f} [{_number(entry['low'])}, {_number(entry['high'])}]"


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def card_of(store: MetadataStore, reference: str) -> tuple[ModelVersion, dict[str, Any]]:
    """The version `NAME`, `NAME@ALIAS` or `NAME:VERSION` points at (NAME alone: the newest) and its card."""
    from zhongtai.models import registry

    name, _, number = reference.partition(":")
    if number:
        if not number.isdigit():
            raise ZhongtaiError(
                "invalid_argument", f"{reference!r}: the version after ':' must be a number", "e.g. churn:3"
            )
        found = registry.get_version(store, name, int(number))
    elif "@" in reference:
        found = registry.resolve(store, reference)
    else:
        found = registry.get_version(store, reference)
    run = store.training_runs.of_version(found.model, found.version)
    if run is None or run.card is None:
        raise ZhongtaiError(
            "not_found",
            f"{found.model} v{found.version} has no model card (it was registered without a training run)",
            f"train it again: zhongtai train {found.model}",
        )
    return found, run.card
