"""Load generation of bench/decide.py: wrk for the closed loop, an asyncio client for the fixed rate.

- `wrk_script(path, bodies, headers)`: the Lua script that makes wrk POST `bodies` in turn (each wrk thread
  cycles through all of them from its own offset), so every request is a real, different customer.
- `parse_wrk(stdout)`: requests, seconds, requests/s, the `--latency` percentiles (ms) and the errors (socket
  errors plus non-2xx/3xx answers) from wrk's text report.
- `open_loop(send, rate, seconds)`: requests started at fixed times (i / rate after the start) whatever the
  server does, each one's latency measured from its SCHEDULED time, so a stalled server is charged for the
  requests that queue behind it (no coordinated omission).
- `closed_loop(send, concurrency, seconds)`: `concurrency` workers each sending the next request as soon as
  the last one answered, for a client that must chain calls (Feast, then MLflow) and so cannot be Lua.

Stdlib only: the project's environment imports it, and the tests run it without servers.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h)$")
_PERCENTILE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)%\s+(\S+)\s*$")
_TOTAL = re.compile(r"^\s*([0-9]+) requests in (\S+),")
_SOCKET = re.compile(r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: ([0-9]+)")

_LUA = """-- written by bench/decide.py: POST the bodies in turn, each thread from its own offset
local bodies = {%(bodies)s}
local path = %(path)s
local headers = {%(headers)s}
local threads_made = 0
local n = 0
function setup(thread)
  thread:set("offset", threads_made * 7919)
  threads_made = threads_made + 1
end
function init(args)
  n = offset or 0
