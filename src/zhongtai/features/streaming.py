"""`zhongtai stream run`: consume the streams that feed datasets, keep window features fresh, land the events.

For every dataset whose spec names a `stream`, the consumer reads the stream as a consumer group and, per
batch it is handed (at most BATCH_EVENTS, as soon as they arrive):

1. folds the events into the online state of every window feature view over the dataset and writes their
   new values (visible to decisions within the poll wait, well under a second);
2. keeps the batch in memory until the flush policy says so, then hands all held events to a flusher thread
   that appends them to the dataset as ONE new version (never one version per event) while the consumer
   goes on updating online features, so a slow lake write does not make features stale;
3. acks the events on the bus only after both writes (the flusher acks after the append).

A consumer killed at any point loses nothing: its unacked events come back, the online state recognises the
ones it already counted by event id, and the lake append skips the ids the dataset already holds.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from zhongtai.connect.streams.base import Delivery, EventBus
from zhongtai.errors import ZhongtaiError
from zhongtai.features.freshness import metrics, observe_freshness
from zhongtai.features.online.base import OnlineStore
from zhongtai.features.windows import WindowView, apply_events, event_seconds
from zhongtai.lake.append import append_events
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.models import FeatureViewSpec, StreamSpec
from zhongtai.spec.windows import event_key, id_columns

log = logging.getLogger(__name__)
BATCH_EVENTS = 1000
FLUSHES_IN_FLIGHT = 4  # beyond this the consumer waits for the lake: backpressure, not unbounded memory


@dataclass(frozen=True)
class FlushPolicy:
    """When held events go to the lake: every `events` events or `seconds` seconds, whichever comes first,
    and when the consumer stops. Larger means fewer, bigger versions; acks wait for the flush."""

    events: int = 5000
    seconds: float = 5.0


@dataclass
class Feed:
    """One dataset, the stream that feeds it and the window views computed from it."""

    dataset: str
    stream: StreamSpec
    views: list[WindowView]
    held: list[Delivery] = field(default_factory=list)
    held_since: float = 0.0


@dataclass(frozen=True)
class BatchReport:
    dataset: str
    events: int
    rejected: int
    freshness_s: list[float]


def stream_feeds(store: MetadataStore, datasets: list[str] | None = None) -> list[Feed]:
    """The datasets fed by a stream (all, or the named ones), each with its online window views."""
    registered = store.registered("datasets")
    streams = {n: dataset_stream(p) for n, p in registered.items()}
    names = datasets or sorted(n for n, s in streams.items() if s is not None)
    views = [FeatureViewSpec.model_validate(p) for p in store.registered("feature_views").values()]
    feeds = []
    for name in names:
        stream = streams.get(name)
        if stream is None:
            raise ZhongtaiError(
                "invalid_argument",
                f"dataset '{name}' is {'not registered' if name not in registered else 'not fed by a stream'}",
                "give the dataset a `stream: {name: ...}` in its spec and apply it",
            )
        mine = [WindowView.of(v) for v in views if v.windows and v.windows.dataset == name and v.online]
        feeds.append(Feed(name, stream, mine))
    if not feeds:
        raise ZhongtaiError(
            "invalid_argument", "no dataset is fed by a stream", "add `stream: {name: ...}` to a dataset spec"
        )
    return feeds


def dataset_stream(payload: dict) -> StreamSpec | None:
    """The stream a registered dataset's spec names, if any (datasets an identity produces have none)."""
    stream = payload.get("stream")
    return None if stream is None else StreamSpec.model_validate(stream)


