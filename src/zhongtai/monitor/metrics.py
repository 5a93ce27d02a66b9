"""Prometheus metrics of decisions: latency, outcomes, fallbacks, errors, shadows, missing features.

Every decision the gateway logs passes the `DecisionObserver` once, on its way into the decision log
(`MeteredDecisionLog.submit`): a few label lookups and counter increments, no I/O, so the hot path pays
microseconds. What is only worth knowing when someone looks (spill size, view freshness, canaries, drift,
feedback) is read at scrape time by `monitor.metrics_collect`.

With `zhongtai serve --workers N` the workers are separate processes: `prepare_multiprocess` (called by the
parent before it starts them) points prometheus-client's multiprocess mode at a fresh directory under
ZT_HOME, every worker writes its counters there, and `/metrics` on any worker sums them all.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from zhongtai.capabilities.decision_log import DecisionHandOff
from zhongtai.meta.records import DecisionRecord

# Decisions take well under a millisecond to tens of milliseconds; a text model a few hundred.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SCORE_DELTA_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
# Errors are the fallbacks that mean something broke, as opposed to an entity the store does not know.
ERROR_REASONS = frozenset({"model_error", "online_unavailable"})
MAX_OUTCOMES = 64  # distinct outcome labels per capability before the rest count as `other`
MAX_REMEMBERED = 10_000  # recent answers kept to compare with their shadows
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@cache
def decision_metrics() -> SimpleNamespace:
    """The decision metric objects, created once per process in prometheus-client's default registry."""
    from prometheus_client import Counter, Histogram

    by_arm = ["capability", "arm"]
    return SimpleNamespace(
        latency=Histogram(
            "zt_decision_latency_seconds",
            "Time to decide, from the request's inputs to the answer (features, model, rules)",
            by_arm,
            buckets=LATENCY_BUCKETS,
        ),
        decisions=Counter("zt_decisions_total", "Decisions answered, by outcome", [*by_arm, "outcome"]),
        fallbacks=Counter(
            "zt_decision_fallbacks_total",
            "Decisions answered by the fallback, by reason",
            [*by_arm, "reason"],
        ),
        errors=Counter(
            "zt_decision_errors_total",
            "Decisions whose model or online store failed (answered by the fallback)",
            [*by_arm, "reason"],
        ),
        shadows=Counter("zt_shadow_decisions_total", "Shadow decisions scored beside an answer", by_arm),
        disagreements=Counter(
            "zt_shadow_disagreements_total",
            "Shadow decisions whose outcome differs from the answer they were scored beside",
            by_arm,
        ),
        score_delta=Histogram(
            "zt_shadow_score_delta",
            "Absolute difference of a shadow's score from the answer's score",
            by_arm,
            buckets=SCORE_DELTA_BUCKETS,
        ),
        feature_values=Counter(
            "zt_feature_values_total",
            "Feature values a decision asked for, by feature view",
            ["capability", "view"],
        ),
        feature_missing=Counter(
            "zt_feature_values_missing_total",
            "Feature values a decision asked for and did not get (特征缺失), by feature view",
            ["capability", "view"],
        ),
    )


