"""Identity records: every configured dataset's rows turned into one table of normalized attributes.

A record is one row of a source (the latest row per key when a dataset repeats keys, as the clickstream
does per login): `record_id` is `<dataset>:<key>`. Attributes are normalized once here, so the
deterministic rules, Splink and survivorship all see the same canonical values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.identity.config import OneIDConfig, SourceConfig
from zhongtai.identity.normalize import (
    address_key,
    name_keys,
    normalize_email_array,
    normalize_id_card_array,
    normalize_phone_array,
)

if TYPE_CHECKING:
    import duckdb

RAW = ("name", "phone", "email", "id_card", "national_id", "birth_date", "gender", "member_id")
RAW += ("account_id", "city", "address", "postcode", "street_number", "locality")
# The columns of the records table, in order; every attribute may be null.
COLUMNS = (
    "record_id", "dataset", "key", "trust", "updated_at", "name", "name_han", "name_pinyin",
    "name_sorted", "phone", "email", "id_card", "national_id", "birth_date", "gender", "member_id",
    "account_id", "city", "address_key", "postcode", "street_number", "locality",
)  # fmt: skip
_NOT_DIGIT = re.compile(r"[^0-9]")
_GENDER = {"m": "M", "male": "M", "男": "M", "f": "F", "female": "F", "女": "F"}


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def source_sql(source: SourceConfig) -> str:
    """SQL selecting one source's raw attributes as text, one row per key (the most recent)."""
    cols = [
        f"'{source.dataset}' AS dataset",
        f"CAST({_q(source.key)} AS VARCHAR) AS key",
        f"{source.trust} AS trust",
        f"TRY_CAST({_q(source.updated_at)} AS TIMESTAMP) AS updated_at"
        if source.updated_at
        else "CAST(NULL AS TIMESTAMP) AS updated_at",
    ]
    for attr in RAW:
        column = source.fields.get(attr)  # type: ignore[call-overload]
        if column is None:
            cols.append(f"CAST(NULL AS VARCHAR) AS {attr}")
        elif isinstance(column, list):  # [surname, given]: "Smith, John" keeps the order explicit
            parts = ", ".join(f"NULLIF(TRIM(CAST({_q(c)} AS VARCHAR)), '')" for c in column)
            cols.append(f"NULLIF(concat_ws(', ', {parts}), '') AS {attr}")
        else:
            cols.append(f"NULLIF(TRIM(CAST({_q(column)} AS VARCHAR)), '') AS {attr}")
    where = f"WHERE {_q(source.key)} IS NOT NULL" + (f" AND ({source.filter})" if source.filter else "")
    return (
        f"SELECT {', '.join(cols)} FROM {_q(source.dataset)} {where} "
        f"QUALIFY row_number() OVER (PARTITION BY {_q(source.key)} ORDER BY updated_at DESC NULLS LAST) = 1"
    )


def read_raw(con: duckdb.DuckDBPyConnection, config: OneIDConfig) -> pa.Table:
    """The raw attributes of every configured source (each dataset a table or view on `con`)."""
    sql = " UNION ALL ".join(f"({source_sql(s)})" for s in config.sources)
    return con.sql(f"SELECT * FROM ({sql}) ORDER BY dataset, key").to_arrow_table()


def build_records(raw: pa.Table) -> pa.Table:
    """Normalize raw attributes into the records table (COLUMNS)."""
    out: dict[str, pa.Array] = {
        "record_id": pc.binary_join_element_wise(raw["dataset"], raw["key"], ":"),
        "dataset": raw["dataset"],
        "key": raw["key"],
        "trust": raw["trust"],
        "updated_at": raw["updated_at"],
        "name": raw["name"],
    }
    out.update(_name_columns(raw["name"]))
    out["phone"] = normalize_phone_array(raw["phone"])
    out["email"] = normalize_email_array(raw["email"])
    out["id_card"] = normalize_id_card_array(raw["id_card"])
    out["national_id"] = _map(raw["national_id"], lambda v: _NOT_DIGIT.sub("", v) or None)
    born = _map(raw["birth_date"], _birth_date)
    from_card = pc.utf8_slice_codeunits(out["id_card"], 6, 14)  # the birth date inside a valid ID number
    out["birth_date"] = pc.coalesce(born, from_card)
    sex_digit = pc.utf8_slice_codeunits(out["id_card"], 16, 17)
    card_sex = _map(sex_digit, lambda d: "M" if int(d) % 2 else "F")
    out["gender"] = pc.coalesce(_map(raw["gender"], lambda v: _GENDER.get(v.strip().lower())), card_sex)
    out["member_id"] = _map(raw["member_id"], str.strip)
    out["account_id"] = _map(raw["account_id"], str.strip)
    keys = _address_columns(raw["address"], raw["city"])
    out.update(keys)
    out["postcode"] = _map(raw["postcode"], lambda v: v.replace(" ", "") or None)
    out["street_number"] = _map(raw["street_number"], lambda v: v.strip().lower() or None)
    out["locality"] = pc.coalesce(
        _map(raw["locality"], lambda v: v.strip().lower() or None), keys["locality"]
    )
    return pa.table({c: out[c] for c in COLUMNS})


def _map(values: pa.Array | pa.ChunkedArray, fn) -> pa.Array:
    """Apply a scalar normalizer once per distinct non-null value."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = (
            encoded.combine_chunks()
            if encoded.num_chunks
            else pa.array([], pa.dictionary(pa.int32(), pa.string()))
        )
    mapped = pa.array([None if v is None else fn(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return pc.take(mapped, encoded.indices)


def _name_columns(names: pa.Array | pa.ChunkedArray) -> dict[str, pa.Array]:
    """name_han, name_pinyin (surname first) and name_sorted (syllables sorted: order-free) per name."""
    encoded = pc.dictionary_encode(names)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    keys = [name_keys(v) for v in encoded.dictionary.to_pylist()]
    # A title-only name (王女士, Ms. Smith) names a surname, not a person: keep it out of the name keys.
    usable = [k if k is not None and k.title is None else None for k in keys]
    cols = {
        "name_han": [k.han if k else None for k in usable],
        "name_pinyin": [k.pinyin or None if k else None for k in usable],
        "name_sorted": [k.sorted_key or None if k else None for k in usable],
    }
    return {c: pc.take(pa.array(v, pa.string()), encoded.indices) for c, v in cols.items()}


def _address_columns(addresses: pa.Array | pa.ChunkedArray, cities: pa.Array | pa.ChunkedArray) -> dict:
    """city (given, else read from the address), address_key (the street part) and locality (district)."""
    encoded = pc.dictionary_encode(addresses)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    keys = [address_key(v) for v in encoded.dictionary.to_pylist()]
    rest = pa.array([k.rest.lower() or None if k else None for k in keys], pa.string())
    city = pa.array([k.city if k else None for k in keys], pa.string())
    district = pa.array([(k.district_latin or k.district) if k else None for k in keys], pa.string())
    given_city = _map(cities, lambda v: (address_key(v).city if address_key(v) else None) or v)
    return {
        "city": pc.coalesce(given_city, pc.take(city, encoded.indices)),
        "address_key": pc.take(rest, encoded.indices),
        "locality": pc.take(district, encoded.indices),
    }


def _birth_date(value: str) -> str | None:
    """YYYYMMDD from `1976-11-04`, `19761104` or `1976-11-04 00:00:00`; typos kept (compared fuzzily)."""
    digits = _NOT_DIGIT.sub("", value[:10])
    return digits if len(digits) == 8 else None
