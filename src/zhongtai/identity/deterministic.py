"""Deterministic links: records that share a key which, on its own, identifies one person.

- `id_card`: a resident ID number with a valid GB 11643 check digit (invalid ones were dropped when
  normalized, so a mistyped number links nothing);
- `member_id` (a loyalty card) and `account_id` (an e-commerce login);
- `phone` and `email`: shared by families (parents registered with a child's number, spouses ordering for
  each other), so equality alone is not enough. A phone links records when they also agree on the name
  (`phone+name`: same pinyin syllables, whatever the script or order), or on its own (`phone`) only when all
  the records carrying it name at most `family_phone_names` distinct people (nameless records, such as a
  store order with only a phone typed in, then join that one person). E-mail is treated the same way.

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


def keyed_sql(records: str, family_names: int) -> str:
    """SQL of (record_id, rule, value): every record under each deterministic key it carries."""
    parts = [
        f"SELECT record_id, '{k}' AS rule, {k} AS value FROM {records} WHERE {k} IS NOT NULL"
        for k in EXACT_KEYS
    ]
    for k in SHARED_KEYS:
        parts.append(
            f"SELECT record_id, '{k}+name' AS rule, {k} || ' | ' || name_sorted AS value FROM {records} "
            f"WHERE {k} IS NOT NULL AND name_sorted IS NOT NULL"
        )
        parts.append(
            f"SELECT r.record_id, '{k}' AS rule, r.{k} AS value FROM {records} r JOIN ("
            f"SELECT {k} FROM {records} WHERE {k} IS NOT NULL GROUP BY {k} "
            f"HAVING count(DISTINCT name_sorted) <= {int(family_names)}) USING ({k})"
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
            same_name = a.get("name_sorted") and a.get("name_sorted") == b.get("name_sorted")
            found.append({"rule": f"{k}+name" if same_name else f"{k} (shared)", "value": a[k]})
    return found