class DecisionObserver:
    """Turns each logged decision into metric increments. `views_of(capability)` maps a capability's
    feature names to the views they come from (asked once per capability and model version)."""

    def __init__(self, views_of: Callable[[str], Mapping[str, str]] | None = None) -> None:
        self._metrics = decision_metrics()
        self._views_of = views_of
        self._views: dict[tuple[str, int | None], Mapping[str, str]] = {}
        self._outcomes: dict[str, set[str]] = {}
        self._answers: dict[str, tuple[str, float | None]] = {}
        # A labelled series per (metric, labels), found once: `labels()` validates and locks on every call,
        # some 3 µs each, six calls a decision. No series is ever removed, so a kept child stays the metric's.
        self._children: dict[tuple[str, tuple[str, ...]], Any] = {}

    def declare(self, capability: str, arms: Iterable[str]) -> None:
        """Start each arm's latency histogram at zero, so a scrape (and a dashboard's rate over it) sees
        every serving capability from the start, not a series missing until its first decision."""
        for arm in arms:
            self._child("latency", capability, arm)

    def observe(self, record: DecisionRecord) -> None:
        """Count one decision (an answer or a shadow)."""
        arm = record.arm or "champion"
        if record.shadow_of is not None:
            self._shadow(record, arm)
            return
        child = self._child
        child("latency", record.capability, arm).observe(record.latency_ms / 1000.0)
        child("decisions", record.capability, arm, self._outcome(record)).inc()
        if record.fallback:
            reason = record.fallback_reason or "unspecified"
            child("fallbacks", record.capability, arm, reason).inc()
            if reason in ERROR_REASONS:
                child("errors", record.capability, arm, reason).inc()
        if record.features:
            self._count_features(record)
        self._remember(record)

    def _outcome(self, record: DecisionRecord) -> str:
        # Outcomes are labels: an intent model's classes are bounded, but a rule could answer free text.
        seen = self._outcomes.setdefault(record.capability, set())
        if record.decision in seen:
            return record.decision
        if len(seen) >= MAX_OUTCOMES:
            return "other"
        seen.add(record.decision)
        return record.decision

    def _count_features(self, record: DecisionRecord) -> None:
        views = self._feature_views(record)
        totals: dict[str, list[int]] = {}
        for feature, value in record.features.items():
            counts = totals.setdefault(views.get(feature, "unknown"), [0, 0])
            counts[0] += 1
            if value is None or (isinstance(value, float) and value != value):
                counts[1] += 1
        for view, (asked, missing) in totals.items():
            self._child("feature_values", record.capability, view).inc(asked)
            if missing:
                self._child("feature_missing", record.capability, view).inc(missing)

    def _child(self, metric: str, *labels: str) -> Any:
        """The series of `metric` (a field of decision_metrics()) with these label values."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = getattr(self._metrics, metric).labels(*labels)
        return found

    def _feature_views(self, record: DecisionRecord) -> Mapping[str, str]:
        key = (record.capability, record.model_version)
        views = self._views.get(key)
        if views is None:
            try:
                views = dict(self._views_of(record.capability)) if self._views_of else {}
            except Exception:  # a capability unloaded meanwhile: count its features as `unknown`
                views = {}
            self._views[key] = views
        return views

    def _remember(self, record: DecisionRecord) -> None:
        answers = self._answers
        if len(answers) >= MAX_REMEMBERED:
            answers.pop(next(iter(answers)))  # the oldest: dicts keep insertion order
        answers[record.id] = (record.decision, record.score)

    def _shadow(self, record: DecisionRecord, arm: str) -> None:
        self._child("shadows", record.capability, arm).inc()
        answered = self._answers.get(record.shadow_of or "")
        if answered is None:
            return
        decision, score = answered
        if record.decision != decision:
            self._child("disagreements", record.capability, arm).inc()
        if score is not None and record.score is not None:
            self._child("score_delta", record.capability, arm).observe(abs(record.score - score))


class MeteredDecisionLog:
    """A decision log (in this process or the writer process), counting every decision in the metrics as it
    is handed over: the metrics are the serving process's, the writing may be another's."""

    def __init__(self, log: DecisionHandOff, observer: DecisionObserver) -> None:
        self.log = log
        self.observer = observer

    def submit(self, record: DecisionRecord) -> None:
        """Count the decision, then hand it to the log."""
        self.observer.observe(record)
        self.log.submit(record)

    def pending(self) -> int:
        """Decisions handed over and not yet written (or sent to the writer)."""
        return self.log.pending()

    def close(self) -> None:
        """Close the log: everything handed over is written or spilled."""
        self.log.close()


def prepare_multiprocess(home: Path, port: int) -> Path:
    """Before starting worker processes: a fresh directory for their metric files, named in the environment
    they inherit (a directory left by an earlier run would add its counts to this one's)."""
    directory = home / "metrics" / str(port)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def exposition(extra: Any = None) -> tuple[bytes, str]:
    """Every metric in the Prometheus text format, and its content type: this process's registry, or every
    worker's files in multiprocess mode; plus `extra`, a collector read at scrape time."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    from zhongtai.features.freshness import metrics as freshness_metrics

    decision_metrics()
    freshness_metrics()
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Default(REGISTRY))
    if extra is not None:
        registry.register(extra)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Default:
    """The process's default registry as one collector of a per-scrape registry."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    def collect(self) -> Any:
        return self._registry.collect()
