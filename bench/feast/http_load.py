"""HTTP load for the online-read benchmark, the same for Feast's server and ours: wrk (Debian package `wrk`).

wrk is a C load generator: its threads keep `connections` keep-alive connections busy, each sending the next
request as soon as the previous answer arrives (closed loop), and keep an HdrHistogram of latencies. Being C,
it takes a small share of the 2 cores the server also runs on, unlike a Python client. Each request POSTs a
JSON body in which `__ENTITY__` is replaced by a random entity id in [0, entities). Stdlib only, so both the
project's environment and Feast's (bench/.venv-feast) import it.

    wrk_post("http://127.0.0.1:8700", "/v1/features/online", body, entities=100_000, headers={...})
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

_SCRIPT = r"""
local prefix, suffix = %s, %s
local entities = %d
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%s
function init(args)
  -- one Lua state per wrk thread: seed each differently
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + tonumber(tostring({}):match("0x(%%x+)") or "0", 16))
end
function request()
  return wrk.format(nil, nil, nil, prefix .. math.random(0, entities - 1) .. suffix)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "non_2xx": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for ASCII text


def wrk_post(
    base_url: str,
    path: str,
    body: str,
    entities: int,
    headers: dict[str, str] | None = None,
    connections: int = 8,
    threads: int = 2,
    seconds: int = 10,
    warmup_seconds: int = 2,
) -> dict[str, Any]:
    """Requests/s and latency percentiles (ms) of `connections` connections POSTing `body` for `seconds`."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    prefix, _, suffix = body.partition("__ENTITY__")
    header_lines = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in (headers or {}).items()
    )
    script = _SCRIPT % (_lua_string(prefix), _lua_string(suffix), entities, header_lines)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        url = base_url.rstrip("/") + path
        if warmup_seconds:
            _run(wrk, url, handle.name, connections, threads, warmup_seconds)
        out = _run(wrk, url, handle.name, connections, threads, seconds)
    finally:
        Path(handle.name).unlink()
    figures = json.loads(next(line for line in out.splitlines() if line.startswith("WRK "))[4:])
    return {
        "client": f"wrk, {threads} threads, {connections} connections, {seconds} s",
        "requests": figures["requests"],
        "errors": figures["socket_errors"] + figures["non_2xx"],
        "rps": round(figures["requests"] / (figures["duration_us"] / 1e6), 1),
        "p50_ms": round(figures["p50_us"] / 1000, 3),
        "p90_ms": round(figures["p90_us"] / 1000, 3),
        "p99_ms": round(figures["p99_us"] / 1000, 3),
        "max_ms": round(figures["max_us"] / 1000, 3),
    }


def _run(wrk: str, url: str, script: str, connections: int, threads: int, seconds: int) -> str:
    done = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script, url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout
