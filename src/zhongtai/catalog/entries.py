"""Catalog entries: what the platform knows about each registered object, and search over them."""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field
from typing import Any

from zhongtai.catalog.freshness import age_hours, is_stale, promised_hours
from zhongtai.meta.store import KIND_NOUN, MetadataStore
from zhongtai.meta.time import now

SEARCHED_KINDS = (
    "sources",
    "datasets",
    "entities",
    "feature_views",
    "on_demand_views",
    "feature_groups",
    "models",
    "capabilities",
)


@dataclass
class Entry:
    kind: str
    name: str
    description: str
    owner: str | None
    details: dict[str, Any] = field(default_factory=dict)
    fields: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": KIND_NOUN[self.kind],
            "name": self.name,
            "description": self.description,
            "owner": self.owner,
            **self.details,
            "fields": self.fields,
        }


def search(
    store: MetadataStore, text: str, limit: int | None = 20, kinds: tuple[str, ...] = SEARCHED_KINDS
) -> list[dict[str, Any]]:
    """Objects of `kinds` whose name, description, owner or fields mention `text` (case-insensitive), best
    first; an empty `text` matches every object, by name. `limit=None` returns every hit (a caller that
    filters them by permission pages after filtering)."""
    needle = text.strip().lower()
    hits: list[tuple[int, str, str, dict[str, Any]]] = []
    for kind in kinds:
        for name, spec in store.registered(kind).items():
            score = _score(needle, name, spec) if needle else 1  # everything, by name
            if score:
                hit = {
                    "kind": KIND_NOUN[kind],
                    "name": name,
                    "description": spec.get("description", ""),
                    "owner": spec.get("owner"),
                }
                if "entity" in spec:  # what a view or model describes: the person page finds its views by it
                    hit["entity"] = spec["entity"]
                hits.append((score, kind, name, hit))
    hits.sort(key=lambda h: (-h[0], h[1], h[2]))
    return [h[3] for h in (hits if limit is None else hits[:limit])]


def _score(needle: str, name: str, spec: dict[str, Any]) -> int:
    score = 0
    if needle in name.lower():
        score += 10 if needle == name.lower() else 5
    if needle in str(spec.get("description", "")).lower():
        score += 3
    if needle in str(spec.get("owner") or "").lower():
        score += 2
    for item in spec.get("fields", []) + spec.get("features", []):
        if isinstance(item, str):  # a feature group's `view.feature` member
            item = {"name": item}
        if needle in item["name"].lower() or needle in str(item.get("description", "")).lower():
            score += 1
    return score


def dataset_entry(store: MetadataStore, name: str) -> Entry:
    """A dataset as the catalog shows it: freshness promised and observed, size, and its fields."""
    spec, source = store.dataset_spec(name)
    versions = store.versions(name)
    current = versions[-1] if versions else None
    promised = promised_hours(spec.get("update_frequency"))
    details: dict[str, Any] = {
        "source": spec.get("source"),
        "source_type": source["type"] if source else None,
        "produced_by": f"identity {spec['identity']}"
        if "identity" in spec
        else f"model {spec['model']}"
        if "model" in spec
        else None,
        "location": _location(spec, current),
        "update_frequency": spec.get("update_frequency"),
        "promised_refresh_hours": promised,
        # None: no promise; else whether the last snapshot is later than the promise allows
        "stale": is_stale(promised, age_hours(current.created_at if current else None, now())),
        "observed_refresh_hours": _observed_hours(versions),
        "last_refresh": current.created_at.isoformat() if current else None,
        "version": current.version if current else None,
        "rows": current.rows if current else None,
        # the id of the PII key the protected fields were written under (docs/pii.md)
        "pii_key": next((c.key_id for c in current.schema if c.key_id), None) if current else None,
    }
    # How each field is stored (docs/pii.md): token, encrypted, ciphertext (the encrypted copy) or clear.
    storage = {c.name: c.storage or "clear" for c in current.schema} if current else {}
    fields = [
        {
            "name": f.name,
            "type": f.type,
            "pii": f.pii,
            "storage": storage.get(f.name, "clear"),
            "description": f.description,
            "nullable": f.nullable,
        }
        for f in store.fields(name)
    ]
    return Entry("datasets", name, spec.get("description", ""), spec.get("owner"), details, fields)


def entry(store: MetadataStore, kind: str, name: str) -> Entry:
    """Any registered object; datasets get their lake details, others their spec's references."""
    if kind == "datasets":
        return dataset_entry(store, name)
    spec = store.spec(kind, name)
    details = {
        k: v for k, v in spec.items() if k not in ("name", "description", "owner", "sql", "label", "features")
    }
    fields = [
        {"name": f["name"], "type": f.get("type"), "description": f.get("description", "")}
        for f in spec.get("features", [])
    ]
    if kind == "feature_views":
        build = store.features.latest_build(name)
        details["latest_build"] = (
            {"build": build.build, "rows": build.rows, "created_at": build.created_at.isoformat()}
            if build
            else None
        )
    if kind == "models":
        details["versions"] = [
            {"version": v.version, "aliases": v.aliases, "auc": v.metrics.get("validation", {}).get("auc")}
            for v in store.models.versions(name)
        ]
    return Entry(kind, name, spec.get("description", ""), spec.get("owner"), details, fields)


def _location(spec: dict[str, Any], current: Any) -> str | None:
    """Where the data comes from: the source's table, path or endpoint; a produced dataset's lake files."""
    if "identity" in spec or "model" in spec:
        return current.files[0] if current else None
    return spec.get("table") or spec.get("path") or spec.get("endpoint") or "query"


def _observed_hours(versions: list[Any]) -> float | None:
    """Median hours between consecutive versions: how often the data really changes."""
    if len(versions) < 2:
        return None
    gaps = [(b.created_at - a.created_at).total_seconds() / 3600 for a, b in itertools.pairwise(versions)]
    return round(statistics.median(gaps), 2)
