"""Classify a dataset's fields as PII after an ingest: a sample of each text column through the detectors.

A class declared in the spec always wins (`pii: none` says a field is not personal data); detection fills in
the fields the spec is silent about, so a new column holding phone numbers is known as such at once.
A text field that is no PII class as a whole is scanned for PII written inside it (govern/recognizers.py);
the kinds found are recorded as its class, `text:phone,id_card`, never a matched value.

This is a sample (SAMPLE_ROWS rows of the new version): it runs after every ingest and only advises, so it
must stay cheap on big tables; a kind that occurs at all in a text column shows up in a sample of a thousand
rows unless it is rarer than about one row in a few hundred. What protects the data is not this sample but
a declaration (`pii:` or `redact:`), which the ingest applies to every row. Detection never changes how a
field is stored (docs/pii.md), so `zhongtai ingest` warns about detected fields the spec has not declared.
"""

from __future__ import annotations

from dataclasses import replace

from zhongtai.catalog.pii import PiiGuess, detect_pii, scan_text
from zhongtai.govern.recognizers import KINDS, in_text_class
from zhongtai.govern.redaction import redacted_kinds
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
    guesses: dict[str, PiiGuess] = {}
    classes: dict[str, str | None] = {}
    for name in text_fields:
        values = sample.column(name).to_pylist()
        guess = detect_pii(name, values)
        classes[name] = guess.pii_class
        if guess.pii_class is None:
            # Kinds still in clear (to warn about), and those the lake holds as tokens (a landline's is a
            # phone's): together what the text holds.
            guess = replace(guess, in_text=scan_text(values))
            found = set(guess.in_text).union(*(redacted_kinds(v) for v in values if v))
            classes[name] = in_text_class(k for k in KINDS if k in found)
        guesses[name] = guess
    store.set_detected_pii(dataset, classes)
    return guesses


def undeclared_pii(guesses: dict[str, PiiGuess]) -> list[str]:
    """Warnings for fields detected as PII that the spec does not declare, so the lake holds them in clear."""
    warnings = []
    for name, guess in guesses.items():
        if guess.pii_class is not None:
            warnings.append(
                f"field '{name}' looks like {guess.pii_class} ({guess.evidence}) but is stored in clear: "
                f"declare `pii: {guess.pii_class}` in its spec to store tokens (the next ingest asks for "
                "--accept-schema-change and re-reads it all), or `pii: none` if it is not personal data"
            )
        elif guess.in_text:
            kinds = ", ".join(guess.in_text)
            warnings.append(
                f"field '{name}' holds {kinds} in its text, stored in clear: declare `redact: [{kinds}]` "
                "(with any kinds it already redacts) to store those spans as tokens (the next ingest asks "
                "for --accept-schema-change and re-reads it all)"
            )
    return warnings
