"""Persons from links: connected components with ids that stay put across runs. The links are those
that respect cannot-link evidence (`conflicts.py` refuses the rest first).

Stability: a new cluster takes the id of the previous run's person that holds most of its records (ties:
the oldest id, i.e. the lowest number); each previous id goes to one cluster only, so when a person splits
the larger part keeps the id and the rest get new ones. New ids are minted from a counter carried from run
to run (`P` and 10 digits), never reused. A merge (records of several previous persons now in one) and a
split (one previous person's records now in several) are recorded as events with the links as evidence:
for a merge the links that now join the previous persons, for a split the previous run's links that held
the person together and are gone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

ID_DIGITS = 10


@dataclass
class Assignment:
    """The person id of every record (in the records' order), the counter after minting, and the
    merge/split events."""

    persons: list[str]
    next_id: int
    events: list[dict] = field(default_factory=list)


def component_roots(record_ids: pa.Array, record_a: pa.Array, record_b: pa.Array) -> np.ndarray:
    """For every record, the position of its component's root: the smallest record id in its component
    (a singleton is its own root). Links naming unknown records are ignored."""
    import pyarrow.compute as pc

    a = pc.index_in(record_a, value_set=record_ids)
    b = pc.index_in(record_b, value_set=record_ids)
    known = pc.and_(pc.is_valid(a), pc.is_valid(b))
    a = a.filter(known).to_numpy(zero_copy_only=False).astype(np.int64)
    b = b.filter(known).to_numpy(zero_copy_only=False).astype(np.int64)
    order = pc.sort_indices(record_ids).to_numpy()  # rank by id, so a component's label is its smallest id
    rank = np.empty(len(record_ids), dtype=np.int64)
    rank[order] = np.arange(len(record_ids))
    return order[component_labels(len(record_ids), rank[a], rank[b])[rank]]


def component_labels(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of nodes 0..n-1 with edges (a[i], b[i]): each node's smallest member.

    Vectorized min-label propagation with pointer jumping: each round hooks every edge's larger label onto
    the smaller one, then flattens the label forest; rounds grow with the log of the components' depth."""
    labels = np.arange(n, dtype=np.int64)
    while True:
        la, lb = labels[a], labels[b]
        low, high = np.minimum(la, lb), np.maximum(la, lb)
        moving = low != high
        if not moving.any():
            return labels
        np.minimum.at(labels, high[moving], low[moving])
        while True:  # pointer jumping until every node points at a root
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped


def person_id(number: int) -> str:
    return f"P{number:0{ID_DIGITS}d}"


def assign_ids(
    record_ids: Sequence[str], roots: np.ndarray, previous: Mapping[str, str], next_id: int = 1
) -> Assignment:
    """Stable person ids for components (`roots[i]`: the position of record i's component root, its
    smallest record id), given the previous run's record -> person mapping."""
    roots_found, cluster = np.unique(roots, return_inverse=True)
    root_ids = [record_ids[i] for i in roots_found.tolist()]
    taken: list[str | None] = [None] * len(roots_found)
    members: dict[int, list[str]] = defaultdict(list)
    if previous:
        held: Counter[tuple[int, str]] = Counter()
        for record, c in zip(record_ids, cluster.tolist(), strict=True):
            members[c].append(record)
            if record in previous:
                held[(c, previous[record])] += 1
        # Candidate (cluster, old id) claims, strongest first: most records held, then the oldest id.
        used: set[str] = set()
        for (c, old), _ in sorted(held.items(), key=lambda kv: (-kv[1], kv[0][1], root_ids[kv[0][0]])):
            if taken[c] is None and old not in used:
                taken[c] = old
                used.add(old)
    for c in sorted(range(len(root_ids)), key=root_ids.__getitem__):  # deterministic minting order
        if taken[c] is None:
            taken[c] = person_id(next_id)
            next_id += 1
    persons = [taken[c] for c in cluster.tolist()]
    named = {root_ids[c]: records for c, records in members.items()}
    by_root = {root_ids[c]: t for c, t in enumerate(taken)}
    return Assignment(persons, next_id, _events(named, by_root, previous) if previous else [])  # type: ignore[arg-type]


def _events(members: dict[str, list[str]], taken: dict[str, str], previous: Mapping[str, str]) -> list[dict]:
    """merge: a cluster holding records of two or more previous persons; split: a previous person whose
    records now sit in two or more clusters. Evidence (the links) is attached by the caller."""
    events: list[dict] = []
    spread: dict[str, set[str]] = defaultdict(set)
    for root, records in members.items():
        olds = sorted({previous[r] for r in records if r in previous})
        for old in olds:
            spread[old].add(taken[root])
        if len(olds) > 1:
            events.append(
                {"kind": "merge", "person_id": taken[root], "from_persons": olds, "records": len(records)}
            )
    for old, now in sorted(spread.items()):
        if len(now) > 1:
            events.append({"kind": "split", "person_id": old, "into_persons": sorted(now), "records": None})
    return events


def cross_links(
    links: Iterable[tuple[str, str, str]], previous: Mapping[str, str], limit: int = 20
) -> dict[frozenset[str], list[dict]]:
    """Evidence for merges: links (a, b, why) joining records of different previous persons."""
    found: dict[frozenset[str], list[dict]] = defaultdict(list)
    for a, b, why in links:
        pa_, pb = previous.get(a), previous.get(b)
        if pa_ and pb and pa_ != pb:
            key = frozenset((pa_, pb))
            if len(found[key]) < limit:
                found[key].append({"record_a": a, "record_b": b, "evidence": why})
    return found


def attach_split_evidence(
    events: list[dict],
    previous: Mapping[str, str],
    previous_links: pa.Table,
    crosswalk: pa.Table,
    limit: int = 20,
) -> None:
    """Give each split event the previous run's links (record_a, record_b, rule) between records of the
    split person that no longer share a person: the links that held it together and are gone now. A record
    no longer in any source shows as person None. Also fills in how many records the person had."""
    import pyarrow.compute as pc

    splits = {e["person_id"]: e for e in events if e["kind"] == "split"}
    if not splits:
        return
    members = [record for record, person in previous.items() if person in splits]
    for split in splits.values():
        split["records"] = 0
        split["evidence"] = []
    for record in members:
        splits[previous[record]]["records"] += 1
    now = _persons_of(crosswalk, members)
    near = previous_links.filter(
        pc.is_in(previous_links["record_a"], value_set=pa.array(members, pa.string()))
    )
    for a, b, rule in zip(
        near["record_a"].to_pylist(), near["record_b"].to_pylist(), near["rule"].to_pylist(), strict=True
    ):
        was = previous.get(a)
        event = splits.get(was) if was is not None else None
        if event is None or previous.get(b) != event["person_id"] or now.get(a) == now.get(b):
            continue
        if len(event["evidence"]) < limit:
            event["evidence"].append(
                {"record_a": a, "record_b": b, "evidence": rule, "now": [now.get(a), now.get(b)]}
            )


def _persons_of(crosswalk: pa.Table, records: list[str]) -> dict[str, str]:
    """The current person of each of `records` that is still in the crosswalk."""
    import pyarrow.compute as pc

    found = crosswalk.filter(pc.is_in(crosswalk["record_id"], value_set=pa.array(records, pa.string())))
    return dict(zip(found["record_id"].to_pylist(), found["person_id"].to_pylist(), strict=True))
