"""Persons from links: connected components with ids that stay put across runs.

Stability: a new cluster takes the id of the previous run's person that holds most of its records (ties:
the oldest id, i.e. the lowest number); each previous id goes to one cluster only, so when a person splits
the larger part keeps the id and the rest get new ones. New ids are minted from a counter carried from run
to run (`P` and 10 digits), never reused. A merge (records of several previous persons now in one) and a
split (one previous person's records now in several) are recorded as events with the links as evidence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ID_DIGITS = 10


@dataclass
class Assignment:
    """record_id -> person_id, the counter after minting, and the merge/split events."""

    persons: dict[str, str]
    next_id: int
    events: list[dict] = field(default_factory=list)


def components(records: Iterable[str], links: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Union-find: every record mapped to its component's root (singletons included)."""
    parent: dict[str, str] = {r: r for r in records}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in links:
        if a not in parent or b not in parent:
            continue
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {r: find(r) for r in parent}


def person_id(number: int) -> str:
    return f"P{number:0{ID_DIGITS}d}"


def assign_ids(component: Mapping[str, str], previous: Mapping[str, str], next_id: int = 1) -> Assignment:
    """Stable person ids for components, given the previous run's record -> person mapping."""
    members: dict[str, list[str]] = defaultdict(list)
    for record, root in component.items():
        members[root].append(record)
    # Candidate (cluster, old id) claims, strongest first: most records held, then the oldest id.
    claims = []
    for root, records in members.items():
        for old, held in Counter(previous[r] for r in records if r in previous).items():
            claims.append((-held, old, root))
    claims.sort()
    taken: dict[str, str] = {}  # root -> id
    used: set[str] = set()
    for _, old, root in claims:
        if root not in taken and old not in used:
            taken[root], _ = old, used.add(old)
    for root in sorted(members, key=lambda r: min(members[r])):  # deterministic minting order
        if root not in taken:
            taken[root] = person_id(next_id)
            next_id += 1
    persons = {record: taken[root] for record, root in component.items()}
    return Assignment(persons, next_id, _events(members, taken, previous))


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
