"""Cannot-link evidence, and clustering that respects it: links are unioned strongest first, and a union
that would put two records that cannot be one person in one cluster is refused.

Two records conflict when both are written in characters as two names (not equal, not one given-name
character apart: a typo) and they disagree on a strong personal key both carry: the birth date, the
resident ID number (`id_card`) or a national id. 蒋伟 born 1980-01-01 and 姜伟 born 1982-03-04 are two
people, whatever records bridge them. A *weak* link (Splink's, an identical profile's, a lone phone's or
e-mail's) with an end that carries no name in characters (a romanized `Jiang Wei` that reads as both
spouses, a nameless order with the family phone) does not join two clusters holding two names either,
strong keys or not: such a record says nothing about which of them it is. Exact keys (a resident ID, a
loyalty card, an account) and a phone or e-mail with the name are the person's own, so they join two
names (a surname typo on the person's own card) unless strong keys conflict. Pairwise scores cannot see
any of this (each bridging link is a good link on its own); the transitive closure can.

The union runs in a fixed order, so persons are deterministic and independent of the PII key (record ids
and match weights only): identical named profiles first, then the exact keys (resident ID, loyalty card,
account), a phone or e-mail with the name, Splink's links by descending match weight, and last the lone
phone or e-mail rule (which gives nameless records to the one name on a key) with identical nameless
profiles (a shared phone, no more). Ties go by record ids. A refused link's records stay in the cluster
their stronger links reached first. Only the components of the plain closure that hold two names in
characters are re-clustered; the others keep every link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

STRONG_KEYS = ("birth_date", "id_card", "national_id")  # keys one person does not hold two of
# Links that may bridge two people when an end carries no name in characters: a romanized name reads as
# many, and a nameless record sharing a phone is anybody's in the household. Exact keys (a card, an
# account) and a key with the name are the person's own, whatever the names say.
WEAK_RULES = frozenset({"same_profile", "splink", "phone", "email"})
RULE_ORDER = {
    "same_profile": 0,
    "id_card": 1,
    "member_id": 2,
    "account_id": 3,
    "phone+name": 4,
    "email+name": 4,
    "splink": 5,
    "phone": 6,
    "email": 6,
}


@dataclass(frozen=True)
class Signature:
    """What a record says about who it is, as far as conflicts go: its name in characters and its strong
    personal keys (any may be None)."""

    name: str
    keys: tuple[str | None, ...]


def two_names(a: str, b: str) -> bool:
    """Two names in characters that name two people: not equal and not one given-name character apart
    (the same length and surname, one other character different: 张伟明 / 张玮明 is a typo)."""
    if a == b:
        return False
    if len(a) == len(b) and a[0] == b[0]:
        return sum(x != y for x, y in zip(a[1:], b[1:], strict=True)) != 1
    return True


def conflicting_keys(a: Signature, b: Signature) -> list[str]:
    """The strong keys on which two records with two names disagree (both carry it, values differ); empty
    when they do not conflict."""
    if not two_names(a.name, b.name):
        return []
    return [
        key
        for key, x, y in zip(STRONG_KEYS, a.keys, b.keys, strict=True)
        if x is not None and y is not None and x != y
    ]


def signatures(records: pa.Table) -> list[Signature | None]:
    """Each record's signature, or None when it cannot conflict (no name in characters, or no strong key)."""
    names = records["name_han"].to_pylist()
    keys = list(zip(*(records[k].to_pylist() for k in STRONG_KEYS), strict=True))
    return [
        Signature(name, key) if name and any(v is not None for v in key) else None
        for name, key in zip(names, keys, strict=True)
    ]


