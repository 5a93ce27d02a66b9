"""Decide under load, beside MLflow serve, BentoML and the assembled Feast + MLflow stack, in one run.

    python bench/decide.py [--customers 5000] [--seconds 20] [--rate 300] [--rate-seconds 60] [--quick]
    python bench/decide.py --check      # wrk, the peers' environments, free ports; then stop

The bench prepares the demo (`zhongtai demo`'s preparation: the retail scenario of --customers customers,
ingested, features built, the churn model trained, reviewed and made champion, an API key) in a throwaway
ZT_HOME. The peers serve LightGBM model text, so when the demo's champion is its linear baseline (it can win
on a small demo) the bench narrows the churn spec's candidates to LightGBM, applies it, trains, reviews and
makes that version champion: the world is the same for the same --customers. Then it measures, one server at
a time on this machine:

1. Zhongtai, `zhongtai serve` in a process of its own, one worker: full decisions (auth, online features,
   predict with contributions, rules, log) under wrk, 8 keep-alive connections for --seconds after a warm-up,
   each request a different demo customer; then a fixed --rate for --rate-seconds from the open-loop client
   (latency from each request's scheduled time); then the same wrk load with a shadow arm on (a second version
   trained and registered as `challenger`, scored beside every request), then with `--workers 2`.
2. BentoML 1.4 and MLflow 3.x (`mlflow models serve --env-manager local`), each in its own environment under
   bench/ (bench/decide_peers/setup.sh), serving the SAME LightGBM model text exported from the lake, bare:
   the request carries the feature vector. Same wrk load; the fixed rate too when the peer's closed-loop rate
   can carry it.
3. The assembled stack: `feast serve` over the same feature values materialized into Feast's SQLite online
   store, then MLflow serve, called in turn for each request by the asyncio client at 8 concurrent requests
   (wrk's Lua cannot chain two calls).

The bodies of every server are the same customers (those with stored features; a missing feature is null
for BentoML and Feast, NaN for MLflow's DataFrame). One answer of each peer is checked against Zhongtai's
score of the same customer. Every server started is stopped at the end, on failure too.
The last line is always one JSON object: a stage that failed is named in `error`, the figures taken before
it are kept and the others are null.

The earlier `--url/--key` mode (loading a gateway someone else started) is gone: the peers must serve the
very model the gateway serves, and only a demo the bench prepared itself lets it export that model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prerequisites import BENCH, CHECK_HELP, check_only, command, peer_environment

sys.path.insert(0, str(BENCH / "decide_peers"))
from load import LoadResult, RawPost, WrkResult, closed_loop, open_loop, parse_wrk, wrk_script

PEERS = BENCH / "decide_peers"
CAPABILITY = "churn-risk"
DECIDE = f"/v1/capabilities/{CAPABILITY}/decide"
JSON = {"Content-Type": "application/json"}
# The figures the JSON line always holds (null when the run stopped before taking them).
FIGURES = (
    "zt_rps",
    "zt_p99_ms",
    "zt_p99_ms_at_300",
    "zt_errors",
    "zt_shadow_rps",
    "zt_2workers_rps",
    "bento_rps",
    "mlflow_rps",
    "stack_rps",
)
TARGETS = {
    "zt_rps >= 3 x bento_rps": lambda r: _ratio(r["zt_rps"], r["bento_rps"]) >= 3,
    "zt_p99_ms_at_300 <= 10 with 0 errors": lambda r: (
        (r["zt_p99_ms_at_300"] or math.inf) <= 10 and r["zt_errors"] == 0
    ),
    "shadow costs <= 20% of throughput": lambda r: _ratio(r["zt_shadow_rps"], r["zt_rps"]) >= 0.8,
    "2 workers >= 1.7 x one": lambda r: _ratio(r["zt_2workers_rps"], r["zt_rps"]) >= 1.7,
}


def _ratio(a: float | None, b: float | None) -> float:
    return a / b if a is not None and b else math.nan


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


# --- servers ---------------------------------------------------------------------------------------------


class Servers:
    """Processes started by the bench, each in a session of its own so its workers stop with it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self, name: str, argv: list[str], env: dict[str, str], health: str, cwd: Path | None = None
    ) -> None:
        """Start `argv` (output to NAME.log in the run's folder) and wait until GET `health` answers 200."""
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.running[name] = process
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with status {process.returncode}: {self.tail(name)}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(health, timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise SystemExit(f"{name} did not answer {health} within 180 s: {self.tail(name)}")

    def pid(self, name: str) -> int:
        """The process id of a running server."""
        return self.running[name].pid

    def tail(self, name: str, lines: int = 5) -> str:
        """The last lines of a server's output, for an error message."""
        path = self.folder / f"{name}.log"
        text = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
        return " / ".join(text[-lines:]) or "(no output)"

    def stop(self, name: str) -> None:
        """SIGTERM the server's process group, SIGKILL what is left after 20 s."""
        process = self.running.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # workers that outlived their parent

    def stop_all(self) -> None:
        """Stop every server still running (the bench's exit path, failure included)."""
        for name in list(self.running):
            self.stop(name)


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- load ------------------------------------------------------------------------------------------------


@dataclass
class Load:
    """How hard and how long every server is loaded."""

    wrk: str
    connections: int
    threads: int
    seconds: int
    warmup: int
    rate: float
    rate_seconds: float
    folder: Path


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) a live process and all its live descendants have used: a server started by
    `Servers` with its workers and their helper processes, whatever session they put themselves in (/proc)."""
    parents: dict[int, int] = {}
    used: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            fields = (
                stat.read_text().rsplit(")", 1)[1].split()
            )  # after the name: state, ppid, ..., utime, stime
            pid = int(stat.parent.name)
            parents[pid], used[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += used.get(pid, 0)
        pending.extend(children.get(pid, ()))
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(
    load: Load, url: str, bodies: list[str], headers: dict[str, str], server: int
) -> tuple[WrkResult, float]:
    """A warm-up, then the measured wrk run with `--latency`, on the same Lua script; also how many cores the
    server's processes (process `server` and its descendants) kept busy during the measured run."""
    script = load.folder / f"wrk-{free_port()}.lua"
    base, path = url.split("/", 3)[:3], "/" + url.split("/", 3)[3]
    script.write_text(wrk_script(path, bodies, headers))
    target = "/".join(base) + "/"

    def wrk(seconds: int) -> str:
        argv = [load.wrk, f"-t{load.threads}", f"-c{load.connections}", f"-d{seconds}s", "--timeout", "10s"]
        done = subprocess.run(
            [*argv, "--latency", "-s", str(script), target],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"wrk failed on {url}: {(done.stderr or done.stdout).strip()}")
        return done.stdout

    if load.warmup:
        wrk(load.warmup)
    before, started = tree_cpu_seconds(server), time.perf_counter()
    figures = parse_wrk(wrk(load.seconds))
    cores = (tree_cpu_seconds(server) - before) / (time.perf_counter() - started)
    return figures, cores


