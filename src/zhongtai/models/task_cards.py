"""Model cards of the tasks trained outside the tabular pipeline (text classification, forecast,
recommendation): what the spec declares (purpose, owner, limits, label) and the task's own held-out figures
as its trainer measured them, the model beside each baseline.

A tabular card (models/cards.py) bootstraps intervals over its holdout; these tasks judge themselves their
own way (accuracy and macro-F1 per language, MASE over rolling origins, hit-rate@10 with full ranking), so
the card reports their figures as recorded: `validation` is the model, `baseline` (and any other block
beside it whose figures share names with the model's, such as a recommender's co-occurrence) the baselines.
"""

from __future__ import annotations

from typing import Any

from zhongtai.spec.models import ModelSpec

KIND = "task"
# Metric blocks that are not a baseline to set beside the model.
NOT_BASELINES = ("validation", "candidates", "rolling", "datasets")


def task_card(spec: ModelSpec, metrics: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The card of a text, forecast or recommendation version: the spec's declarations and its figures."""
    declared = spec.card
    model = metrics.get("validation") or {}
    baselines = {
        name: block
        for name, block in metrics.items()
        if name not in NOT_BASELINES and isinstance(block, dict) and _shared(model, block)
    }
    return {
        "kind": KIND,
        "model": spec.name,
        "task": spec.task,
        "description": spec.description,
        "purpose": declared.purpose if declared else "",
        "owner": (declared.owner if declared and declared.owner else None) or spec.owner,
        "not_for": list(declared.not_for) if declared else [],
        "algorithm": str(params.get("model") or params.get("head") or spec.task),
        "label": {"sql": spec.label.sql, "timestamp": spec.label.timestamp, "column": spec.label.label},
        "metrics": {"model": _figures(model), **{k: _figures(v) for k, v in baselines.items()}},
        "details": {k: v for k, v in metrics.items() if k not in ("validation", *baselines)},
    }


def _shared(model: dict[str, Any], block: dict[str, Any]) -> bool:
    return any(isinstance(block.get(k), int | float) for k, v in model.items() if isinstance(v, int | float))


def _figures(block: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a metric block (names of what was compared, like `model: seasonal_naive`, kept)."""
    return {k: v for k, v in block.items() if isinstance(v, int | float | str) and not isinstance(v, bool)}


def render_task_markdown(card: dict[str, Any], version: int) -> str:
    """A task card as a Markdown page: declarations, label, then the model against each baseline."""
    lines = [f"# Model card: {card['model']} v{version}", ""]
    lines += [f"**Purpose:** {card['purpose'] or card['description'] or '(not declared)'}  "]
    lines += [f"**Owner:** {card['owner'] or '(not declared)'}  ", f"**Task:** {card['task']}  "]
    lines += [f"**Algorithm:** {card['algorithm']}", "", "## Not to be used for", ""]
    lines += [f"- {item}" for item in card["not_for"]] or ["(the spec declares no limits: `card.not_for`)"]
    label = card["label"]
    lines += ["", "## Label", "", f"`{label['column']}` at `{label['timestamp']}`, from:", ""]
    lines += ["```sql", label["sql"].strip(), "```", "", "## Held-out figures", ""]
    metrics = card["metrics"]
    columns = list(metrics)
    names = list(dict.fromkeys(n for block in metrics.values() for n in block))
    lines += ["| figure | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    for name in names:
        cells = [_cell(metrics[c].get(name)) for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    details = {k: v for k, v in card["details"].items() if isinstance(v, int | float | str)}
    if details:
        lines += ["", "## Details", ""] + [f"- {k}: {_cell(v)}" for k, v in details.items()]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
