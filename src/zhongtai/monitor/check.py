"""The drift check of a capability: its answers of a window, per model version, against that version's
reference profile; each result stored as a drift report for metrics, the console and the flywheel.

A window can hold answers of several versions (an A/B split, a promotion mid-window): each is compared with
its own reference, since each learnt from its own data. Shadow scores and fallbacks are left out: a shadow's
features are its primary's, and a fallback has no model score.

Each distinct request (the same inputs) counts once, with its latest answer: a customer scored fifty times in
a window is one customer with one set of feature values, and counting him fifty times would make the window
look fifty times surer than it is (the noise bound assumes independent rows), so noise would read as drift.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.drift import DriftReport, WindowRow
from zhongtai.meta.time import now
from zhongtai.monitor.drift import Thresholds, compare
from zhongtai.monitor.reference import load_profile

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

Progress = Callable[[int], None]
VERDICT_ORDER = ("no data", "ok", "drift", "major")


@dataclass(frozen=True)
class VersionDrift:
    """The check of one model version's answers: its stored report, or why there is none."""

    model_name: str
    model_version: int
    decisions: int
    report: DriftReport | None
    missing: str | None = None  # why no report: the version has no reference profile

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        body: dict[str, Any] = {
            "model": self.model_name,
            "version": self.model_version,
            "decisions": self.decisions,
        }
        if self.report is not None:
            body["report"] = self.report.to_dict()
        if self.missing is not None:
            body["missing"] = self.missing
        return body


def check_capability(
    store: MetadataStore,
    storage: LakeStorage,
    capability: str,
    window: timedelta,
    thresholds: Thresholds | None = None,
    until: datetime | None = None,
    on_progress: Progress | None = None,
) -> list[VersionDrift]:
    """Compare the capability's answers of the `window` before `until` (now) with each answering version's
    reference, store a report per version that has a profile, and return them (versions in order)."""
    store.spec("capabilities", capability)  # NotFound names the capability
    if window <= timedelta(0):
        raise ZhongtaiError("invalid_argument", f"window {window} must be longer than zero")
    limits = thresholds or Thresholds()
    end = until or now()
    start = end - window
    groups = _by_version(store.drift.window(capability, start, end), on_progress)
    found: list[VersionDrift] = []
    for (model, version), rows in sorted(groups.items()):
        try:
            profile = load_profile(store, storage, model, version)
        except ZhongtaiError as exc:
            if exc.code != "not_found":
                raise
            found.append(VersionDrift(model, version, len(rows), None, exc.message))
            continue
        distinct = _latest_per_request(rows)
        columns = {name: [row.features.get(name) for row in distinct] for name in profile.columns}
        results = compare(profile, columns, [row.score for row in distinct], limits)
        flagged = [r for r in results if r.drifted]
        verdict = max((r.verdict for r in results), key=VERDICT_ORDER.index, default="no data")
        report = DriftReport(
            id=0,
            capability=capability,
            model_name=model,
            model_version=version,
            at=now(),
            window_start=start,
            window_end=end,
            decisions=len(rows),
            verdict=verdict,
            drifted=len(flagged),
            results=[r.to_dict() for r in results],
            thresholds=dict(limits.__dict__),
        )
        found.append(VersionDrift(model, version, len(rows), store.drift.add_report(report)))
    return found


def _latest_per_request(rows: list[WindowRow]) -> list[WindowRow]:
    latest = {json.dumps(row.inputs, sort_keys=True, default=str): row for row in rows}  # later rows win
    return list(latest.values())


def _by_version(
    rows: Any, on_progress: Progress | None, every: int = 10_000
) -> dict[tuple[str, int], list[WindowRow]]:
    groups: dict[tuple[str, int], list[WindowRow]] = {}
    for count, row in enumerate(rows, 1):
        groups.setdefault((row.model_name, row.model_version), []).append(row)
        if on_progress is not None and count % every == 0:
            on_progress(count)
    return groups