def run_rate(
    load: Load, url: str, bodies: list[str], headers: dict[str, str], kinds: Counter[str]
) -> LoadResult:
    """The fixed rate from the open-loop client, each request a body in turn; `kinds` counts the failures
    by kind (`HTTP 503`, `TimeoutError`...)."""
    encoded = [body.encode() for body in bodies]

    async def run() -> LoadResult:
        client = RawPost(url, headers, max_connections=256)

        async def send(number: int) -> bool:
            try:
                status, _ = await client.post(encoded[number % len(encoded)])
            except Exception as exc:
                kinds[type(exc).__name__] += 1
                raise
            if status != 200:
                kinds[f"HTTP {status}"] += 1
            return status == 200

        try:
            return await open_loop(send, load.rate, load.rate_seconds)
        finally:
            client.close()

    return asyncio.run(run())


# --- the demo and its exports ----------------------------------------------------------------------------


@dataclass
class Demo:
    """The prepared demo: where, how to call it, and what the peers need of it."""

    home: Path
    env: dict[str, str]
    key: str
    ids: list[int]
    features: list[str]
    vectors: list[list[float]]
    scores: list[float]
    model_txt: Path
    seconds: float
    inprocess: LoadResult  # runtime.decide() timed in this process, one thread, every customer once


def prepare_demo(customers: int, folder: Path) -> Demo:
    """The demo in `folder`/home, the champion's model text exported, and every customer's feature vector
    and score as Zhongtai's runtime computes them (in this process, on the same stores)."""
    from zhongtai.capabilities.runtime import CapabilityRuntime
    from zhongtai.config import Settings
    from zhongtai.features.online import open_online_store
    from zhongtai.lake.reader import read_table
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore
    from zhongtai.models.artifacts import read_model_text
    from zhongtai.models.predictor import ARTIFACT_FORMAT
    from zhongtai.scenarios.retail.demo import MODEL, prepare

    home = folder / "home"
    # Only ZT_HOME: a ZT_METADATA_URL or ZT_ONLINE_URL of the caller must not receive the bench's demo.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZT_")} | {"ZT_HOME": str(home)}
    settings = Settings.from_env(env)
    started = time.perf_counter()
    report = prepare(settings, customers, 7, lambda stage, detail: _say(f"  {stage:<11} {detail}"))
    seconds = time.perf_counter() - started
    store = MetadataStore(settings.metadata_url)
    lake = LakeStorage(settings.lake_url)
    online = open_online_store(settings.online_url)
    try:
        version = store.models.by_alias(MODEL, "champion")
        if version.artifact_format != ARTIFACT_FORMAT:
            _say(
                f"  the champion {MODEL} v{version.version} is {version.artifact_format}: training LightGBM alone"
            )
            version = lightgbm_champion(store, lake, settings.home / "demo" / "retail" / "project")
        runtime = CapabilityRuntime.build(CAPABILITY, store, lake, online)
        if runtime.model_version != version.version:
            raise SystemExit(
                f"the capability serves v{runtime.model_version}, not the champion v{version.version}"
            )
        model_txt = folder / "model.txt"
        model_txt.write_text(read_model_text(lake, version.artifact))
        ids, vectors, scores, timed = [], [], [], []
        for raw in read_table(store, lake, "crm_customers")["customer_id"].to_pylist():
            t0 = time.perf_counter()
            decision = runtime.decide({runtime.input: raw})
            timed.append((time.perf_counter() - t0) * 1000)
            if decision.fallback or not decision.features:
                continue
            ids.append(int(raw))
            vectors.append([_as_float(decision.features.get(f)) for f in runtime.features])
            scores.append(float(decision.score or 0.0))
    finally:
        online.close()
        store.close()
    if not ids:
        raise SystemExit("no demo customer has stored features: nothing comparable to send the peers")
    _say(f"demo of {customers:,} customers ready in {seconds:.0f} s; {len(ids):,} with stored features")
    inprocess = LoadResult(timed[1:], 0, sum(timed[1:]) / 1000)  # the first call pays for lazy imports
    features = list(runtime.features)
    return Demo(home, env, report.api_key, ids, features, vectors, scores, model_txt, seconds, inprocess)


