"""Deterministic links: records that share a key which, on its own, identifies one person.

- `id_card`: a resident ID number with a valid GB 11643 check digit (invalid ones were dropped when
  normalized, so a mistyped number links nothing);
- `member_id` (a loyalty card) and `account_id` (an e-commerce login);
- `phone` and `email`: shared by families (parents registered with a child's number, spouses ordering for
  each other), so equality alone is not enough. A phone links records when they also agree on the name
  (`phone+name`: the same characters, or for a romanized name the same pinyin syllables in any order), or
  on its own (`phone`) only when all the records carrying it name at most `family_phone_names` distinct
  people (nameless records, such as a store order with only a phone typed in, then join that one person).
  E-mail is treated the same way. Characters, not readings: 蒋伟 and 姜伟 sharing a family phone are two
  people, though both read jiang wei.

Links are emitted as stars (every record of a key group to the group's smallest record id): connected
components only need a spanning set, and stars keep the link count linear in the records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from zhongtai.lake.offline import OfflineEngine

EXACT_KEYS = ("id_card", "member_id", "account_id")
SHARED_KEYS = ("phone", "email")


def named_sql(records: str, key: str) -> str:
    """SQL of (record_id, value, who) for the records carrying `key`: `who` names the person the record
    is about. Names in characters are compared as characters (蒋伟 and 姜伟 share a reading, not a
    name); a romanized name (`Jiang Wei`) stands for the one name in characters that the key's records
    read that way, and for itself when there are none or several (then Splink decides)."""
    return (
        f"SELECT r.record_id, r.{key} AS value, coalesce(r.name_han, h.han, r.name_sorted) AS who "
        f"FROM {records} r LEFT JOIN (SELECT {key} AS k, name_sorted AS sorted, min(name_han) AS han "
        f"FROM {records} WHERE {key} IS NOT NULL AND name_han IS NOT NULL GROUP BY {key}, name_sorted "
        f"HAVING count(DISTINCT name_han) = 1) h "
        f"ON r.name_han IS NULL AND h.k = r.{key} AND h.sorted = r.name_sorted "
        f"WHERE r.{key} IS NOT NULL"
    )


def keyed_sql(records: str, family_names: int) -> str:
    """SQL of (record_id, rule, value): every record under each deterministic key it carries."""
    parts = [
        f"SELECT record_id, '{k}' AS rule, {k} AS value FROM {records} WHERE {k} IS NOT NULL"
        for k in EXACT_KEYS
    ]
    for k in SHARED_KEYS:
        named = named_sql(records, k)
        parts.append(
            f"SELECT record_id, '{k}+name' AS rule, value || ' | ' || who AS value FROM ({named}) AS n "
            "WHERE who IS NOT NULL"
        )
        parts.append(
            f"SELECT n.record_id, '{k}' AS rule, n.value FROM ({named}) AS n JOIN ("
            f"SELECT value FROM ({named}) AS f GROUP BY value "
            f"HAVING count(DISTINCT who) <= {int(family_names)}) AS one USING (value)"
        )
    return " UNION ALL ".join(parts)


def deterministic_links(engine: OfflineEngine, records: str, family_names: int = 1) -> pa.Table:
    """Links (record_a, record_b, rule, value) from exact keys; `records` names a table on `engine`."""
    sql = (
        f"WITH keyed AS ({keyed_sql(records, family_names)}) "
        "SELECT min(record_id) OVER (PARTITION BY rule, value) AS record_a, record_id AS record_b, rule, value "
        "FROM keyed QUALIFY record_a <> record_b"
    )
    return engine.to_arrow(sql, "deterministic links")


def shared_keys(a: dict, b: dict, family_names: int = 1) -> list[dict[str, str]]:
    """The deterministic keys two records (as dicts of the records table) share, for `explain`. Whether a
    lone phone or e-mail links depends on every record carrying it, so those are reported as `shared`."""
    found = [{"rule": k, "value": a[k]} for k in EXACT_KEYS if a.get(k) and a.get(k) == b.get(k)]
    for k in SHARED_KEYS:
        if a.get(k) and a.get(k) == b.get(k):
            same_name = _same_name(a, b)
            found.append({"rule": f"{k}+name" if same_name else f"{k} (shared)", "value": a[k]})
    return found


def _same_name(a: dict, b: dict) -> bool:
    """The two records name the same person as `phone+name` sees it: the same characters when both are
    written in characters, else the same pinyin syllables."""
    if a.get("name_han") and b.get("name_han"):
        return a["name_han"] == b["name_han"]
    return bool(a.get("name_sorted")) and a.get("name_sorted") == b.get("name_sorted")
