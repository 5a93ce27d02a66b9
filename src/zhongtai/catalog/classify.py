"""Classify a dataset's fields as PII after an ingest: a sample of each text column through the detectors.

A class declared in the spec always wins (`pii: none` says a field is not personal data); detection fills in
the fields the spec is silent about, so a new column holding phone numbers is known as such at once.
Detection never changes how a field is stored: only a declared class makes the lake store tokens
(docs/pii.md), so `zhongtai ingest` warns about detected fields the spec has not declared yet.
"""

from __future__ import annotations

from zhongtai.catalog.pii import PiiGuess, detect_pii
from zhongtai.lake import engine
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore

SAMPLE_ROWS = 1_000


def classify_fields(store: MetadataStore, storage: LakeStorage, dataset: str) -> dict[str, PiiGuess]:
    """Detect the PII class of every undeclared text field of the current version and record it."""
    current = store.current_version(dataset)
    if current is None:
        return {}
    spec, _ = store.dataset_spec(dataset)
    declared = {f["name"] for f in spec.get("fields", []) if f.get("pii") is not None}
    text_fields = [c.name for c in current.schema if c.type == "string" and c.name not in declared]
    if not text_fields:
        return {}
    con = engine.connect(storage)
    try:
        columns = ", ".join(engine.quote(name) for name in text_fields)
        sample = con.sql(
            f"SELECT {columns} FROM {engine.scan(storage, current.files)} USING SAMPLE {SAMPLE_ROWS} ROWS"
        ).to_arrow_table()
    finally:
        con.close()
    guesses = {name: detect_pii(name, sample.column(name).to_pylist()) for name in text_fields}
    store.set_detected_pii(dataset, {name: guess.pii_class for name, guess in guesses.items()})
    return guesses


def undeclared_pii(guesses: dict[str, PiiGuess]) -> list[str]:
    """Warnings for fields detected as PII that the spec does not declare, so the lake holds them in clear."""
    return [
        f"field '{name}' looks like {guess.pii_class} ({guess.evidence}) but is stored in clear: declare "
        f"`pii: {guess.pii_class}` in its spec to store tokens (the next ingest asks for "
        "--accept-schema-change and re-reads it all), or `pii: none` if it is not personal data"
        for name, guess in guesses.items()
        if guess.pii_class is not None
    ]
