"""OneID's inputs from the lake, with PII as the lake stores it (docs/pii.md).

Deterministic keys join on tokens: an attribute stored as a token-only column in any source (`phone`,
`email`, `id_card`, and any id) is compared as tokens everywhere, so the clear or encrypted columns of other
sources mapped to it are tokenized here the same way the lake does it (HMAC over the canonical form).
An encrypted column of a joinable attribute joins on the token its field keeps; it is never decrypted.
Names, addresses and the other fuzzily compared attributes need the clear text: their columns must be
clear or `storage: encrypted`, and encrypted ones are decrypted in memory only (OneID holds the key);
a token-only column there is an error that says which field to declare encrypted.

What OneID derives from decrypted values (name keys, street keys) is sealed again before the run is
written to the lake (`Inputs.seal`): the records, golden records and link evidence hold it encrypted, and
`explain` opens it in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.config import Settings
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.encryption import decrypt_array, encrypt_array
from zhongtai.govern.keys import PiiKeys, load_keys
from zhongtai.govern.protection import encrypted_column
from zhongtai.govern.tokens import tokenize_array
from zhongtai.identity.config import OneIDConfig, SourceConfig
from zhongtai.meta.records import ColumnInfo

if TYPE_CHECKING:
    from zhongtai.identity.resolve import Resolution
    from zhongtai.lake.offline import ResolutionEngine
    from zhongtai.meta.store import MetadataStore

# Attributes compared only for equality: a token carries all OneID needs of them.
JOINABLE = ("phone", "email", "id_card", "national_id", "member_id", "account_id")
# The output columns derived from an attribute that was decrypted to be compared.
DERIVED = {"name": ("name", "name_han", "name_pinyin", "name_sorted"), "address": ("address_key",)}


@dataclass(frozen=True)
class SourcePlan:
    """What to do to one source's columns before OneID reads them: decrypt or tokenize (with a class)."""

    decrypt: tuple[str, ...] = ()
    tokenize: dict[str, str] = field(default_factory=dict)  # column -> PII class

    @property
    def needed(self) -> bool:
        return bool(self.decrypt or self.tokenize)


def _columns(source: SourceConfig) -> list[tuple[str, str]]:
    """(attribute, column) pairs of a source; a [surname, given] name gives two."""
    pairs: list[tuple[str, str]] = []
    for attribute, column in source.fields.items():
        for name in column if isinstance(column, list) else [column]:
            pairs.append((attribute, name))
    return pairs


def plan_inputs(
    config: OneIDConfig, schemas: Mapping[str, list[ColumnInfo]], classes: Mapping[str, Mapping[str, str]]
) -> dict[str, SourcePlan]:
    """Per dataset, the columns to decrypt and to tokenize. `schemas` are the versions' columns (with
    storage), `classes` each dataset's declared PII class per field."""
    storage = {d: {c.name: c.storage or "clear" for c in cols} for d, cols in schemas.items()}
    tokenized: dict[str, str] = {}  # attribute -> class of the tokens it is compared as
    for source in config.sources:
        for attribute, column in _columns(source):
            kind = storage[source.dataset].get(column, "clear")
            if kind == "token" and attribute not in JOINABLE:
                raise ZhongtaiError(
                    "invalid_spec",
                    f"OneID compares {attribute} fuzzily, but {source.dataset}.{column} is stored as "
                    "tokens only",
                    f"declare `storage: encrypted` on field {column} of dataset {source.dataset}, so OneID "
                    "can decrypt it in memory",
                )
            # An encrypted joinable column keeps its token in the field itself: join on that, so the clear
            # value is never decrypted into records or golden records.
            if kind == "token" or (kind == "encrypted" and attribute in JOINABLE):
                tokenized.setdefault(attribute, classes[source.dataset].get(column, attribute))
    plans = {}
    for source in config.sources:
        decrypt, tokenize = [], {}
        for attribute, column in _columns(source):
            kind = storage[source.dataset].get(column, "clear")
            if attribute in tokenized and kind == "clear":
                tokenize[column] = tokenized[attribute]
            elif attribute not in tokenized and kind == "encrypted":
                decrypt.append(column)
        plans[source.dataset] = SourcePlan(tuple(decrypt), tokenize)
    return plans


def check_key(dataset: str, columns: list[ColumnInfo], used: set[str], keys: PiiKeys) -> None:
    """A protected column written under another PII key cannot join: say so rather than link nothing."""
    for column in columns:
        if column.name in used and column.key_id is not None and column.key_id != keys.key_id:
            raise ZhongtaiError(
                "pii_key_mismatch",
                f"{dataset}.{column.name} was protected under PII key {column.key_id}; the key in use is "
                f"{keys.key_id}, so its tokens would match nothing",
                f"re-ingest it under the current key: `zhongtai ingest {dataset} --full "
                "--accept-schema-change` (docs/pii.md, rotation)",
            )


