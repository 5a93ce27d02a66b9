"""The decisions made about one person: the capabilities whose model describes the identity's entity are
called with the person id; those whose input is a source dataset's key (resolved through OneID's crosswalk)
are called with the person's key in that dataset. The log is filtered in SQL (meta/access.py)."""

from __future__ import annotations

from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.store import MetadataStore


def decisions_about(
    store: MetadataStore,
    entity: str,
    person_id: str,
    source_keys: dict[str, list[str]],
    limit: int,
) -> list[DecisionRecord]:
    """The newest decisions about the person (`source_keys`: dataset -> the person's keys in it)."""
    models = store.registered("models")
    asked: dict[str, tuple[str, list[str]]] = {}
    for name, spec in store.registered("capabilities").items():
        dataset = spec.get("input_dataset")
        if dataset is not None:  # called with a source key, not a person id
            if dataset in source_keys:
                asked[name] = (spec["input"], source_keys[dataset])
        elif models.get(spec["model"], {}).get("entity") == entity:
            asked[name] = (spec["input"], [person_id])
    return store.decisions.about(asked, limit)
