"""Metrics read when Prometheus scrapes, not counted per request: the decision log's queue and spill, shadow
work dropped, traffic weights and canary status, feature view freshness, feedback received.

What comes from the metadata store is read at most once every `ttl_s` seconds (30) (a scrape every few seconds
from several Prometheus servers must not become a query storm); what is in memory is read every scrape.
These are gauges of the process that answers the scrape; the decision log's queue is per worker process,
every other figure is the same whichever worker answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from zhongtai.capabilities.serving import Capabilities
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.tables import SqlFeedback

QUALITY_WINDOW_DAYS = 7
CANARY_STATUSES = ("ramping", "awaiting_approval", "promoted", "rolled_back")


@dataclass
class ProcessState:
    """What the gateway holds in memory that a scrape reads: callables, so the collector holds no runtime."""

    queue_depth: Callable[[], int] = lambda: 0
    shadows_dropped: Callable[[], int] = lambda: 0
    arms: Callable[[], list[tuple[str, dict[str, Any]]]] = list  # (capability, describe() row)


@dataclass
class _StoreFigures:
    at: float = 0.0
    view_age: dict[str, float] = field(default_factory=dict)
    canaries: dict[str, str] = field(default_factory=dict)
    feedback: dict[tuple[str, str], int] = field(default_factory=dict)
    quality: list[tuple[str, str, str, str, float]] = field(default_factory=list)  # capability arm v measure
    drift: list[tuple[str, str, str, float]] = field(
        default_factory=list
    )  # capability version feature effect
    drifted: list[tuple[str, str, float]] = field(default_factory=list)  # capability version features drifted


class PlatformCollector:
    """A prometheus-client collector of the platform's state at scrape time."""

    def __init__(
        self, store: MetadataStore, spill_dir: Path, state: ProcessState, ttl_s: float = 10.0
    ) -> None:
        self._store = store
        self._spill_dir = spill_dir
        self._state = state
        self._ttl_s = ttl_s
        self._figures = _StoreFigures()
        self._lock = threading.Lock()

    def describe(self) -> list[Any]:
        """Nothing up front: a scrape-time collector must not touch the store when it is registered."""
        return []

    def collect(self) -> Iterator[Any]:
        """Every figure as a metric family."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        state = self._state
        yield GaugeMetricFamily(
            "zt_decision_log_queue_depth",
            "Decisions waiting in this process's log queue",
            value=state.queue_depth(),
        )
        size, records = spill_figures(self._spill_dir)
        yield GaugeMetricFamily(
            "zt_decision_log_spill_bytes", "Bytes of decisions in spill files", value=size
        )
        yield GaugeMetricFamily(
            "zt_decision_log_spill_records", "Decisions in spill files, waiting for the store", value=records
        )
        yield CounterMetricFamily(
            "zt_shadow_dropped",
            "Shadow work dropped because the shadow scorer was behind",
            value=state.shadows_dropped(),
        )
        weights = GaugeMetricFamily(
            "zt_traffic_weight",
            "Share of a capability's traffic an arm serves (0-100)",
            labels=["capability", "arm"],
        )
        versions = GaugeMetricFamily(
            "zt_arm_model_version", "Model version an arm or shadow serves", labels=["capability", "arm"]
        )
        for capability, arm in state.arms():
            name = str(arm.get("arm") or arm.get("shadow"))
            if "arm" in arm:
                weights.add_metric([capability, name], float(arm.get("weight") or 0))
            if arm.get("version") is not None:
                versions.add_metric([capability, name], float(arm["version"]))
        yield weights
        yield versions
        yield from self._store_families()

    def _store_families(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        figures = self._store_figures()
        age = GaugeMetricFamily(
            "zt_feature_view_age_seconds",
            "Seconds since a feature view was last materialized to the online store",
            labels=["view"],
        )
        for view, seconds in sorted(figures.view_age.items()):
            age.add_metric([view], seconds)
        yield age
        canary = GaugeMetricFamily(
            "zt_canary_status",
            "1 for the status a capability's canary ramp is in",
            labels=["capability", "status"],
        )
        for capability, status in sorted(figures.canaries.items()):
            for each in CANARY_STATUSES:
                canary.add_metric([capability, each], 1.0 if each == status else 0.0)
        yield canary
        feedback = CounterMetricFamily(
            "zt_feedback", "Outcomes reported for decisions, by kind", labels=["capability", "kind"]
        )
        for (capability, kind), count in sorted(figures.feedback.items()):
            feedback.add_metric([capability, kind], count)
        yield feedback
        quality = GaugeMetricFamily(
            "zt_live_quality",
            f"Live quality of the last {QUALITY_WINDOW_DAYS} days' decisions from their feedback "
            "(auc, precision, recall, accuracy, hit_rate, mae, mape)",
            labels=["capability", "arm", "version", "measure"],
        )
        for labels_and_value in figures.quality:
            quality.add_metric(list(labels_and_value[:4]), labels_and_value[4])
        yield quality
        effect = GaugeMetricFamily(
            "zt_drift_effect",
            "Drift effect (PSI beyond sampling noise) of a feature or the score in the latest drift check",
            labels=["capability", "version", "feature"],
        )
        for capability, version, feature, value in figures.drift:
            effect.add_metric([capability, version, feature], value)
        yield effect
        drifted = GaugeMetricFamily(
            "zt_drift_features_drifted",
            "Features flagged (drift or major) in the latest drift check of a model version",
            labels=["capability", "version"],
        )
        for capability, version, flagged in figures.drifted:
            drifted.add_metric([capability, version], flagged)
        yield drifted

    def _store_figures(self) -> _StoreFigures:
        with self._lock:
            if time.monotonic() - self._figures.at >= self._ttl_s:
                try:
                    self._figures = read_store_figures(self._store)
                except Exception:  # the store is down: keep the last figures, a scrape must still answer
                    self._figures.at = time.monotonic()
            return self._figures


def read_store_figures(store: MetadataStore) -> _StoreFigures:
    """View freshness, canary statuses and feedback counts from the metadata store."""
    from datetime import UTC, datetime

    current = datetime.now(UTC)
    view_age = {}
    for view in store.registered("feature_views"):
        build = store.features.latest_build(view)
        if build is not None and build.materialized_at is not None:
            at = (
                build.materialized_at
                if build.materialized_at.tzinfo
                else build.materialized_at.replace(tzinfo=UTC)
            )
            view_age[view] = max((current - at).total_seconds(), 0.0)
    canaries = {
        capability: str(split.state["status"])
        for capability, split in store.traffic.all().items()
        if split.state and "status" in split.state
    }
    with store.transaction() as session:
        rows = session.execute(
            sa.select(SqlFeedback.capability, SqlFeedback.kind, sa.func.count()).group_by(
                SqlFeedback.capability, SqlFeedback.kind
            )
        ).all()
    feedback = {(str(c), str(k)): int(n) for c, k, n in rows}
    capabilities = sorted({c for c, _ in feedback})
    effects, drifted = drift_figures(store)
    return _StoreFigures(
        time.monotonic(), view_age, canaries, feedback, quality_figures(store, capabilities), effects, drifted
    )


def drift_figures(
    store: MetadataStore,
) -> tuple[list[tuple[str, str, str, float]], list[tuple[str, str, float]]]:
    """Per capability and model version, the latest drift check's effect per feature and its drifted count."""
    effects: list[tuple[str, str, str, float]] = []
    drifted: list[tuple[str, str, float]] = []
    seen: set[tuple[str, int]] = set()
    for capability in store.registered("capabilities"):
        for report in store.drift.reports(
            capability, 10
        ):  # newest first: the first per version is its latest
            if (capability, report.model_version) in seen:
                continue
            seen.add((capability, report.model_version))
            version = str(report.model_version)
            drifted.append((capability, version, float(report.drifted)))
            effects.extend(
                (capability, version, str(r["name"]), float(r["effect"]))
                for r in report.results
                if r.get("effect") is not None
            )
    return effects, drifted


