"""Identity records: every configured dataset's rows turned into one table of normalized attributes.

A record is one row of a source (the latest row per key when a dataset repeats keys, as the clickstream
does per login): `record_id` is `<dataset>:<key>`. Attributes are normalized once here, so the
deterministic rules, Splink and survivorship all see the same canonical values.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.govern.tokens import CANONICAL_TOKEN, token_mask
from zhongtai.identity.config import OneIDConfig, SourceConfig
from zhongtai.identity.normalize import (
    address_key,
    name_keys,
    normalize_email_array,
    normalize_id_card_array,
    normalize_phone_array,
)
from zhongtai.identity.normalize.text import as_string_array

RAW: tuple[str, ...] = ("name", "phone", "email", "id_card", "national_id", "birth_date", "gender")
RAW += ("member_id", "account_id", "city", "address", "postcode", "street_number", "locality")
# The columns of the records table, in order; every attribute may be null.
COLUMNS = (
    "record_id", "dataset", "key", "trust", "updated_at", "name", "name_han", "name_pinyin",
    "name_sorted", "phone", "email", "id_card", "national_id", "birth_date", "gender", "member_id",
    "account_id", "city", "address_key", "postcode", "street_number", "locality",
)  # fmt: skip
# The records table as Arrow types (what `build_records` returns, and what a distributed engine is told).
SCHEMA = pa.schema(
    [(c, pa.string()) for c in COLUMNS[:3]]
    + [("trust", pa.int32()), ("updated_at", pa.timestamp("us"))]
    + [(c, pa.string()) for c in COLUMNS[5:]]
)
_NOT_DIGIT = re.compile(r"[^0-9]")
PARALLEL_FROM = 50_000  # distinct names and addresses from which normalizing is split across processes
_GENDER = {"m": "M", "male": "M", "男": "M", "f": "F", "female": "F", "女": "F"}


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def source_sql(source: SourceConfig) -> str:
    """SQL selecting one source's raw attributes as text, one row per key (the most recent)."""
    updated = (
        f"TRY_CAST({_q(source.updated_at)} AS TIMESTAMP)" if source.updated_at else "CAST(NULL AS TIMESTAMP)"
    )
    cols = [
        f"'{source.dataset}' AS dataset",
        f"CAST({_q(source.key)} AS VARCHAR) AS key",
        f"{source.trust} AS trust",
        f"{updated} AS updated_at",
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
        # The expression, not its alias: engines that rewrite QUALIFY as a subquery cannot see the alias.
        f"QUALIFY row_number() OVER (PARTITION BY {_q(source.key)} ORDER BY {updated} DESC NULLS LAST) = 1"
    )


def raw_sql(config: OneIDConfig) -> str:
    """SQL of the raw attributes of every configured source (each dataset a table on the engine)."""
    sql = " UNION ALL ".join(f"({source_sql(s)})" for s in config.sources)
    return f"SELECT * FROM ({sql}) AS raw ORDER BY dataset, key"


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
    keys = distinct_keys({"name": raw["name"], "address": raw["address"]})
    out.update(_name_columns(raw["name"], keys["name"]))
    out["phone"] = keeping_tokens(raw["phone"], normalize_phone_array)
    out["email"] = keeping_tokens(raw["email"], normalize_email_array)
    out["id_card"] = keeping_tokens(raw["id_card"], normalize_id_card_array)
    out["national_id"] = keeping_tokens(raw["national_id"], lambda a: _map(a, _digits))
    born = _map(raw["birth_date"], _birth_date)
    card = pc.if_else(
        token_mask(out["id_card"]).fill_null(False), pa.scalar(None, pa.string()), out["id_card"]
    )
    from_card = pc.utf8_slice_codeunits(card, 6, 14)  # the birth date inside a valid ID number in clear
    out["birth_date"] = pc.coalesce(born, from_card)
    sex_digit = pc.utf8_slice_codeunits(card, 16, 17)
    card_sex = _map(sex_digit, lambda d: "M" if int(d) % 2 else "F")
    out["gender"] = pc.coalesce(_map(raw["gender"], lambda v: _GENDER.get(v.strip().lower())), card_sex)
    out["member_id"] = keeping_tokens(raw["member_id"], lambda a: _map(a, str.strip))
    out["account_id"] = keeping_tokens(raw["account_id"], lambda a: _map(a, str.strip))
    places = _address_columns(raw["address"], raw["city"], keys["address"])
    out.update(places)
    out["postcode"] = _map(raw["postcode"], lambda v: v.replace(" ", "") or None)
    out["street_number"] = _map(raw["street_number"], lambda v: v.strip().lower() or None)
    out["locality"] = pc.coalesce(
        _map(raw["locality"], lambda v: v.strip().lower() or None), places["locality"]
    )
    return pa.table({c: out[c] for c in COLUMNS})


