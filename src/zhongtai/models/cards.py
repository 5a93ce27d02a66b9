"""Model cards: what a version is for, what it learnt from, how good it is and where it is weaker.

A card is built once, when the version is registered, from the same holdout its metrics come from, and is
stored with the run that registered it (JSON in the metadata store). `render_markdown` turns it into the
page `zhongtai models card` prints. Metrics carry percentile bootstrap intervals (200 resamples, fixed seed);
slices small enough to mislead are flagged, never hidden. A card quotes column names and figures, never a
row's values, except the values of the slice columns the spec names (a tier, a channel, a language) and a
multiclass model's class labels (what it answers).

The figures follow the task (metrics.TASK_METRICS): a binary card has a reliability table of the
probability; a multiclass card one of the predicted class's probability against how often it is right; a
regression card has no calibration but a residual summary (quantiles, and the mean residual per quartile
of the predicted value, where a bias shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.models.metrics import (
    HIGHER_IS_BETTER,
    brier,
    reliability,
    task_intervals,
    task_metrics,
)
from zhongtai.models.task_cards import KIND as TASK_CARD
from zhongtai.models.task_cards import render_task_markdown
from zhongtai.spec.candidates import TASK_METRICS

if TYPE_CHECKING:
    import pyarrow as pa

    from zhongtai.meta.records import ModelVersion, TrainingSet
    from zhongtai.meta.store import MetadataStore
    from zhongtai.models.predictor import ClassLabel, Predictor
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
    classes: tuple[ClassLabel, ...] = ()  # a multiclass model's class labels, indexed by y


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
    the linear baseline and the constant baseline; `comparison` the candidates and the metric that chose.
    """
    lineage = training_set.lineage
    task = spec.task
    intervals = {name: task_intervals(task, holdout.y, s, RESAMPLES, SEED) for name, s in scored.items()}
    model = scored["model"]
    names = TASK_METRICS[task]
    card: dict[str, Any] = {
        "schema": CARD_SCHEMA,
        "model": spec.name,
        "task": task,
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
                for name in names
            }
            for base in scored
            if base != "model"
        },
        **_fit_of(task, holdout, model),
        "top_features": top_features(predictor, holdout.x),
        "slices": {
            column: slice_metrics(holdout.table[column], holdout.y, model, task) for column in spec.slices
        },
        "bootstrap": {"resamples": RESAMPLES, "seed": SEED, "level": 0.95},
        **comparison,
    }
    return card


def _fit_of(task: str, holdout: Holdout, model: np.ndarray) -> dict[str, Any]:
    """How the model's scores fit the holdout: calibration (classifiers) or residuals (regression)."""
    if task == "regression":
        return {"residuals": residuals(holdout.y, model)}
    if task == "multiclass_classification":
        right = (np.argmax(model, axis=1) == holdout.y).astype(np.float64)
        top = model.max(axis=1)
        recall = task_metrics(task, holdout.y, model, 0.5, holdout.classes)["per_class_recall"]
        return {
            "classes": list(holdout.classes),
            "per_class_recall": recall,
            "calibration": {"brier": brier(right, top), "bins": reliability(right, top)},
        }
    return {"calibration": {"brier": brier(holdout.y, model), "bins": reliability(holdout.y, model)}}


