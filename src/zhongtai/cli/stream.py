"""`zhongtai stream`: run the consumer that keeps window features fresh and lands events; publish events."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path

import typer

from zhongtai.cli import context
from zhongtai.cli.output import err_console
from zhongtai.errors import ZhongtaiError

app = typer.Typer(no_args_is_help=True)


@app.command("run")
def run(
    datasets: list[str] = typer.Option(
        [],
        "--dataset",
        "-d",
        help="Consume only these datasets' streams (default: every dataset with a stream).",
    ),
    group: str = typer.Option("zhongtai", "--group", help="Consumer group: one group reads each event once."),
    consumer: str = typer.Option(
        socket.gethostname(),
        "--consumer",
        help="This consumer's name; a restart under it resumes its events.",
    ),
    flush_events: int = typer.Option(
        5000, "--flush-events", min=1, help="Append to the lake every N events..."
    ),
    flush_seconds: float = typer.Option(5.0, "--flush-seconds", min=0.05, help="...or every N seconds."),
    metrics_port: int = typer.Option(
        0, "--metrics-port", min=0, max=65535, help="Serve Prometheus /metrics on this port (0: off)."
    ),
) -> None:
    """Consume the streams of ZT_BUS_URL until Ctrl+C / SIGTERM: window features online within a second of each
    event, events appended to the lake in micro-batches, acks only after both writes (docs/streaming.md)."""
    from zhongtai.connect.streams import open_bus
    from zhongtai.features.online import open_online_store
    from zhongtai.features.streaming import BatchReport, FlushPolicy, StreamConsumer, stream_feeds

    settings = context.settings()
    feeds = stream_feeds(context.store(), datasets or None)
    bus = open_bus(settings.bus_url)
    _check_ack_wait(settings.bus_url, flush_seconds)
    online = open_online_store(settings.online_url)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    totals = {"events": 0, "last": time.monotonic()}

    def on_batch(report: BatchReport) -> None:
        totals["events"] += report.events
        if time.monotonic() - totals["last"] >= 5:
            totals["last"] = time.monotonic()
            err_console.print(f"{totals['events']:,} events consumed")

    described = ", ".join(f"{f.dataset} <- {f.stream.name} ({len(f.views)} window views)" for f in feeds)
    err_console.print(f"consuming {described} as {group}/{consumer} (Ctrl+C to stop)")
    consumer_loop = StreamConsumer(
        context.store(),
        context.lake(),
        online,
        bus,
        feeds,
        group=group,
        consumer=consumer,
        policy=FlushPolicy(flush_events, flush_seconds),
        on_batch=on_batch,
    )
    try:
        consumer_loop.run(stop)
    finally:
        online.close()
        bus.close()
    err_console.print(f"stopped after {totals['events']:,} events; everything held was flushed and acked")


@app.command("publish")
def publish(
    dataset: str = typer.Argument(..., help="The dataset whose stream gets the events."),
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A JSON lines file of events."),
    batch: int = typer.Option(1000, "--batch", min=1, help="Events per publish call."),
) -> None:
    """Publish the events of a JSON lines file to the stream that feeds a dataset."""
    from zhongtai.connect.streams import open_bus
    from zhongtai.features.streaming import dataset_stream

    stream = dataset_stream(context.store().spec("datasets", dataset))
    if stream is None:
        raise ZhongtaiError("invalid_argument", f"dataset '{dataset}' is not fed by a stream")
    bus = open_bus(context.settings().bus_url)
    sent = 0
    try:
        with path.open(encoding="utf-8") as lines:
            chunk = []
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    chunk.append(_event(line, path, number))
                if len(chunk) >= batch:
                    bus.publish(stream.name, chunk)
                    sent, chunk = sent + len(chunk), []
            if chunk:
                bus.publish(stream.name, chunk)
                sent += len(chunk)
    finally:
        bus.close()
    err_console.print(f"published {sent:,} events to stream '{stream.name}'")


def _event(line: str, path: Path, number: int) -> dict:
    try:
        event = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ZhongtaiError("invalid_argument", f"{path}:{number}: not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise ZhongtaiError("invalid_argument", f"{path}:{number}: expected a JSON object")
    return event


def _check_ack_wait(bus_url: str, flush_seconds: float) -> None:
    """On NATS, events held longer than ack_wait would be redelivered while still held."""
    if not bus_url.startswith("nats://"):
        return
    from urllib.parse import parse_qsl, urlsplit

    from zhongtai.connect.streams.nats import DEFAULT_ACK_WAIT_S

    ack_wait = float(dict(parse_qsl(urlsplit(bus_url).query)).get("ack_wait", DEFAULT_ACK_WAIT_S))
    if flush_seconds * 2 >= ack_wait:
        raise ZhongtaiError(
            "invalid_argument",
            f"--flush-seconds {flush_seconds:g} is too close to the bus's ack_wait of {ack_wait:g} s",
            "flush at least twice as often as ack_wait (or raise ack_wait in ZT_BUS_URL)",
        )
