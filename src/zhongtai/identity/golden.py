"""Golden records: one row per person, each field surviving from the best record that has it.

Survivorship per field: the most trusted source first (lowest trust rank), then the most recent non-null
value (updated_at), then the smallest record id so ties resolve the same way every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from zhongtai.govern.masking import Disclosure
    from zhongtai.identity.config import OneIDConfig
    from zhongtai.lake.offline import OfflineEngine
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

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


def person_record(
    store: MetadataStore,
    storage: LakeStorage,
    config: OneIDConfig,
    person_id: str,
    classes: Mapping[str, str],
    seen: Disclosure,
) -> dict[str, Any]:
    """One person's golden record from the current run (names and addresses sealed in the run opened in
    memory) and the ids of the records resolved into it, with every field of a class `seen` does not show
    masked (govern/masking.py): the mask is all that leaves, never the clear value beside it."""
    import pyarrow.compute as pc

    from zhongtai.config import Settings
    from zhongtai.errors import ZhongtaiError
    from zhongtai.govern.keys import load_keys
    from zhongtai.govern.masking import mask_record
    from zhongtai.identity.inputs import open_sealed
    from zhongtai.identity.run import current_run, read_output

    location = current_run(store, config.name).location
    persons = read_output(storage, location, "persons")
    found = persons.filter(pc.equal(persons["person_id"], person_id))
    if found.num_rows == 0:
        raise ZhongtaiError(
            "not_found",
            f"person '{person_id}' is not in the current OneID run of '{config.name}'",
            f"zhongtai datasets preview {config.golden_dataset} lists persons",
        )
    [golden] = open_sealed(found, lambda: load_keys(Settings.from_env().home)).to_pylist()
    crosswalk = read_output(storage, location, "crosswalk")
    members = crosswalk.filter(pc.equal(crosswalk["person_id"], person_id))
    return {
        "person_id": person_id,
        "golden": mask_record(golden, classes, seen),
        "records": sorted(members["record_id"].to_pylist()),
    }
