"""A dataset's pages for the console and the API: its fields a page at a time, its versions, and what the
quality rules found with the quarantined rows masked for the reader.

A table of 300 columns is read a page of fields at a time, so a browser never holds a schema it does not
show. Quarantined rows are data like any other: they leave masked by class for a reader the policy does
not let `see_pii` (govern/masking.py), undeclared text masked span by span.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zhongtai.catalog.entries import dataset_entry

if TYPE_CHECKING:
    from collections.abc import Callable

    from zhongtai.govern.keys import PiiKeys
    from zhongtai.govern.masking import Disclosure
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore


@dataclass(frozen=True)
class FieldQuery:
    """Which fields a page shows: a text in the name or description, PII fields only, and the window."""

    text: str = ""
    pii_only: bool = False
    offset: int = 0
    limit: int = 50


def field_page(store: MetadataStore, name: str, query: FieldQuery) -> dict[str, Any]:
    """One page of the dataset's fields as the catalog describes them (type, PII class, storage,
    description), in column order, with the count of fields the query matches."""
    needle = query.text.strip().lower()
    fields = [
        f
        for f in dataset_entry(store, name).fields
        if (not needle or needle in f["name"].lower() or needle in str(f["description"]).lower())
        and (not query.pii_only or f["pii"] not in (None, "none"))
    ]
    return {
        "dataset": name,
        "total": len(fields),
        "fields": fields[query.offset : query.offset + query.limit],
    }


def version_list(store: MetadataStore, name: str) -> dict[str, Any]:
    """Every version of the dataset, newest first: when, how it was made, rows and changes, schema changes."""
    store.dataset_spec(name)  # not_found for a name that is not a dataset
    versions = [
        {
            "version": v.version,
            "created_at": v.created_at.isoformat(),
            "mode": v.mode,
            "rows": v.rows,
            "rows_added": v.rows_added,
            "rows_updated": v.rows_updated,
            "rows_removed": v.rows_removed,
            "bytes": v.bytes,
            "watermark": v.watermark,
            "schema_changes": v.schema_changes,
        }
        for v in reversed(store.versions(name))
    ]
    return {"dataset": name, "versions": versions}


def quality_view(
    store: MetadataStore,
    storage: LakeStorage,
    name: str,
    version: int | None,
    samples: int,
    seen: Disclosure,
    keys: Callable[[], PiiKeys],
) -> dict[str, Any]:
    """What the quality rules found for a version (default: current): per-rule results, rows kept and
    quarantined, blocked runs since, and up to `samples` quarantined rows masked for `seen`."""
    import pyarrow as pa

    from zhongtai.govern.clear_copies import open_table
    from zhongtai.govern.masking import field_classes, mask_table
    from zhongtai.quality.report import build_report, quarantined_rows

    store.dataset_spec(name)  # not_found before any read
    report = build_report(store, storage, name, version, samples=0)
    body = report.to_dict()
    del body["quarantine_files"]  # where the lake keeps them is the platform's business, not the reader's
    files = report.run.quarantine_files if report.run else []
    rows = quarantined_rows(storage, files, samples) if samples else []
    if rows:
        table = open_table(pa.Table.from_pylist(rows), keys)
        rows = mask_table(table, field_classes(store.fields(name)), seen).to_pylist()
    body["samples"] = rows
    return body
