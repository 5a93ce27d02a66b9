"""bench/decide_peers/load.py: wrk's report parsed, and the open loop's latency counted from scheduled times."""

from __future__ import annotations

import asyncio
import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "decide_peers" / "load.py"
    spec = importlib.util.spec_from_file_location("decide_load", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["decide_load"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


load = _load()

WRK_REPORT = """Running 20s test @ http://127.0.0.1:40123/v1/capabilities/churn-risk/decide
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.95ms    3.10ms   1.02s    91.20%
    Req/Sec   505.31     40.12   610.00     71.00%
  Latency Distribution
     50%  812.00us
     75%    8.40ms
     90%   11.25ms
     99%    1.01s
  20213 requests in 20.02s, 9.87MB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec:   1009.64
Transfer/sec:    504.79KB
"""


def test_parse_wrk_reads_totals_percentiles_in_their_units_and_errors() -> None:
    result = load.parse_wrk(WRK_REPORT)
    assert result.requests == 20213
    assert result.seconds == pytest.approx(20.02)
    assert result.rps == pytest.approx(20213 / 20.02)
    assert result.p(50) == pytest.approx(0.812)
    assert result.p(75) == pytest.approx(8.4)
    assert result.p(99) == pytest.approx(1010.0)
    assert (result.socket_errors, result.non_2xx, result.errors) == (7, 5, 12)


def test_parse_wrk_clean_run_has_no_errors_and_no_percentiles_without_latency_flag() -> None:
    text = "Running 1s test @ http://x/\n  100 requests in 1.00s, 1KB read\nRequests/sec: 100.00\n"
    result = load.parse_wrk(text)
    assert (result.requests, result.errors) == (100, 0)
    assert math.isnan(result.p(99))


def test_parse_wrk_refuses_output_without_a_total() -> None:
    with pytest.raises(ValueError, match="no request total"):
        load.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


@pytest.mark.parametrize(
    ("text", "ms"), [("5.00us", 0.005), ("2.5ms", 2.5), ("1.50s", 1500.0), ("2.00m", 120_000.0)]
)
def test_duration_units(text: str, ms: float) -> None:
    assert load.duration_ms(text) == pytest.approx(ms)


def test_wrk_script_cycles_every_body_with_headers() -> None:
    script = load.wrk_script("/v1/x", ['{"customer_id": 1}', '{"customer_id": 2}'], {"Authorization": "B k"})
    assert '"{\\"customer_id\\": 1}",\n"{\\"customer_id\\": 2}"' in script
    assert '["Authorization"] = "B k"' in script and '["Content-Type"] = "application/json"' in script
    assert "bodies[(n % #bodies) + 1]" in script


class FakeClock:
    """Time that moves only when the code under test sleeps or a fake request takes its service time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_open_loop_charges_queueing_from_the_scheduled_time() -> None:
    """A server that answers one request at a time in 50 ms, asked for 100/s: request i is due at i × 10 ms
    and answered at (i + 1) × 50 ms, so its latency is 50 + 40 i ms; a closed-loop client would see 50 ms."""
    clock = FakeClock()
    start = clock.now
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        clock.now += seconds
        await real_sleep(0)

    async def send(number: int) -> bool:
        # One at a time: request i is answered when the i earlier ones and itself have had 50 ms each.
        clock.now = max(clock.now, start + 0.05 * (number + 1))
        return number != 3

    async def run() -> object:
        asyncio_sleep, load.asyncio.sleep = load.asyncio.sleep, fake_sleep
        try:
            return await load.open_loop(send, rate=100, seconds=0.05, clock=clock)
        finally:
            load.asyncio.sleep = asyncio_sleep

    result = asyncio.run(run())
    assert result.requests == 5
    assert result.latencies_ms == pytest.approx([50.0 + 40.0 * i for i in range(5)])
    assert result.errors == 1
    assert result.p(50) == pytest.approx(130.0)
    assert result.p(99) == pytest.approx(210.0)


def test_open_loop_counts_a_raising_send_as_an_error_and_keeps_going() -> None:
    async def send(number: int) -> bool:
        if number % 2:
            raise ConnectionError("refused")
        return True

    result = asyncio.run(load.open_loop(send, rate=1000, seconds=0.01))
    assert result.requests == 10
    assert result.errors == 5
    assert all(latency >= 0 for latency in result.latencies_ms)


def test_closed_loop_runs_concurrent_workers_until_the_time_is_up() -> None:
    clock = FakeClock()
    active = 0
    most = 0

    async def send(number: int) -> bool:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0)
        clock.now += 0.001
        active -= 1
        return True

    result = asyncio.run(load.closed_loop(send, concurrency=4, seconds=0.02, clock=clock))
    assert most == 4
    assert result.errors == 0
    assert 15 <= result.requests <= 24
    assert all(latency >= 1.0 - 1e-9 for latency in result.latencies_ms)


def test_raw_post_reads_length_and_chunked_answers_on_one_kept_connection() -> None:
    """Against an in-process asyncio server: two answers (Content-Length, then chunked) on one connection."""
    seen: list[bytes] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        for answer in (
            b'HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n{"a":1}',
            b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        ):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            seen.append(head.split(b"\r\n")[0] + b" " + await reader.readexactly(length))
            writer.write(answer)
            await writer.drain()
        writer.close()

    async def run() -> list[tuple[int, bytes]]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = load.RawPost(f"http://127.0.0.1:{port}/v1/x", {"Authorization": "Bearer k"})
        try:
            return [await client.post(b'{"id": 1}'), await client.post(b"{}")]
        finally:
            client.close()
            server.close()

    answers = asyncio.run(run())
    assert answers == [(200, b'{"a":1}'), (503, b"abcde")]
    assert seen == [b'POST /v1/x HTTP/1.1 {"id": 1}', b"POST /v1/x HTTP/1.1 {}"]
    assert connections == 1


def test_raw_post_does_not_reuse_a_connection_the_server_closed() -> None:
    """A server that closes each connection after one answer (as one does after its keep-alive timeout):
    the next request opens a new connection instead of failing on the stale one."""
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0]))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def run() -> list[tuple[int, bytes]]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        client = load.RawPost(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/", {})
        try:
            first = await client.post(b"{}")
            await asyncio.sleep(0.05)  # the server's close reaches the client
            return [first, await client.post(b"{}")]
        finally:
            client.close()
            server.close()

    assert asyncio.run(run()) == [(200, b"ok"), (200, b"ok")]
    assert connections == 2
