"""Prometheus metrics of the real-time path: how fresh online features are, and what the consumer did.

Freshness is the time from the moment the bus took an event (or the push API received it) to the moment its
features were written to the online store, i.e. readable by a decision. For live events that is their event
time; replayed history keeps its original event time, so the bus's clock is the honest start.
Metrics are created on first use (no import-time registration) in prometheus-client's default registry,
which both the gateway's `/metrics` (monitor/metrics.py) and the consumer's own endpoint expose.
"""

from __future__ import annotations

from functools import cache
from typing import Any

FRESHNESS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)


@cache
def metrics() -> Any:
    """The metric objects, created once per process."""
    from types import SimpleNamespace

    from prometheus_client import Counter, Histogram

    return SimpleNamespace(
        freshness=Histogram(
            "zt_feature_freshness_seconds",
            "From an event entering the bus (or the push API) to its features being readable online",
            ["view", "path"],
            buckets=FRESHNESS_BUCKETS,
        ),
        events=Counter("zt_stream_events_total", "Events taken off the bus", ["dataset"]),
        rejected=Counter(
            "zt_stream_events_rejected_total", "Events without an id or a readable event time", ["dataset"]
        ),
        appended=Counter("zt_stream_lake_rows_total", "Events appended to the lake", ["dataset"]),
        flushes=Counter(
            "zt_stream_lake_flushes_total", "Micro-batches committed as dataset versions", ["dataset"]
        ),
    )


def observe_freshness(view: str, path: str, seconds: list[float]) -> None:
    """Record the freshness of each event written for a view (path: `stream` or `push`)."""
    histogram = metrics().freshness.labels(view=view, path=path)
    for value in seconds:
        histogram.observe(max(value, 0.0))