def quality_figures(store: MetadataStore, capabilities: list[str]) -> list[tuple[str, str, str, str, float]]:
    """(capability, arm, version, measure, value) of every capability with feedback, over the window."""
    from datetime import timedelta

    from zhongtai.flywheel.quality import live_quality
    from zhongtai.meta.time import now

    start = now() - timedelta(days=QUALITY_WINDOW_DAYS)
    figures: list[tuple[str, str, str, str, float]] = []
    for capability in capabilities:
        try:
            report = live_quality(store, capability, start)
        except Exception:  # a capability removed since its feedback came: nothing to say about it
            continue
        for row in report.rows:
            version = str(row.model_version) if row.model_version is not None else "fallback"
            figures.extend(
                (capability, row.arm, version, measure, value)
                for measure, value in row.measures.items()
                if value is not None
            )
    return figures


def spill_figures(directory: Path) -> tuple[int, int]:
    """Bytes and records (lines) of the decision spill files in `directory`: those being written and those
    being replayed, not the records set aside as refused by the store."""
    size = records = 0
    for path in [*directory.glob("*.jsonl"), *directory.glob("*.replaying")]:
        if ".rejected." in path.name:
            continue
        try:
            with path.open("rb") as spill:
                while chunk := spill.read(1 << 20):
                    size += len(chunk)
                    records += chunk.count(b"\n")
        except FileNotFoundError:  # replayed and removed between the listing and the read
            continue
    return size, records


def arms_of(capabilities: Capabilities) -> list[tuple[str, dict[str, Any]]]:
    """Every loaded capability's arms and shadows, as (capability, row of ArmedRuntime.describe())."""
    return [(runtime.name, row) for runtime in capabilities.runtimes() for row in runtime.describe()]


def feature_views(capabilities: Capabilities, name: str) -> dict[str, str]:
    """Which feature view each feature of a capability's arms and shadows comes from."""
    armed = capabilities.get(name)
    views: dict[str, str] = {}
    for _, runtime in [*armed.arms, *armed.shadows]:
        views.update(getattr(runtime, "feature_views", {}))
    return views
