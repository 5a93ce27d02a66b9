"""What a quality pass found: one result per rule, and the row accounting of the run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from zhongtai.errors import ZhongtaiError


@dataclass
class RuleResult:
    """One rule's outcome on one ingest run.

    level: `row` (a field check), `clean` (a transform or declared type the value did not survive),
    `dedupe`, or `dataset` (a check on the whole new version).
    on_fail: `quarantine`, `warn` or `block`; `failed` counts rows (or 1 for a failed dataset check).
    """

    rule: str
    level: str
    on_fail: str
    checked: int
    failed: int
    reason: str = ""

    @property
    def status(self) -> str:
        if self.failed == 0 or self.level == "dedupe":
            return "pass" if self.level != "dedupe" else "info"
        return {"quarantine": "quarantined", "warn": "warned", "block": "blocked"}[self.on_fail]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleResult:
        return cls(**{k: v for k, v in data.items() if k != "status"})


@dataclass
class QualityOutcome:
    """The accounting of one run: rows_in = rows_kept + rows_quarantined + rows_deduped."""

    rows_in: int = 0
    rows_kept: int = 0
    rows_quarantined: int = 0
    rows_deduped: int = 0
    results: list[RuleResult] = field(default_factory=list)
    quarantine_files: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[RuleResult]:
        return [r for r in self.results if r.status == "blocked"]

    @property
    def warnings(self) -> list[str]:
        return [f"{r.rule}: {r.reason}" for r in self.results if r.status == "warned"]

    @property
    def status(self) -> str:
        if self.blocking:
            return "blocked"
        return "warned" if self.warnings else "passed"


class QualityBlocked(ZhongtaiError):
    """A blocking dataset check failed: the new version is not made and the previous one stays current."""

    def __init__(self, dataset: str, failures: list[RuleResult]) -> None:
        listed = "; ".join(f"{r.rule}: {r.reason}" for r in failures)
        super().__init__(
            "quality_failed",
            f"dataset '{dataset}': quality check failed, the new version was not made: {listed}",
            f"`zhongtai quality report {dataset}` shows the checks; fix the source, or set on_fail: warn",
        )
        self.failures = failures
