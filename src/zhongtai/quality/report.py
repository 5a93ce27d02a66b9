"""`zhongtai quality report`: what the quality rules found for a dataset version, with quarantined samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zhongtai.lake import engine
from zhongtai.lake.reader import resolve_version
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.quality import QualityRun
from zhongtai.meta.store import MetadataStore


@dataclass
class QualityReport:
    """One version's rule results, runs blocked since it was made, and a few quarantined rows."""

    dataset: str
    version: int
    run: QualityRun | None
    blocked: list[QualityRun] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "dataset": self.dataset,
            "version": self.version,
            "status": run.status if run else "no rules",
            "rows_in": run.rows_in if run else None,
            "rows_kept": run.rows_kept if run else None,
            "rows_quarantined": run.rows_quarantined if run else None,
            "rows_deduped": run.rows_deduped if run else None,
            "rules": run.results if run else [],
            "quarantine_files": run.quarantine_files if run else [],
            "blocked_runs": [
                {"run_id": b.run_id, "at": b.at.isoformat(), "reason": b.message, "rules": b.results}
                for b in self.blocked
            ],
            "samples": self.samples,
        }


def build_report(
    store: MetadataStore,
    storage: LakeStorage,
    dataset: str,
    version: int | None = None,
    samples: int = 5,
) -> QualityReport:
    """The report for `version` (default: the current one)."""
    found = resolve_version(store, dataset, version)
    run = store.quality.for_version(dataset, found.version)
    # Blocked runs never made a version; show those newer than the one reported on.
    blocked = store.quality.blocked_since(dataset, found.created_at)
    rows = quarantined_rows(storage, run.quarantine_files, samples) if run and samples else []
    return QualityReport(dataset, found.version, run, blocked, rows)


def quarantined_rows(storage: LakeStorage, files: list[str], limit: int) -> list[dict[str, Any]]:
    """Up to `limit` quarantined rows, each with `_zt_rule` and `_zt_reason`."""
    if not files:
        return []
    con = engine.connect(storage)
    try:
        sql = f"SELECT * FROM {engine.scan(storage, files)} LIMIT {int(limit)}"
        return con.sql(sql).to_arrow_table().to_pylist()
    finally:
        con.close()