def keeping_tokens(values: pa.Array | pa.ChunkedArray, normalize: Callable[..., pa.Array]) -> pa.Array:
    """Normalize a column that may hold PII tokens (docs/pii.md): a canonical token is already the key it
    stands for and passes as it is; a `<class>?:` token (the value did not parse at ingest) is null, as
    the unparsable clear value would be; everything else is normalized."""
    values = as_string_array(values)
    tokens = token_mask(values).fill_null(False)
    if not pc.any(tokens).as_py():
        return normalize(values)
    canonical = pc.match_substring_regex(values, CANONICAL_TOKEN).fill_null(False)
    normalized = normalize(pc.if_else(tokens, pa.scalar(None, pa.string()), values))
    return pc.if_else(canonical, values, normalized)


def _map(values: pa.Array | pa.ChunkedArray, fn) -> pa.Array:
    """Apply a scalar normalizer once per distinct non-null value."""
    encoded = _dictionary(values)
    mapped = pa.array([None if v is None else fn(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return pc.take(mapped, encoded.indices)


def _name_columns(names: pa.Array | pa.ChunkedArray, keys: list[tuple | None]) -> dict[str, pa.Array]:
    """name_han, name_pinyin (surname first) and name_sorted (syllables sorted: order-free) per name, from
    the keys of the names' distinct values (`name_row`, in dictionary order)."""
    indices = _dictionary(names).indices
    cols = {
        c: [k[i] if k else None for k in keys]
        for i, c in enumerate(("name_han", "name_pinyin", "name_sorted"))
    }
    return {c: pc.take(pa.array(v, pa.string()), indices) for c, v in cols.items()}


def name_row(value: str) -> tuple[str | None, str | None, str | None] | None:
    """(han, pinyin, sorted syllables) of a name; None for no name or a title-only one (王女士, Ms. Smith
    name a surname, not a person)."""
    k = name_keys(value)
    if k is None or k.title is not None:
        return None
    return (k.han, k.pinyin or None, k.sorted_key or None)


def address_row(value: str) -> tuple[str | None, str | None, str | None] | None:
    """(rest of the street address, city, district) of an address."""
    k = address_key(value)
    return None if k is None else (k.rest.lower() or None, k.city, k.district_latin or k.district)


def _address_columns(
    addresses: pa.Array | pa.ChunkedArray, cities: pa.Array | pa.ChunkedArray, keys: list[tuple | None]
) -> dict:
    """city (given, else read from the address), address_key (the street part) and locality (district)."""
    indices = _dictionary(addresses).indices
    rest, city, district = ([k[i] if k else None for k in keys] for i in range(3))
    given_city = _map(cities, lambda v: _city_of(v) or v)
    return {
        "city": pc.coalesce(given_city, pc.take(pa.array(city, pa.string()), indices)),
        "address_key": pc.take(pa.array(rest, pa.string()), indices),
        "locality": pc.take(pa.array(district, pa.string()), indices),
    }


def _city_of(value: str) -> str | None:
    """The city an address names, if it names one."""
    key = address_key(value)
    return key.city if key is not None else None


def _dictionary(values: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = (
            encoded.combine_chunks()
            if encoded.num_chunks
            else pa.array([], pa.dictionary(pa.int32(), pa.string()))
        )
    return encoded


def _rows(job: tuple[str, list[str | None]]) -> list[tuple | None]:
    fn = {"name": name_row, "address": address_row}[job[0]]
    return [None if v is None else fn(v) for v in job[1]]


def distinct_keys(jobs: dict[str, pa.Array | pa.ChunkedArray], workers: int = 2) -> dict[str, list]:
    """The keys of every distinct value of each column ({"name": names, "address": addresses}), in the
    columns' dictionary order. Pinyin is the costly part (~0.2 ms a value), so large inputs are split
    across `workers` forked processes (they only read the values); small ones stay in this process."""
    values = {kind: _dictionary(column).dictionary.to_pylist() for kind, column in jobs.items()}
    total = sum(len(v) for v in values.values())
    if workers < 2 or total < PARALLEL_FROM:
        return {kind: _rows((kind, v)) for kind, v in values.items()}
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = -(-total // (workers * 4))
    chunks = [(kind, v[i : i + size]) for kind, v in values.items() for i in range(0, len(v), size)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        done = list(pool.map(_rows, chunks))
    found: dict[str, list] = {kind: [] for kind in values}
    for (kind, _), rows in zip(chunks, done, strict=True):
        found[kind].extend(rows)
    return found


def _digits(value: str) -> str | None:
    return _NOT_DIGIT.sub("", value) or None


def _birth_date(value: str) -> str | None:
    """YYYYMMDD from `1976-11-04`, `19761104` or `1976-11-04 00:00:00`; typos kept (compared fuzzily)."""
    digits = _NOT_DIGIT.sub("", value[:10])
    return digits if len(digits) == 8 else None