def lightgbm_champion(store: Any, lake: Any, project_dir: Path) -> Any:
    """Make a LightGBM version the churn champion: the model spec's candidates narrowed to LightGBM in the
    demo's project (its linear baseline can win on a small demo, and the peers serve LightGBM model text),
    applied, trained, reviewed and aliased as the demo does. The same seed gives the same world."""
    import yaml

    from zhongtai.models.predictor import ARTIFACT_FORMAT
    from zhongtai.models.train import train_model
    from zhongtai.scenarios.retail.demo import MODEL, promote
    from zhongtai.spec.plan import apply_plan, build_plan
    from zhongtai.spec.project import load_project

    path = project_dir / "models.yaml"
    document = yaml.safe_load(path.read_text())
    for model in document["models"]:
        if model["name"] == MODEL and model.get("candidates"):
            algorithms = model["candidates"]["algorithms"]
            model["candidates"]["algorithms"] = [a for a in algorithms if a["algorithm"] == "lightgbm"]
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    apply_plan(build_plan(load_project(project_dir), store), store, actor="bench")
    trained = train_model(store, lake, MODEL)
    if trained.artifact_format != ARTIFACT_FORMAT:
        raise SystemExit(
            f"{MODEL} v{trained.version} trained as {trained.artifact_format}, not LightGBM text"
        )
    promote(store, MODEL, trained.version)
    return trained