def prepare(table: pa.Table, plan: SourcePlan, keys: PiiKeys) -> pa.Table:
    """The source's rows with encrypted columns decrypted and clear ones tokenized, as planned."""
    for column in plan.decrypt:
        clear = decrypt_array(table[encrypted_column(column)], keys)
        table = table.set_column(table.schema.get_field_index(column), column, clear)
    for column, pii in plan.tokenize.items():
        tokens = tokenize_array(table[column], pii, keys)
        table = table.set_column(table.schema.get_field_index(column), column, tokens)
    return table


def used_columns(source: SourceConfig) -> set[str]:
    """The columns OneID reads from a source as identity attributes."""
    return {column for _, column in _columns(source)}


@dataclass(frozen=True)
class Inputs:
    """What `register_sources` read: the versions, and what to seal in the outputs under which keys."""

    versions: dict[str, int]
    sealed: tuple[str, ...] = ()  # output columns derived from decrypted values
    keys: PiiKeys | None = None

    def seal(self, result: Resolution) -> Resolution:
        """The resolution with the derived clear values encrypted (link evidence too, which quotes names)."""
        if not self.sealed or self.keys is None:
            return result
        keys = self.keys
        return replace(
            result,
            records=_encrypt_columns(result.records, self.sealed, keys),
            persons=_encrypt_columns(result.persons, self.sealed, keys),
            links=_encrypt_columns(result.links, ("value",), keys),
        )


def sealed_columns(config: OneIDConfig, plans: Mapping[str, SourcePlan]) -> tuple[str, ...]:
    """The output columns to seal: those derived from an attribute some source had to decrypt."""
    decrypted = {
        attribute
        for source in config.sources
        for attribute, column in _columns(source)
        if column in plans[source.dataset].decrypt
    }
    return tuple(c for attribute, columns in DERIVED.items() if attribute in decrypted for c in columns)


def open_sealed(table: pa.Table, keys_source: Callable[[], PiiKeys]) -> pa.Table:
    """A written output with its sealed columns decrypted (keys asked for only when there are some)."""
    sealed = [
        name
        for name in table.column_names
        if pa.types.is_string(table.schema.field(name).type)
        and pc.any(pc.starts_with(table[name], "enc:")).as_py()
    ]
    if not sealed:
        return table
    keys = keys_source()
    for name in sealed:
        table = table.set_column(table.schema.get_field_index(name), name, decrypt_array(table[name], keys))
    return table


def _encrypt_columns(table: pa.Table, columns: tuple[str, ...], keys: PiiKeys) -> pa.Table:
    for name in columns:
        if name in table.column_names:
            table = table.set_column(
                table.schema.get_field_index(name), name, encrypt_array(table[name], keys)
            )
    return table


def register_sources(
    engine: ResolutionEngine, store: MetadataStore, config: OneIDConfig, keys: PiiKeys | None = None
) -> Inputs:
    """Each configured dataset's current version as a table on the offline engine, prepared as planned.
    Keys are loaded (ZT_PII_KEY or ZT_HOME/pii.key) only when a protected column is used. Preparing runs
    where the engine runs Arrow functions: in process on DuckDB, on the executors on Spark (the keys travel
    with the task, as any function's data does: docs/oneid.md)."""
    from zhongtai.lake.engine import quote
    from zhongtai.lake.reader import resolve_version

    found = {s.dataset: resolve_version(store, s.dataset) for s in config.sources}
    classes = {d: _declared_classes(store, d) for d in found}
    plans = plan_inputs(config, {d: v.schema for d, v in found.items()}, classes)
    for source in config.sources:
        version, plan = found[source.dataset], plans[source.dataset]
        protected = any(c.key_id for c in version.schema if c.name in used_columns(source))
        if plan.needed or protected:
            keys = keys or load_keys(Settings.from_env().home)
            check_key(source.dataset, version.schema, used_columns(source), keys)
        if not plan.needed:
            engine.register(source.dataset, version.files)
            continue
        stored = f"oneid_stored_{source.dataset}"
        engine.register(stored, version.files)
        schema = engine.to_arrow(f"SELECT * FROM {quote(stored)} LIMIT 0").schema
        prepared = pa.schema(
            [f.with_type(pa.string()) if f.name in (*plan.decrypt, *plan.tokenize) else f for f in schema]
        )
        prepare_rows = partial(prepare, plan=plan, keys=keys or load_keys(Settings.from_env().home))
        engine.map_arrow(source.dataset, f"SELECT * FROM {quote(stored)}", prepare_rows, prepared)
    return Inputs({d: v.version for d, v in found.items()}, sealed_columns(config, plans), keys)


def _declared_classes(store: MetadataStore, dataset: str) -> dict[str, str]:
    spec, _ = store.dataset_spec(dataset)
    return {f["name"]: f["pii"] for f in spec.get("fields", []) if f.get("pii") not in (None, "none")}