def residuals(values: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Residuals (target − prediction) on the holdout: mean, spread, quantiles, and the mean residual per
    quartile of the predicted value (a model biased high or low for large values shows here)."""
    error = np.asarray(values, dtype=np.float64) - np.asarray(predicted, dtype=np.float64)
    points = (5, 25, 50, 75, 95)
    quantiles = np.percentile(error, points)
    edges = np.unique(np.quantile(predicted, np.linspace(0, 1, NUMERIC_BINS + 1)))
    which = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, max(len(edges) - 2, 0))
    by_prediction = []
    for index in range(max(len(edges) - 1, 1)):
        inside = which == index
        if inside.any():
            by_prediction.append(
                {
                    "from": float(edges[index]),
                    "to": float(edges[min(index + 1, len(edges) - 1)]),
                    "rows": int(inside.sum()),
                    "mean_residual": float(error[inside].mean()),
                }
            )
    return {
        "mean": float(error.mean()),
        "std": float(error.std()),
        "quantiles": {f"p{p}": float(q) for p, q in zip(points, quantiles, strict=True)},
        "by_prediction": by_prediction,
    }


def _gain(name: str, model: float | None, base: float | None) -> float | None:
    if model is None or base is None:
        return None
    return model - base if HIGHER_IS_BETTER[name] else base - model


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


def slice_metrics(
    column: pa.ChunkedArray, labels: np.ndarray, scores: np.ndarray, task: str = "binary_classification"
) -> list[dict[str, Any]]:
    """Holdout figures per value of a slice column (numeric columns with many values by quartile)."""
    if task != "binary_classification":
        return [
            {
                "value": value,
                "rows": int(inside.sum()),
                **_task_figures(task, labels[inside], scores[inside]),
                "small": bool(inside.sum() < SMALL_SLICE),
            }
            for value, inside in _groups(column)
        ]
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


def _task_figures(task: str, labels: np.ndarray, scores: np.ndarray) -> dict[str, float | None]:
    if task == "multiclass_classification":
        right = np.argmax(scores, axis=1) == labels
        return {"accuracy": float(right.mean()), "mean_confidence": float(scores.max(axis=1).mean())}
    error = scores - labels
    return {
        "mean_target": float(labels.mean()),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
    }


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
    if card.get("kind") == TASK_CARD:
        return render_task_markdown(card, version)
    data = card["training_data"]
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
        f"`{card['label']['column']}` ({_label_meaning(card)}) at `{card['label']['timestamp']}`, from:",
        "",
        "```sql",
        card["label"]["sql"].strip(),
        "```",
    ]
    lines += _metrics_markdown(card)
    lines += ["", "## Top features (mean |contribution| on the holdout)", ""]
    lines += [
        f"{i}. `{f['feature']}` {f['mean_abs_contribution']:.4f}"
        for i, f in enumerate(card["top_features"], 1)
    ]
    lines += _slices_markdown(card["slices"])
    lines += _candidates_markdown(card)
    return "\n".join(lines) + "\n"


def _task(card: dict[str, Any]) -> str:
    return str(card.get("task", "binary_classification"))  # cards written before tasks are binary


def _label_meaning(card: dict[str, Any]) -> str:
    if _task(card) == "multiclass_classification":
        return "classes: " + ", ".join(str(c) for c in card["classes"])
    return "a number" if _task(card) == "regression" else "1 = positive"


def _metrics_markdown(card: dict[str, Any]) -> list[str]:
    metrics, baselines = card["metrics"], [m for m in card["metrics"] if m != "model"]
    lines = ["", "## Metrics on the holdout (95% bootstrap intervals)", ""]
    lines += ["| metric | model | " + " | ".join(b.replace("_", " ") for b in baselines) + " |"]
    lines += ["| --- | --- | " + " | ".join("---" for _ in baselines) + " |"]
    for name in TASK_METRICS[_task(card)]:
        cells = [_interval(metrics[m][name]) for m in ("model", *baselines)]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lift = card["lift"]
    lines += ["", "Lift (positive = the model is better):", ""]
    for base in baselines:
        gains = ", ".join(f"{k} {_number(v, signed=True)}" for k, v in lift[f"over_{base}"].items())
        lines.append(f"- over the {base.replace('_', ' ')}: {gains}")
    if "per_class_recall" in card:
        lines += ["", "## Recall per class", "", "| class | recall |", "| --- | --- |"]
        lines += [f"| {c} | {_number(r)} |" for c, r in card["per_class_recall"].items()]
    if "residuals" in card:
        return lines + _residuals_markdown(card["residuals"])
    multiclass = _task(card) == "multiclass_classification"
    lines += ["", f"## Calibration (Brier {_number(card['calibration']['brier'])})", ""]
    if multiclass:
        lines += ["Of the predicted class: its probability against how often it is right.", ""]
        lines += ["| probability bin | rows | mean probability | right |", "| --- | --- | --- | --- |"]
    else:
        lines += ["| score bin | rows | mean score | positive rate |", "| --- | --- | --- | --- |"]
    for b in card["calibration"]["bins"]:
        lines.append(
            f"| {b['from']:.1f}–{b['to']:.1f} | {b['rows']:,} | {_number(b['mean_score'])} | "
            f"{_number(b['positive_rate'])} |"
        )
    return lines


def _residuals_markdown(found: dict[str, Any]) -> list[str]:
    lines = ["", "## Residuals (target − prediction) on the holdout", ""]
    quantiles = ", ".join(f"{k} {_number(v, signed=True)}" for k, v in found["quantiles"].items())
    lines += [f"- mean {_number(found['mean'], signed=True)}, std {_number(found['std'])}; {quantiles}", ""]
    lines += ["| predicted value | rows | mean residual |", "| --- | --- | --- |"]
    for b in found["by_prediction"]:
        lines.append(
            f"| {b['from']:g}–{b['to']:g} | {b['rows']:,} | {_number(b['mean_residual'], signed=True)} |"
        )
    return lines


def _dataset(name: str, version: int, data: dict[str, Any]) -> str:
    rows = data.get("dataset_rows", {}).get(name)
    return f"{name} v{version}" + ("" if rows is None else f" ({rows:,} rows)")


def _slices_markdown(slices: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = ["", "## Metrics by slice", ""]
    if not slices:
        return [*lines, "(the spec names no `slices`)"]
    for column, groups in slices.items():
        figures = [k for k in (groups[0] if groups else {}) if k not in ("value", "rows", "small")]
        heads = [_SLICE_HEADS.get(k, k) for k in figures]
        lines += [f"### {column}", "", "| value | rows | " + " | ".join(heads) + " | note |"]
        lines.append("| --- | --- | " + " | ".join("---" for _ in heads) + " | --- |")
        for g in groups:
            note = "small: read with care" if g["small"] else ""
            cells = " | ".join(_number(g[k]) for k in figures)
            lines.append(f"| {g['value']} | {g['rows']:,} | {cells} | {note} |")
        lines.append("")
    return lines


_SLICE_HEADS = {
    "positive_rate": "positive rate",
    "mean_score": "mean score",
    "auc": "AUC",
    "brier": "Brier",
    "mean_confidence": "mean confidence",
    "mean_target": "mean target",
    "rmse": "RMSE",
    "mae": "MAE",
}


def _candidates_markdown(card: dict[str, Any]) -> list[str]:
    names = TASK_METRICS[_task(card)][:3]
    lines = ["", f"## Candidates (judged by {card['selection_metric']} on the same holdout)", ""]
    lines += ["| # | algorithm | params | status | " + " | ".join(names) + " | winner |"]
    lines.append("| --- | --- | --- | --- | " + " | ".join("---" for _ in names) + " | --- |")
    for i, c in enumerate(card["candidates"], 1):
        m = c.get("metrics", {})
        params = " ".join(f"{k}={v}" for k, v in sorted(c["params"].items())) or "(defaults)"
        cells = " | ".join(_number(m.get(name)) for name in names)
        lines.append(
            f"| {i} | {c['algorithm']} | {params} | {c['status']} | {cells} | {'yes' if c.get('winner') else ''} |"
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
    return found, card_of_version(store, found)


def card_of_version(store: MetadataStore, found: ModelVersion) -> dict[str, Any]:
    """The card the training run that registered `found` wrote; not_found when it was registered without."""
    run = store.training_runs.of_version(found.model, found.version)
    if run is None or run.card is None:
        raise ZhongtaiError(
            "not_found",
            f"{found.model} v{found.version} has no model card (it was registered without a training run)",
            f"train it again: zhongtai train {found.model}",
        )
    return run.card