def _as_float(value: Any) -> float:
    """A feature value as the model sees it (the runtime's rule): a number, else missing (NaN)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _nulls(row: list[float]) -> list[float | None]:
    """A row for a JSON body that cannot carry NaN: a missing value as null."""
    return [None if math.isnan(v) else v for v in row]


def add_shadow(demo: Demo) -> int:
    """Train a second churn version, review it, point `challenger` at it and make it a shadow of every
    request (sample 1.0) through the live split; its version number."""
    from zhongtai.capabilities.traffic import checked_policy, set_split
    from zhongtai.config import Settings
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore
    from zhongtai.models import aliases
    from zhongtai.models.policy import ModelAction
    from zhongtai.models.review import review
    from zhongtai.models.train import train_model
    from zhongtai.scenarios.retail.demo import DEMO_REVIEWER, DEMO_SUBMITTER, MODEL

    settings = Settings.from_env(demo.env)
    store = MetadataStore(settings.metadata_url)
    try:
        trained = train_model(store, LakeStorage(settings.lake_url), MODEL)
        note = "bench/decide.py: the shadow's cost"
        review(store, MODEL, trained.version, ModelAction.SUBMIT, DEMO_SUBMITTER, note)
        review(store, MODEL, trained.version, ModelAction.APPROVE, DEMO_REVIEWER, note)
        aliases.move(store, MODEL, trained.version, "challenger", DEMO_REVIEWER, note)
        policy = checked_policy(
            {
                "arms": [{"name": "champion", "alias": "champion", "weight": 100}],
                "shadows": [{"name": "challenger", "alias": "challenger", "sample": 1.0}],
            }
        )
        set_split(store, CAPABILITY, policy, DEMO_REVIEWER, note)
        return trained.version
    finally:
        store.close()


def drop_shadow(demo: Demo) -> None:
    """The champion alone again."""
    from zhongtai.capabilities.traffic import checked_policy, set_split
    from zhongtai.config import Settings
    from zhongtai.meta.store import MetadataStore

    store = MetadataStore(Settings.from_env(demo.env).metadata_url)
    try:
        policy = checked_policy({"arms": [{"name": "champion", "alias": "champion", "weight": 100}]})
        set_split(store, CAPABILITY, policy, "demo-reviewer", "bench/decide.py: shadow off")
    finally:
        store.close()


def shadow_rows(demo: Demo) -> int:
    """Decisions the shadow logged (the proof it was scored), counted in the decision log."""
    from sqlalchemy import text

    from zhongtai.config import Settings
    from zhongtai.meta.store import MetadataStore

    store = MetadataStore(Settings.from_env(demo.env).metadata_url)
    try:
        with store.engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM decisions WHERE shadow_of IS NOT NULL")
                ).scalar_one()
            )
    finally:
        store.close()


def feast_data(demo: Demo, folder: Path) -> Path:
    """The feature values as Feast's offline source: customer_id, event_timestamp, f0..fN."""
    from datetime import UTC, datetime, timedelta

    import pyarrow as pa
    import pyarrow.parquet as pq

    when = datetime.now(UTC) - timedelta(days=1)
    columns: dict[str, Any] = {
        "customer_id": pa.array(demo.ids, pa.int64()),
        "event_timestamp": pa.array([when] * len(demo.ids), pa.timestamp("us", tz="UTC")),
    }
    for index in range(len(demo.features)):
        columns[f"f{index}"] = pa.array([_nulls(row)[index] for row in demo.vectors], pa.float64())
    path = folder / "features.parquet"
    pq.write_table(pa.table(columns), path)
    return path


# --- one run ---------------------------------------------------------------------------------------------


def _venv_python(peer: str) -> Path:
    return BENCH / f".venv-{peer}" / "bin" / "python"