class StreamConsumer:
    """See the module docstring. `run` until `stop` is set; it flushes what it holds before returning."""

    def __init__(
        self,
        store: MetadataStore,
        storage: LakeStorage,
        online: OnlineStore,
        bus: EventBus,
        feeds: list[Feed],
        *,
        group: str = "zhongtai",
        consumer: str = "consumer-1",
        policy: FlushPolicy = FlushPolicy(),
        on_batch: Callable[[BatchReport], None] | None = None,
    ) -> None:
        self.store, self.storage, self.online, self.bus = store, storage, online, bus
        self.feeds = feeds
        self.group, self.consumer, self.policy = group, consumer, policy
        self.on_batch = on_batch
        self.clock = 0.0  # the newest event time seen: windows are evaluated as of it

    def run(self, stop: threading.Event, wait_s: float = 0.1) -> None:
        """Poll every feed in turn and hand what is due to the flusher; flush everything on the way out."""
        jobs: queue.Queue[tuple[Feed, list[Delivery]] | None] = queue.Queue(FLUSHES_IN_FLIGHT)
        failures: list[BaseException] = []
        flusher = threading.Thread(
            target=self._flusher, args=(jobs, failures), name="lake-flusher", daemon=True
        )
        flusher.start()
        try:
            while not stop.is_set() and not failures:
                for feed in self.feeds:
                    self.poll(feed, wait_s / len(self.feeds))
                    if self._due(feed):
                        jobs.put((feed, feed.held))
                        feed.held = []
        finally:
            for feed in self.feeds:
                if feed.held and not failures:
                    jobs.put((feed, feed.held))
                feed.held = []
            jobs.put(None)
            flusher.join()
        if failures:
            raise failures[0]

    def poll(self, feed: Feed, wait_s: float) -> int:
        """Take one batch off the feed's stream and update the online features; returns the events taken."""
        deliveries = self.bus.consume(feed.stream.name, self.group, self.consumer, BATCH_EVENTS, wait_s)
        if not deliveries:
            return 0
        valid = [d for d in deliveries if self._valid(feed, d)]
        if valid:
            self.clock = max([self.clock, *(event_seconds(d.event[feed.stream.timestamp]) for d in valid)])
            events = [d.event for d in valid]
            for view in feed.views:
                apply_events(self.online, view, events, self.clock)
        written = time.time()
        freshness = [written - d.published_at for d in valid]
        for view in feed.views:
            observe_freshness(view.name, "stream", freshness)
        metrics().events.labels(dataset=feed.dataset).inc(len(deliveries))
        if not feed.held:
            feed.held_since = time.monotonic()
        feed.held.extend(deliveries)
        if self.on_batch is not None:
            self.on_batch(BatchReport(feed.dataset, len(deliveries), len(deliveries) - len(valid), freshness))
        return len(deliveries)

    def flush(self, feed: Feed, deliveries: list[Delivery]) -> None:
        """Append the events to the lake as one version, then ack them all."""
        events = [d.event for d in deliveries if self._valid(feed, d, count=False)]
        if events:
            appended = append_events(self.store, self.storage, feed.dataset, events, feed.stream.event_id)
            metrics().appended.labels(dataset=feed.dataset).inc(appended.rows_added)
            metrics().flushes.labels(dataset=feed.dataset).inc()
        self.bus.ack(feed.stream.name, self.group, deliveries)

    def _flusher(self, jobs: queue.Queue, failures: list[BaseException]) -> None:
        """Flush jobs in order; after a failure nothing more is acked (the events come back on restart)."""
        while (job := jobs.get()) is not None:
            if failures:
                continue
            try:
                self.flush(*job)
            except BaseException as exc:
                log.error("lake append of stream '%s' failed: %s", job[0].stream.name, exc)
                failures.append(exc)

    def _due(self, feed: Feed) -> bool:
        if not feed.held:
            return False
        waited = time.monotonic() - feed.held_since
        return len(feed.held) >= self.policy.events or waited >= self.policy.seconds

    def _valid(self, feed: Feed, delivery: Delivery, count: bool = True) -> bool:
        """An event needs its id and a readable event time; others are logged, counted and acked unused."""
        event = delivery.event
        problem = None
        if event_key(event, feed.stream.event_id) is None:
            problem = f"no {'/'.join(id_columns(feed.stream.event_id))}"
        else:
            try:
                event_seconds(event.get(feed.stream.timestamp))
            except ZhongtaiError as exc:
                problem = exc.message
        if problem and count:
            log.warning("stream '%s': event rejected: %s", feed.stream.name, problem)
            metrics().rejected.labels(dataset=feed.dataset).inc()
        return problem is None
