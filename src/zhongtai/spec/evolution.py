"""What a change to a feature spec means for what is already built, trained and served.

Adding a feature is additive: nothing built is invalidated, the next build writes it. Removing or retyping a
feature (or changing an on-demand expression) is breaking: models trained on it would be served something
else or nothing, and builds hold the old column. `zhongtai plan` lists both kinds under the step.
"""

from __future__ import annotations

from typing import Any

FEATURE_KINDS = ("feature_views", "on_demand_views")


def feature_changes(
    kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> tuple[list[str], list[str]]:
    """(breaking, additive) descriptions of a feature view, on-demand view or group change."""
    if kind not in (*FEATURE_KINDS, "feature_groups"):
        return [], []
    noun = {"feature_views": "feature view", "on_demand_views": "on-demand view", "feature_groups": "group"}[
        kind
    ]
    if new is None:
        return [f"the {noun} is removed: models and capabilities using it can no longer get its features"], []
    if old is None:
        return [], []
    if kind == "feature_groups":
        removed = [m for m in old.get("features", []) if m not in new.get("features", [])]
        breaking = [f"member {m} removed: models trained on it can no longer be served" for m in removed]
        return breaking, []
    before = {f["name"]: f for f in old.get("features", [])}
    after = {f["name"]: f for f in new.get("features", [])}
    breaking = [
        f"feature {n} removed: models trained on it can no longer be served" for n in before if n not in after
    ]
    additive = []
    for name, feature in after.items():
        previous = before.get(name)
        if previous is None:
            hint = (
                "builds made before lack it until the view is rebuilt"
                if kind == "feature_views"
                else "computed per request"
            )
            additive.append(f"feature {name} added ({feature.get('type')}): {hint}")
        elif previous.get("type") != feature.get("type"):
            breaking.append(
                f"feature {name} retyped {previous.get('type')} -> {feature.get('type')}: rebuild and retrain"
            )
        elif previous.get("expression") != feature.get("expression"):
            breaking.append(
                f"feature {name} computed differently: models trained on it would be served new values"
            )
    return breaking, additive