def check(args: argparse.Namespace) -> dict[str, Path]:
    """wrk, the three peer environments (made when missing) and free ports, in seconds when all is there."""
    command("wrk")
    pythons = {}
    for peer, setup in (
        ("mlflow", PEERS / "setup_mlflow.sh"),
        ("bentoml", PEERS / "setup_bentoml.sh"),
        ("feast", BENCH / "feast" / "setup.sh"),
    ):
        if not _venv_python(peer).exists():
            _say(f"making the {peer} environment (a few minutes from PyPI, once)")
        pythons[peer] = peer_environment(setup)
    ports = {free_port() for _ in range(6)}
    if len(ports) < 6:
        raise SystemExit("could not find 6 free ports on 127.0.0.1")
    return pythons


def versions(pythons: dict[str, Path], wrk: str) -> dict[str, str]:
    """Versions of what was measured: the peers' packages, wrk, Python, and the core count."""
    found = {"python": platform.python_version(), "cores": str(os.cpu_count())}
    for peer, module in (("mlflow", "mlflow"), ("bentoml", "bentoml"), ("feast", "feast")):
        done = subprocess.run(
            [str(pythons[peer]), "-c", f"import {module}; print({module}.__version__)"],
            capture_output=True,
            text=True,
            check=False,
        )
        found[peer] = done.stdout.strip() or "?"
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    found["wrk"] = (done.stdout or done.stderr).split(" [", 1)[0].strip()
    return found


