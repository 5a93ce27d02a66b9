"""Golden records: one row per person, each field surviving from the best record that has it.

Survivorship per field: the most trusted source first (lowest trust rank), then the most recent non-null
value (updated_at), then the smallest record id so ties resolve the same way every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from zhongtai.lake.offline import OfflineEngine

GOLDEN_FIELDS = (
    "name", "name_pinyin", "gender", "birth_date", "phone", "email", "id_card", "national_id",
    "member_id", "account_id", "city", "address_key", "postcode",
)  # fmt: skip


def golden_sql(records: str, crosswalk: str) -> str:
    """SQL of the golden records from a records table and a (record_id, person_id) crosswalk.

    Each record is ranked once inside its person (trust, then most recent, then record id); every field
    then takes the value of its best-ranked record that has one (`arg_min`: streaming, no sorted buffers)."""
    order = "r.trust, r.updated_at DESC NULLS LAST, r.record_id"
    fields = ", ".join(f"arg_min({f}, survival) FILTER (WHERE {f} IS NOT NULL) AS {f}" for f in GOLDEN_FIELDS)
    return (
        f"WITH ranked AS (SELECT c.person_id, r.*, row_number() OVER (PARTITION BY c.person_id ORDER BY "
        f"{order}) AS survival FROM {records} r JOIN {crosswalk} c USING (record_id)) "
        f"SELECT person_id, count(*) AS records, count(DISTINCT dataset) AS sources, "
        f"max(updated_at) AS last_seen, {fields} FROM ranked GROUP BY person_id ORDER BY person_id"
    )


def golden_records(engine: OfflineEngine, records: str, crosswalk: str) -> pa.Table:
    """The golden record of every person (`records` and `crosswalk` name tables on `engine`)."""
    return engine.to_arrow(golden_sql(records, crosswalk), "golden records")