end
function request()
  n = n + 1
  return wrk.format("POST", path, headers, bodies[(n %% #bodies) + 1])
end
"""


def _lua(text: str) -> str:
    # A JSON string literal is a valid Lua string literal for ASCII text (json.dumps escapes the rest).
    return json.dumps(text)


def wrk_script(path: str, bodies: Sequence[str], headers: dict[str, str]) -> str:
    """The Lua script that POSTs `bodies` to `path` in turn with `headers` (JSON content type added)."""
    if not bodies:
        raise ValueError("wrk needs at least one request body")
    every = {"Content-Type": "application/json", **headers}
    return _LUA % {
        "bodies": ",\n".join(_lua(body) for body in bodies),
        "path": _lua(path),
        "headers": ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in every.items()),
    }


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured; latencies in milliseconds."""

    requests: int
    seconds: float
    rps: float
    percentiles_ms: dict[float, float]
    socket_errors: int
    non_2xx: int

    @property
    def errors(self) -> int:
        """Failed requests: socket errors (connect, read, write, timeout) and non-2xx/3xx answers."""
        return self.socket_errors + self.non_2xx

    def p(self, q: float) -> float:
        """The q-th percentile (ms) wrk reported, NaN when it printed none (run without --latency)."""
        return self.percentiles_ms.get(q, math.nan)


def duration_ms(text: str) -> float:
    """A wrk duration (`812.00us`, `1.25ms`, `2.01s`, `1.00m`) in milliseconds."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(found.group(1)) * _UNITS_MS[found.group(2)]


def parse_wrk(stdout: str) -> WrkResult:
    """The figures of wrk's report (run with `--latency`); ValueError when it has no request total."""
    percentiles: dict[float, float] = {}
    total: tuple[int, float] | None = None
    socket_errors = non_2xx = 0
    in_distribution = False
    for line in stdout.splitlines():
        if "Latency Distribution" in line:
            in_distribution = True
            continue
        point = _PERCENTILE.match(line) if in_distribution else None
        if point is not None:
            percentiles[float(point.group(1))] = duration_ms(point.group(2))
            continue
        in_distribution = False
        if found := _TOTAL.match(line):
            total = int(found.group(1)), duration_ms(found.group(2)) / 1000
        elif found := _SOCKET.search(line):
            socket_errors = sum(int(g) for g in found.groups())
        elif found := _NON_2XX.search(line):
            non_2xx = int(found.group(1))
    if total is None:
        raise ValueError("wrk printed no request total (`N requests in T`): did it run?")
    requests, seconds = total
    return WrkResult(
        requests=requests,
        seconds=seconds,
        rps=requests / seconds if seconds > 0 else 0.0,
        percentiles_ms=percentiles,
        socket_errors=socket_errors,
        non_2xx=non_2xx,
    )


@dataclass
class LoadResult:
    """Latencies (ms) and failures of a Python-driven load, and its wall seconds."""

    latencies_ms: list[float]
    errors: int
    seconds: float
    started_late_ms: float = 0.0  # how far behind schedule the generator itself started its latest request

    @property
    def requests(self) -> int:
        """Requests sent, answered or not."""
        return len(self.latencies_ms)

    @property
    def rps(self) -> float:
        """Requests completed per second of the run."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def p(self, q: float) -> float:
        """The q-th percentile (nearest rank) of the latencies, NaN without any."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return math.nan
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        return ordered[rank - 1]


Send = Callable[[int], Awaitable[bool]]  # request number -> answered well


async def open_loop(
    send: Send, rate: float, seconds: float, clock: Callable[[], float] = time.perf_counter
) -> LoadResult:
    """Start request i at `start + i / rate` for `seconds`, each in its own task whatever the earlier ones
    are doing; its latency runs from that scheduled time to its answer. A send that raises is an error."""
    count = max(1, int(rate * seconds))
    latencies = [math.nan] * count
    failed = [False] * count
    start = clock()
    latest_lag = 0.0

    async def one(number: int, due: float) -> None:
        try:
            ok = await send(number)
        except Exception:  # a refused or broken connection is an error of the server under test
            ok = False
        latencies[number] = (clock() - due) * 1000
        failed[number] = not ok

    tasks = []
    for number in range(count):
        due = start + number / rate
        wait = due - clock()
        if wait > 0:
            await asyncio.sleep(wait)
        latest_lag = max(latest_lag, clock() - due)
        tasks.append(asyncio.create_task(one(number, due)))
    await asyncio.gather(*tasks)
    return LoadResult(latencies, sum(failed), clock() - start, round(latest_lag * 1000, 3))


async def closed_loop(
    send: Send, concurrency: int, seconds: float, clock: Callable[[], float] = time.perf_counter
) -> LoadResult:
    """`concurrency` workers, each sending its next request when its last one answered, until `seconds`
    have passed; latency of each request from its own start."""
    latencies: list[float] = []
    errors = 0
    start = clock()
    stop = start + seconds
    counter = iter(range(2**62))

    async def worker() -> None:
        nonlocal errors
        while clock() < stop:
            began = clock()
            try:
                ok = await send(next(counter))
            except Exception:  # a refused or broken connection is an error of the servers under test
                ok = False
            latencies.append((clock() - began) * 1000)
            errors += not ok

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(latencies, errors, clock() - start)


class RawPost:
    """A lean HTTP/1.1 keep-alive POST client on asyncio streams, so the client's own CPU (httpx costs about
    a millisecond a request) does not decide the latency it measures. Connections are opened as needed, up to
    `max_connections`, and reused; a request waits for a free one beyond that."""

    IDLE_SECONDS = 2.0

    def __init__(
        self, url: str, headers: dict[str, str], max_connections: int = 64, timeout: float = 10
    ) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        every = {"Host": f"{self.host}:{self.port}", "Content-Type": "application/json", **headers}
        self.head = f"POST {parts.path or '/'} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in every.items()
        )
        self.timeout = timeout
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.slots = asyncio.Semaphore(max_connections)

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """Status and body of one POST; a broken connection is dropped, and the error raised."""
        async with self.slots:
            connection = await self._connection()
            try:
                answer = await asyncio.wait_for(self._exchange(connection, body), self.timeout)
            except BaseException:
                connection[1].close()
                raise
            self.idle.append((*connection, time.monotonic()))
            return answer

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """An idle connection the server has not closed, else a new one. Servers close keep-alive
        connections idle for a few seconds (uvicorn: 5 s), so one idle for 2 s or more is not reused: a
        request must not fail for the client's stale connection."""
        now = time.monotonic()
        while self.idle:
            reader, writer, since = self.idle.pop()
            if now - since < self.IDLE_SECONDS and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def _exchange(
        self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], body: bytes
    ) -> tuple[int, bytes]:
        reader, writer = connection
        writer.write(f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)
        }
        if fields.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            return status, b"".join(chunks)
        return status, await reader.readexactly(int(fields.get("content-length", "0")))

    def close(self) -> None:
        """Close every idle connection."""
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()
