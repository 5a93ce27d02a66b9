"""The model registry as the CLI and the gateway use it: list, show, resolve `model@alias` and `model:N`.

Review steps are models/review.py's; alias moves are models/aliases.py's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from zhongtai.errors import NotFound, ZhongtaiError
from zhongtai.meta.records import ALIAS_LENGTH, ModelVersion

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

# As long as the alias columns hold, so a valid alias is never a database error.
ALIAS_PATTERN = re.compile(rf"^[a-z][a-z0-9_-]{{0,{ALIAS_LENGTH - 1}}}$")
WELL_KNOWN_ALIASES = ("champion", "challenger")
DEFAULT_ALIAS = "champion"


def list_versions(store: MetadataStore, model: str | None = None) -> list[ModelVersion]:
    """Every version (of one model, or of all), oldest first; an unknown model is NotFound."""
    if model is not None:
        store.spec("models", model)
    return store.models.versions(model)


def get_version(store: MetadataStore, model: str, version: int | None = None) -> ModelVersion:
    """One version; without a number, the newest."""
    if version is not None:
        return store.models.get(model, version)
    found = list_versions(store, model)
    if not found:
        raise ZhongtaiError(
            "not_found", f"model '{model}' has no trained versions", f"run `zhongtai train {model}`"
        )
    return found[-1]


def show(store: MetadataStore, model: str, version: int | None = None) -> dict[str, Any]:
    """A version with its metrics, aliases and review steps, where every alias of the model points, and the
    run that registered it (whose card `models card` shows)."""
    found = get_version(store, model, version)
    aliases = {alias: v.version for v in store.models.versions(model) for alias in v.aliases}
    reviews = [r.to_dict() for r in store.models.reviews(model, found.version)]
    run = store.training_runs.of_version(model, found.version)
    return {
        **found.to_dict(),
        "model_aliases": dict(sorted(aliases.items())),
        "reviews": reviews,
        "run": None if run is None else run.id,  # the training run that registered it, if any
        "has_card": run is not None and run.card is not None,
    }


def check_alias(alias: str) -> str:
    """An alias is `champion`, `challenger` or a lowercase name; digits first would read as a version."""
    if alias in WELL_KNOWN_ALIASES or ALIAS_PATTERN.match(alias):
        return alias
    raise ZhongtaiError(
        "invalid_argument",
        f"alias {alias!r} is not valid",
        "use champion, challenger or a lowercase name: letters, digits, _ and -, starting with a letter",
    )


def parse_reference(reference: str) -> tuple[str, str | int]:
    """`churn@champion` → ("churn", "champion"); `churn@3` → ("churn", 3); `churn` → champion."""
    model, _, target = reference.partition("@")
    if not model:
        raise ZhongtaiError("invalid_argument", f"model reference {reference!r} has no model name")
    if not target:
        return model, DEFAULT_ALIAS
    if target.isdigit():
        return model, int(target)
    return model, check_alias(target)


def resolve(store: MetadataStore, reference: str) -> ModelVersion:
    """The version a reference (`model@alias`, `model@N` or `model`) points at now."""
    model, target = parse_reference(reference)
    if isinstance(target, int):
        return store.models.get(model, target)
    try:
        return store.models.by_alias(model, target)
    except NotFound:
        store.spec("models", model)  # an unknown model says so, rather than blaming the alias
        raise


def version_of(store: MetadataStore, reference: str, version: str | None = None) -> tuple[str, int]:
    """The (model, version) a CLI or HTTP caller names: `churn 3`, `churn:3`, or `churn@champion` (the
    version the alias points at now)."""
    model, target = reference, version
    for separator in (":", "@"):
        if separator in reference and version is None:
            model, _, target = reference.partition(separator)
            if separator == "@" and target and not target.isdigit():
                return model, resolve(store, reference).version
    if not model or set(model) & {":", "@"} or not target or not target.isdigit() or int(target) < 1:
        raise ZhongtaiError(
            "invalid_argument",
            f"{' '.join(filter(None, (reference, version)))!r} does not name a model version",
            "write it as `churn 3`, `churn:3` or `churn@champion`",
        )
    return model, int(target)