def measure(
    args: argparse.Namespace, pythons: dict[str, Path], folder: Path, servers: Servers, result: dict[str, Any]
) -> None:
    """Every measurement of the run, one server at a time, into `result` (the JSON line's figures) as each
    is taken, so a run cut short still reports what it measured."""
    load = Load(
        command("wrk"), args.connections, 2, args.seconds, args.warmup, args.rate, args.rate_seconds, folder
    )
    result.update(customers=args.customers, connections=args.connections)
    began = time.perf_counter()
    result["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    demo = prepare_demo(args.customers, folder)
    result.update(demo_seconds=round(demo.seconds, 1), bodies=len(demo.ids), features=len(demo.features))
    result.update(
        inprocess_p50_ms=round(demo.inprocess.p(50), 3),
        inprocess_p99_ms=round(demo.inprocess.p(99), 3),
        inprocess_rps=round(demo.inprocess.rps, 1),
    )
    zt_bodies = [json.dumps({"customer_id": i}) for i in demo.ids]
    auth = {"Authorization": f"Bearer {demo.key}"}
    zt_python = sys.executable

    def zhongtai(label: str, workers: int) -> str:
        port = free_port()
        argv = [zt_python, "-m", "zhongtai", "serve", "--port", str(port), "--workers", str(workers)]
        servers.start(label, argv, demo.env, f"http://127.0.0.1:{port}/healthz")
        url = f"http://127.0.0.1:{port}{DECIDE}"
        answer = httpx.post(url, content=zt_bodies[0], headers={**auth, **JSON})
        if answer.status_code != 200 or abs(answer.json()["score"] - demo.scores[0]) > 1e-9:
            raise SystemExit(f"{label} answered {answer.status_code} unlike the in-process runtime")
        return url

    def record(prefix: str, measured: tuple[WrkResult, float]) -> None:
        figures, cores = measured
        result.update(
            {
                f"{prefix}_rps": round(figures.rps, 1),
                f"{prefix}_p50_ms": round(figures.p(50), 2),
                f"{prefix}_p99_ms": round(figures.p(99), 2),
                f"{prefix}_wrk_errors": figures.errors,
                f"{prefix}_server_cores": round(cores, 2),
                f"{prefix}_rps_per_core": round(figures.rps / cores, 1) if cores > 0 else None,
            }
        )
        _say(
            f"{prefix}: {figures.rps:,.0f} requests/s, p99 {figures.p(99):.2f} ms, {figures.errors} errors; "
            f"the server kept {cores:.2f} cores busy"
        )

    def at_rate(prefix: str, url: str, bodies: list[str], headers: dict[str, str]) -> None:
        # Zhongtai's run is its target, so it always runs; a peer that cannot carry the rate is not queued
        # for a minute to prove it.
        if prefix != "zt" and result[f"{prefix}_rps"] < 1.2 * args.rate:
            result.update(
                {f"{prefix}_p50_ms_at_{args.rate:.0f}": None, f"{prefix}_p99_ms_at_{args.rate:.0f}": None}
            )
            _say(
                f"{prefix}: {result[f'{prefix}_rps']:.0f} requests/s cannot carry {args.rate:.0f}/s: not run"
            )
            return
        kinds: Counter[str] = Counter()
        fixed = run_rate(load, url, bodies, headers, kinds)
        result[f"{prefix}_error_kinds_at_{args.rate:.0f}"] = dict(kinds)
        rate = f"{args.rate:.0f}"
        result.update(
            {
                f"{prefix}_p50_ms_at_{rate}": round(fixed.p(50), 2),
                f"{prefix}_p99_ms_at_{rate}": round(fixed.p(99), 2),
                f"{prefix}_errors_at_{rate}": fixed.errors,
                f"{prefix}_generator_late_ms_at_{rate}": fixed.started_late_ms,
            }
        )
        _say(f"{prefix} at {rate}/s: p99 {fixed.p(99):.2f} ms, {fixed.errors} errors")

    # Zhongtai: one worker, the fixed rate, the shadow, two workers.
    url = zhongtai("zhongtai", 1)
    record("zt", run_wrk(load, url, zt_bodies, auth, servers.pid("zhongtai")))
    at_rate("zt", url, zt_bodies, auth)
    result["zt_errors"] = result.get(f"zt_errors_at_{args.rate:.0f}")
    result["zt_p99_ms_at_300"] = result.get(f"zt_p99_ms_at_{args.rate:.0f}")
    servers.stop("zhongtai")
    result["shadow_version"] = add_shadow(demo)
    before = shadow_rows(demo)
    url = zhongtai("zhongtai-shadow", 1)
    record("zt_shadow", run_wrk(load, url, zt_bodies, auth, servers.pid("zhongtai-shadow")))
    servers.stop("zhongtai-shadow")
    result["zt_shadow_logged"] = shadow_rows(demo) - before
    drop_shadow(demo)
    url = zhongtai("zhongtai-2workers", 2)
    record("zt_2workers", run_wrk(load, url, zt_bodies, auth, servers.pid("zhongtai-2workers")))
    servers.stop("zhongtai-2workers")

    # The bare-model peers, on the same model text and feature vectors.
    peer_env = {**os.environ, "OMP_NUM_THREADS": "1", "BENTOML_HOME": str(folder / "bentoml")}
    # `mlflow models serve` starts `uvicorn` by name: its environment's bin first on PATH.
    peer_env["PATH"] = f"{pythons['mlflow'].parent}{os.pathsep}{os.environ.get('PATH', '')}"
    peer_env["ZT_BENCH_MODEL"] = str(demo.model_txt)
    columns = [f"f{i}" for i in range(len(demo.features))]
    bento_bodies = [json.dumps({"rows": [_nulls(v)]}) for v in demo.vectors]
    port = free_port()
    bentoml = str(pythons["bentoml"].parent / "bentoml")
    argv = [bentoml, "serve", "bento_service:ChurnModel", "--host", "127.0.0.1", "--port", str(port)]
    servers.start("bentoml", argv, peer_env, f"http://127.0.0.1:{port}/readyz", cwd=PEERS)
    url = f"http://127.0.0.1:{port}/predict"
    _same_score("bentoml", httpx.post(url, content=bento_bodies[0], headers=JSON).json()[0], demo.scores[0])
    record("bento", run_wrk(load, url, bento_bodies, {}, servers.pid("bentoml")))
    at_rate("bento", url, bento_bodies, {})
    servers.stop("bentoml")

    model_dir = folder / "mlflow-model"
    subprocess.run(
        [str(pythons["mlflow"]), str(PEERS / "mlflow_model.py"), str(demo.model_txt), str(model_dir)],
        env=peer_env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    mlflow = str(pythons["mlflow"].parent / "mlflow")
    argv = [mlflow, "models", "serve", "-m", str(model_dir), "-h", "127.0.0.1", "-p", str(port)]
    servers.start(
        "mlflow", [*argv, "--env-manager", "local", "-w", "1"], peer_env, f"http://127.0.0.1:{port}/ping"
    )
    mlflow_url = f"http://127.0.0.1:{port}/invocations"
    # A missing value goes as the NaN literal (Python's JSON reader takes it): a null would make a one-row
    # DataFrame column of objects, which LightGBM refuses.
    mlflow_bodies = [json.dumps({"dataframe_split": {"columns": columns, "data": [v]}}) for v in demo.vectors]
    first = httpx.post(mlflow_url, content=mlflow_bodies[0], headers=JSON)
    _same_score("mlflow", _mlflow_score(first.json()), demo.scores[0])
    record("mlflow", run_wrk(load, mlflow_url, mlflow_bodies, {}, servers.pid("mlflow")))
    at_rate("mlflow", mlflow_url, mlflow_bodies, {})

    # The assembled stack: Feast's feature server, then MLflow serve, for each request.
    repo = folder / "feast-repo"
    done = subprocess.run(
        [str(pythons["feast"]), str(PEERS / "feast_repo.py"), str(repo), str(feast_data(demo, folder))],
        env=peer_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the Feast repo failed: {(done.stderr or done.stdout).strip().splitlines()[-3:]}")
    port = free_port()
    feast = str(pythons["feast"].parent / "feast")
    argv = [feast, "-c", str(repo), "serve", "-h", "127.0.0.1", "-p", str(port), "--no-access-log"]
    servers.start("feast", argv, peer_env, f"http://127.0.0.1:{port}/health")
    kinds: Counter[str] = Counter()
    stack = run_stack(f"http://127.0.0.1:{port}/get-online-features", mlflow_url, demo, args, kinds)
    result["stack_error_kinds"] = dict(kinds)
    result.update(
        stack_rps=round(stack.rps, 1),
        stack_p50_ms=round(stack.p(50), 2),
        stack_p99_ms=round(stack.p(99), 2),
        stack_errors=stack.errors,
    )
    _say(f"stack: {stack.rps:,.0f} requests/s, p99 {stack.p(99):.2f} ms, {stack.errors} errors")
    servers.stop("feast")
    servers.stop("mlflow")
    result["seconds"] = round(time.perf_counter() - began, 1)


def _mlflow_score(body: Any) -> float:
    """MLflow's answer (`{"predictions": [p]}`) as the one probability."""
    found = body["predictions"] if isinstance(body, dict) else body
    return float(found[0])


def _same_score(peer: str, theirs: float, ours: float) -> None:
    """Stop unless the peer scores the first customer as Zhongtai does: the same model on the same vector."""
    if abs(theirs - ours) > 1e-6:
        raise SystemExit(
            f"{peer} scores the first customer {theirs:.6f}, Zhongtai {ours:.6f}: not the same model"
        )


def run_stack(
    feast_url: str, mlflow_url: str, demo: Demo, args: argparse.Namespace, kinds: Counter[str]
) -> LoadResult:
    """8 (--connections) concurrent clients, each request a Feast read of the customer's features and then
    an MLflow prediction on them; a request is good when both calls answer 200."""
    names = [f"churn:f{i}" for i in range(len(demo.features))]
    columns = [f"f{i}" for i in range(len(demo.features))]

    async def run() -> LoadResult:
        feast, mlflow = RawPost(feast_url, {}), RawPost(mlflow_url, {})

        async def send(number: int) -> bool:
            try:
                return await chained(number)
            except Exception as exc:
                kinds[type(exc).__name__] += 1
                raise

        async def chained(number: int) -> bool:
            index = number % len(demo.ids)
            read = {"features": names, "entities": {"customer_id": [demo.ids[index]]}}
            status, answer = await feast.post(json.dumps(read).encode())
            if status != 200:
                kinds[f"Feast HTTP {status}"] += 1
                return False
            body = json.loads(answer)
            found = dict(zip(body["metadata"]["feature_names"], body["results"], strict=True))
            row = [math.nan if v is None else v for v in (found[c]["values"][0] for c in columns)]
            # json.dumps writes a missing value as NaN, which MLflow's reader takes.
            frame = json.dumps({"dataframe_split": {"columns": columns, "data": [row]}})
            status, _ = await mlflow.post(frame.encode())
            if status != 200:
                kinds[f"MLflow HTTP {status}"] += 1
            return status == 200

        warm_until = time.perf_counter() + args.warmup
        while time.perf_counter() < warm_until:
            await send(0)
        try:
            return await closed_loop(send, args.connections, args.seconds)
        finally:
            feast.close()
            mlflow.close()

    return asyncio.run(run())


# --- report ----------------------------------------------------------------------------------------------


def table(result: dict[str, Any], rate: str) -> None:
    """The side-by-side table, then the targets met or not."""
    rows = [
        ("Zhongtai decide, 1 worker (full decision)", "zt"),
        ("Zhongtai decide, shadow arm on", "zt_shadow"),
        ("Zhongtai decide, 2 workers", "zt_2workers"),
        ("BentoML 1.4, bare model", "bento"),
        ("MLflow serve, bare model", "mlflow"),
        ("Feast serve + MLflow serve (Python client)", "stack"),
        ("runtime.decide() in process, 1 thread, no HTTP", "inprocess"),
    ]

    def cell(key: str) -> str:
        value = result.get(key)
        return "-" if value is None else f"{value:,}"

    print(
        f"{'server':46}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{f'p99@{rate}/s':>12}{'errors':>8}"
        f"{'cores':>7}{'req/core-s':>12}"
    )
    for label, prefix in rows:
        errors = result.get(f"{prefix}_wrk_errors", result.get(f"{prefix}_errors"))
        print(
            f"{label:46}{cell(prefix + '_rps'):>10}{cell(prefix + '_p50_ms'):>9}{cell(prefix + '_p99_ms'):>9}"
            f"{'-' if errors is None else errors:>8}{cell(f'{prefix}_p99_ms_at_{rate}'):>12}"
            f"{cell(f'{prefix}_errors_at_{rate}'):>8}{cell(prefix + '_server_cores'):>7}"
            f"{cell(prefix + '_rps_per_core'):>12}"
        )
    print(
        f"load: {result['load_generator']}; {os.cpu_count()} cores shared by the servers and the "
        f"load; {result.get('bodies') or 0:,} different customers cycled"
    )
    if "error" in result:
        print(f"the run stopped early: {result['error']}")
    for name, met in result["targets"].items():
        print(f"target {name}: {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=5000, help="size of the demo")
    parser.add_argument("--seconds", type=int, default=20, help="length of each wrk run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load before each measured run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=float, default=300, help="requests/s of the fixed-rate run")
    parser.add_argument("--rate-seconds", type=float, default=60, help="length of the fixed-rate run")
    parser.add_argument("--quick", action="store_true", help="5 s runs, 15 s at the rate")
    parser.add_argument("--check", action="store_true", help=CHECK_HELP)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.rate_seconds = 5, 1, 15
    # The JSON line is printed whatever happens: a stage that fails is named in `error`, and every figure
    # taken before it is there (the ones not taken are null).
    result: dict[str, Any] = dict.fromkeys(FIGURES)
    result["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    pythons: dict[str, Path] = {}
    try:
        pythons = check(args)
        check_only(args.check, "decide")
        with tempfile.TemporaryDirectory(prefix="zt-bench-decide-") as name:
            servers = Servers(Path(name))
            try:
                measure(args, pythons, Path(name), servers, result)
            finally:
                servers.stop_all()
    except SystemExit as exc:
        if args.check and exc.code in (0, None):
            raise  # --check: everything is there; stop as asked
        result["error"] = str(exc.code)
        _say(f"stopped: {exc.code}")
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        _say(f"failed: {result['error']}")
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["load_generator"] = (
        f"wrk, 2 threads, {args.connections} connections, {args.seconds} s after {args.warmup} s warm-up; "
        f"{args.rate:.0f}/s open loop (asyncio streams) for {args.rate_seconds:.0f} s; "
        f"the stack: asyncio streams, {args.connections} concurrent (closed loop)"
    )
    if len(pythons) == 3:
        result["versions"] = versions(pythons, shutil.which("wrk") or "wrk")
    result["targets"] = {name: bool(test(result)) for name, test in TARGETS.items()}
    table(result, f"{args.rate:.0f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
