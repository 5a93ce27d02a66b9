"""Which fields of a dataset the lake protects, and how a batch of rows is protected before it is written.

A field with a declared PII class is stored as its token (`storage: token`, the default); with
`storage: encrypted` the token stays in the field, so joins still work, and the clear value is kept
encrypted in a companion column `<field>__encrypted`; `storage: clear` is the explicit opt-out.
A free-text field with `redact: [phone, id_card, ...]` is stored with those spans replaced by their tokens
(govern/redaction.py), every row of it. Fields whose class was only detected (catalog/classify.py) are not
protected until their spec declares it: a column's storage never changes behind the user's back
(docs/pii.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import pyarrow as pa

from zhongtai.govern.encryption import encrypt_array
from zhongtai.govern.keys import PiiKeys
from zhongtai.govern.recognizers import KINDS, TextKind, kinds_of_class
from zhongtai.govern.redaction import redact_array
from zhongtai.govern.tokens import tokenize_array
from zhongtai.meta.records import ColumnInfo
from zhongtai.spec.models import DatasetSpec, FieldSpec

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

ENCRYPTED_SUFFIX = "__encrypted"


@dataclass(frozen=True)
class Protection:
    """One protected field: its PII class and whether its clear value is also kept, encrypted; or, for free
    text (`storage` redacted, `pii` text), the kinds of PII whose spans are replaced by tokens."""

    field: str
    pii: str
    storage: Literal["token", "encrypted", "redacted"]
    redact: tuple[TextKind, ...] = ()


def encrypted_column(field: str) -> str:
    """The companion column holding a field's encrypted clear values."""
    return field + ENCRYPTED_SUFFIX


def is_encrypted_column(name: str) -> bool:
    """Whether a column holds ciphertexts (its values differ at every write: random nonces)."""
    return name.endswith(ENCRYPTED_SUFFIX)


def protections(spec: DatasetSpec) -> list[Protection]:
    """The dataset's protected fields, in spec order."""
    out = []
    for f in spec.fields:
        if f.protection is not None:
            out.append(Protection(f.name, str(f.pii), f.protection))
        elif f.redact:
            out.append(Protection(f.name, "text", "redacted", tuple(k for k in KINDS if k in f.redact)))
    return out


def stored_as(field: FieldSpec) -> str | None:
    """How the lake stores a field as its version's schema records it: token, encrypted,
    `redacted(phone,id_card)` (the kinds are part of it, so changing them is a storage change), or None."""
    if field.protection is not None:
        return field.protection
    if field.redact:
        return f"redacted({','.join(k for k in KINDS if k in field.redact)})"
    return None


def protect_batch(batch: pa.RecordBatch, fields: list[Protection], keys: PiiKeys) -> pa.RecordBatch:
    """The batch with every protected field replaced by its tokens, and encrypted copies where asked."""
    by_name = {p.field: p for p in fields}
    names, arrays = [], []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        protection = by_name.get(name)
        if protection is None:
            names.append(name)
            arrays.append(column)
            continue
        names.append(name)
        if protection.storage == "redacted":
            arrays.append(redact_array(column, protection.redact, keys))
            continue
        arrays.append(tokenize_array(column, protection.pii, keys))
        if protection.storage == "encrypted":
            names.append(encrypted_column(name))
            arrays.append(encrypt_array(column, keys))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def annotate(columns: list[ColumnInfo], spec: DatasetSpec, key_id: str | None) -> list[ColumnInfo]:
    """The version's columns with their storage: token / encrypted / ciphertext / redacted(kinds), or clear
    for a declared class stored as is (key id on the protected ones)."""
    declared = {f.name: f for f in spec.fields if f.pii not in (None, "none") or f.redact}
    encrypted = {encrypted_column(f.name) for f in declared.values() if f.protection == "encrypted"}
    out = []
    for column in columns:
        field = declared.get(column.name)
        storage = stored_as(field) if field is not None else None
        if column.name in encrypted:
            column = replace(column, storage="ciphertext", key_id=key_id)
        elif storage is not None:
            column = replace(column, storage=storage, key_id=key_id)
        elif field is not None:
            column = replace(column, storage="clear")
        out.append(column)
    return out


def storage_notes(store: MetadataStore, datasets: dict[str, DatasetSpec]) -> list[str]:
    """What `zhongtai plan` says about PII storage: fields whose declared storage differs from the current
    version's (the next ingest re-reads them), and fields detected as PII that no spec declares."""
    notes = []
    registered = store.registered("datasets")
    for name, spec in sorted(datasets.items()):
        current = store.current_version(name) if name in registered else None
        if current is None:
            continue
        stored = {c.name: c.storage or "clear" for c in current.schema}
        declared = {f.name for f in spec.fields if f.pii is not None}
        for field in spec.fields:
            wanted = stored_as(field) or "clear"
            if field.name in stored and stored[field.name] != wanted:
                notes.append(
                    f"dataset {name}: field {field.name} is stored {stored[field.name]} in version "
                    f"{current.version}, the spec says {wanted}: the next ingest needs "
                    "--accept-schema-change and re-reads the source in full"
                )
        for info in store.fields(name):
            if (
                info.pii not in (None, "none")
                and info.name not in declared
                and stored.get(info.name) == "clear"
            ):
                notes.append(_undeclared_note(name, info.name, str(info.pii)))
    return notes


def _undeclared_note(dataset: str, field: str, pii: str) -> str:
    kinds = kinds_of_class(pii)
    if kinds:
        listed = ", ".join(kinds)
        return (
            f"dataset {dataset}: field {field} holds {listed} in its text, stored in clear: declare "
            f"`redact: [{listed}]` to store those spans as tokens"
        )
    return (
        f"dataset {dataset}: field {field} looks like {pii} but is stored in clear: "
        f"declare `pii: {pii}` to store tokens, or `pii: none`"
    )
