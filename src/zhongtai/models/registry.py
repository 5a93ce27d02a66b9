"""The model registry as the CLI and the gateway use it: list, show, alias, resolve `model@alias`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from zhongtai.errors import NotFound, ZhongtaiError
from zhongtai.meta.records import ModelVersion

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

ALIAS_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
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
    """A version with its metrics and aliases, plus where every alias of the model points."""
    found = get_version(store, model, version)
    aliases = {alias: v.version for v in store.models.versions(model) for alias in v.aliases}
    return {**found.to_dict(), "model_aliases": dict(sorted(aliases.items()))}


def check_alias(alias: str) -> str:
    """An alias is `champion`, `challenger` or a lowercase name; digits first would read as a version."""
    if alias in WELL_KNOWN_ALIASES or ALIAS_PATTERN.match(alias):
        return alias
    raise ZhongtaiError(
        "invalid_argument",
        f"alias {alias!r} is not valid",
        "use champion, challenger or a lowercase name: letters, digits, _ and -, starting with a letter",
    )


def set_alias(store: MetadataStore, model: str, version: int, alias: str) -> ModelVersion:
    """Point `model@alias` at `version` (which must exist); returns the version as it now stands."""
    store.models.set_alias(model, version, check_alias(alias))
    return store.models.get(model, version)


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