class _Clusters:
    """Union-find over record positions with, per cluster root, the distinct signatures and names in
    characters it holds."""

    def __init__(self, held: Mapping[int, Signature], names: Mapping[int, str]) -> None:
        self.parent: dict[int, int] = {}
        self.held: dict[int, set[Signature]] = {node: {sig} for node, sig in held.items()}
        self.names: dict[int, set[str]] = {node: {name} for node, name in names.items()}

    def find(self, x: int) -> int:
        root = self.parent.get(x, x)
        while root != self.parent.get(root, root):
            root = self.parent.get(root, root)
        while x != root:  # path compression
            self.parent[x], x = root, self.parent.get(x, x)
        return root

    def union(self, a: int, b: int, weak: bool) -> bool:
        """Join the clusters of a and b unless one holds a record conflicting with one of the other's,
        or, for a `weak` link, they hold two names; False when refused."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        sa, sb = self.held.get(ra, set()), self.held.get(rb, set())
        na, nb = self.names.get(ra, set()), self.names.get(rb, set())
        if any(conflicting_keys(x, y) for x in sa for y in sb):
            return False
        if weak and any(two_names(x, y) for x in na for y in nb):
            return False
        if len(sa) + len(na) < len(sb) + len(nb):
            ra, rb, sa, sb, na, nb = rb, ra, sb, sa, nb, na
        self.parent[rb] = ra
        if sb:
            self.held[ra] = sa | sb
            self.held.pop(rb, None)
        if nb:
            self.names[ra] = na | nb
            self.names.pop(rb, None)
        return True


def refused_links(
    records: pa.Table, roots: np.ndarray, a: np.ndarray, b: np.ndarray, rules: pa.Array, weights: pa.Array
) -> np.ndarray:
    """Which links (positions a[i], b[i] into `records`, with their rule and match weight) are refused.

    `roots` are the components of all links; only components holding two names in characters are
    re-clustered, strongest link first (the module doc's order), refusing every union that would join
    two conflicting records, and every weak link's union that would join two names."""
    refused = np.zeros(len(a), dtype=bool)
    suspect = _components_with_two_names(records["name_han"], roots)
    if not suspect.size:
        return refused
    inside = np.flatnonzero(np.isin(roots[a], suspect))
    nodes = np.flatnonzero(np.isin(roots, suspect))
    held = records.take(pa.array(nodes, pa.int64()))
    at = nodes.tolist()
    names: dict[int, str | None] = dict(zip(at, held["name_han"].to_pylist(), strict=True))
    ids: dict[int, str] = dict(zip(at, held["record_id"].to_pylist(), strict=True))
    taken = pa.array(inside, pa.int64())
    links = list(
        zip(
            a[inside].tolist(),
            b[inside].tolist(),
            rules.take(taken).to_pylist(),
            weights.take(taken).to_pylist(),
            inside.tolist(),
            strict=True,
        )
    )

    def rank(link: tuple) -> tuple:
        x, y, rule, weight, _ = link
        if rule == "same_profile" and not (names[x] and names[y]):
            tier = RULE_ORDER["phone"]  # identical nameless profiles: a shared phone, no more
        else:
            tier = RULE_ORDER.get(rule, RULE_ORDER["splink"])
        return (tier, -(weight or 0.0), ids[x], ids[y])

    clusters = _Clusters(
        {n: sig for n, sig in zip(at, signatures(held), strict=True) if sig is not None},
        {n: name for n, name in names.items() if name},
    )
    for x, y, rule, _, i in sorted(links, key=rank):
        weak = rule in WEAK_RULES and not (names[x] and names[y])
        refused[i] = not clusters.union(x, y, weak)
    return refused


def _components_with_two_names(names: pa.ChunkedArray, roots: np.ndarray) -> np.ndarray:
    """The components (by root position) holding two names in characters that name two people."""
    import pyarrow.compute as pc

    named = pa.table({"root": roots, "name": names}).filter(pc.is_valid(names))
    distinct = named.group_by(["root", "name"]).aggregate([])
    several = distinct.group_by("root").aggregate([("name", "list")])
    several = several.filter(pc.greater(pc.list_value_length(several["name_list"]), 1))
    found = [
        root
        for root, held in zip(several["root"].to_pylist(), several["name_list"].to_pylist(), strict=True)
        if any(two_names(x, y) for i, x in enumerate(held) for y in held[i + 1 :])
    ]
    return np.array(sorted(found), dtype=np.int64)


def kept_apart(first: Sequence[dict], second: Sequence[dict], limit: int = 5) -> dict:
    """What keeps two persons' records (dicts of the records table) apart, as the clustering sees it:
    `conflicts`, pairs of their records that cannot be one person (record ids and the keys they disagree
    on, never the values; at most `limit`), and `two_names`, whether they hold two names in characters
    (then no weak link through a record without characters joins them)."""
    conflicts: list[dict] = []
    for x in first:
        for y in second:
            sx, sy = _signature(x), _signature(y)
            if sx and sy and (keys := conflicting_keys(sx, sy)) and len(conflicts) < limit:
                conflicts.append(
                    {"record_a": x["record_id"], "record_b": y["record_id"], "differ": ["name", *keys]}
                )
    names_a = {x["name_han"] for x in first if x.get("name_han")}
    names_b = {y["name_han"] for y in second if y.get("name_han")}
    return {"conflicts": conflicts, "two_names": any(two_names(x, y) for x in names_a for y in names_b)}


def _signature(record: dict) -> Signature | None:
    key = tuple(record.get(k) for k in STRONG_KEYS)
    name = record.get("name_han")
    return Signature(name, key) if name and any(v is not None for v in key) else None
