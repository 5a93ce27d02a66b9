"""Resolution in one process, storage-free: records in, persons, crosswalk, links and events out.

`run.py` wraps this with the lake (reading datasets, writing the run, keeping the previous mapping);
the benchmark and the tests call it directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from zhongtai.identity.clusters import assign_ids, components, cross_links
from zhongtai.identity.config import OneIDConfig
from zhongtai.identity.deterministic import deterministic_links
from zhongtai.identity.golden import golden_records
from zhongtai.identity.probabilistic import train_and_predict
from zhongtai.identity.records import build_records, read_raw

if TYPE_CHECKING:
    import duckdb

Progress = Callable[[str], None]


@dataclass
class Resolution:
    """Everything one resolution produced."""

    records: pa.Table
    crosswalk: pa.Table  # person_id, record_id, dataset, key
    persons: pa.Table  # golden records
    links: pa.Table  # record_a, record_b, rule, match_probability, match_weight
    events: list[dict]
    model: dict[str, Any]
    next_id: int
    stats: dict[str, Any] = field(default_factory=dict)


def resolve(
    con: duckdb.DuckDBPyConnection,
    config: OneIDConfig,
    previous: Mapping[str, str] | None = None,
    next_id: int = 1,
    on_progress: Progress | None = None,
) -> Resolution:
    """Resolve the configured datasets (tables or views on `con`) into persons."""
    say = on_progress or (lambda _: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    say("normalizing records")
    records = build_records(read_raw(con, config))
    con.register("oneid_records_arrow", records)
    con.execute("CREATE OR REPLACE TEMP TABLE oneid_records AS SELECT * FROM oneid_records_arrow")
    con.unregister("oneid_records_arrow")
    seconds["records"] = time.perf_counter() - started
    say("deterministic links")
    exact = deterministic_links(con, "oneid_records", config.family_phone_names)
    seconds["deterministic"] = time.perf_counter() - started - sum(seconds.values())
    say("probabilistic matching (Splink)")
    match = train_and_predict(con, "oneid_records", config.match_threshold, config.max_pairs_u, config.seed)
    seconds["probabilistic"] = time.perf_counter() - started - sum(seconds.values())
    say("clustering")
    links = _all_links(exact, match.links)
    ends = zip(links["record_a"].to_pylist(), links["record_b"].to_pylist(), strict=True)
    assignment = assign_ids(components(records["record_id"].to_pylist(), ends), previous or {}, next_id)
    _attach_evidence(assignment.events, links, previous or {})
    crosswalk = _crosswalk(records, assignment.persons)
    con.register("oneid_crosswalk", crosswalk)
    persons = golden_records(con, "oneid_records", "oneid_crosswalk")
    con.unregister("oneid_crosswalk")
    seconds["clusters"] = time.perf_counter() - started - sum(seconds.values())
    stats = {
        "records": records.num_rows,
        "persons": persons.num_rows,
        "deterministic_links": exact.num_rows,
        "probabilistic_pairs": match.candidate_pairs,
        "profiles": match.profiles,
        "events": len(assignment.events),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }
    return Resolution(
        records, crosswalk, persons, links, assignment.events, match.model, assignment.next_id, stats
    )


def _all_links(exact: pa.Table, probable: pa.Table) -> pa.Table:
    """Deterministic and probabilistic links in one table (rule 'splink' or 'same_profile')."""
    n = exact.num_rows
    rule = pa.array(
        ["splink" if w is not None else "same_profile" for w in probable["match_weight"].to_pylist()]
    )
    return pa.table(
        {
            "record_a": pa.concat_arrays(
                [exact["record_a"].combine_chunks(), probable["record_a"].combine_chunks()]
            ),
            "record_b": pa.concat_arrays(
                [exact["record_b"].combine_chunks(), probable["record_b"].combine_chunks()]
            ),
            "rule": pa.concat_arrays([exact["rule"].combine_chunks().cast(pa.string()), rule]),
            "match_probability": pa.concat_arrays(
                [pa.nulls(n, pa.float64()), probable["match_probability"].combine_chunks().cast(pa.float64())]
            ),
        }
    )


def _attach_evidence(events: list[dict], links: pa.Table, previous: Mapping[str, str]) -> None:
    """Give each merge event the links that joined its previous persons."""
    if not previous or not events:
        return
    triples = zip(
        links["record_a"].to_pylist(), links["record_b"].to_pylist(), links["rule"].to_pylist(), strict=True
    )
    found = cross_links(triples, previous)
    for event in events:
        if event["kind"] == "merge":
            olds = set(event["from_persons"])
            event["evidence"] = [e for key, items in found.items() if key <= olds for e in items]


def _crosswalk(records: pa.Table, persons: Mapping[str, str]) -> pa.Table:
    ids = records["record_id"].to_pylist()
    return pa.table(
        {
            "person_id": pa.array([persons[r] for r in ids], pa.string()),
            "record_id": records["record_id"],
            "dataset": records["dataset"],
            "key": records["key"],
        }
    )
