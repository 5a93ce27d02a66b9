"""The demo flow the security bench attacks and scans: `zhongtai demo` until it serves, its printed curls,
hostile requests carrying the generated customers' PII, ingest errors with PII in the failing rows, and the
processes and logs of it all.

Every process is started in a session of its own with its output in a log file of the run's folder, and
stopped (SIGTERM, then SIGKILL) by the bench; the logs are what the PII scan reads. Used by
bench/security.py and tests/govern/test_pii_scan.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from security_pii import Needles

_CONSOLE = re.compile(r"\(admin key: (zt_[A-Za-z0-9_\-]+)\)")
_CURL = re.compile(r"^curl -s -X POST (\S+) -H 'Authorization: Bearer (\S+)' -H '[^']*' -d '(.*)'$")


def say(text: str) -> None:
    """Progress on stderr (stdout holds the report)."""
    print(f"security: {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Processes:
    """Processes started by the bench, each in its own session with stdout and stderr in NAME.out/.err."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        """Start `argv` in the background."""
        with (self.folder / f"{name}.out").open("wb") as out, (self.folder / f"{name}.err").open("wb") as err:
            process = subprocess.Popen(argv, env=self.env, stdout=out, stderr=err, start_new_session=True)
        self.running[name] = process
        return process

    def run(self, name: str, argv: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run `argv` to its end; its output is kept in the logs and returned."""
        done = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        (self.folder / f"{name}.out").write_text(done.stdout)
        (self.folder / f"{name}.err").write_text(done.stderr)
        return done

    def wait_healthy(self, name: str, url: str, timeout: float = 900) -> None:
        """Until GET url/healthz answers 200; stops the bench if the process exits first."""
        process = self.running[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (self.folder / f"{name}.err").read_text(errors="replace")[-1500:]
                raise SystemExit(f"{name} exited with status {process.returncode}: {tail}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise SystemExit(f"{name} did not answer {url}/healthz within {timeout:.0f} s")

    def stop(self, name: str) -> None:
        """SIGTERM the process group (the gateway flushes its decision log), SIGKILL after 30 s."""
        process = self.running.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop_all(self) -> None:
        """Stop whatever is still running."""
        for name in list(self.running):
            self.stop(name)


@dataclass
class Demo:
    """The served demo: its home, URL, the key it printed and the curls' URLs and bodies."""

    home: Path
    url: str
    key: str
    curls: list[tuple[str, str]]  # (url, body) as printed
    seconds: float
    secrets: dict[str, str] = field(default_factory=dict)  # secret -> label


def zhongtai(*args: str) -> list[str]:
    """The argv of a `zhongtai` command in this Python."""
    return [sys.executable, "-m", "zhongtai", *args]


def start_demo(processes: Processes, customers: int) -> Demo:
    """`zhongtai demo` in the background until it serves and has printed its curls."""
    home = Path(processes.env["ZT_HOME"])
    port = free_port()
    started = time.perf_counter()
    processes.start("demo", zhongtai("demo", "--customers", str(customers), "--port", str(port)))
    url = f"http://127.0.0.1:{port}"
    processes.wait_healthy("demo", url)
    printed = processes.folder / "demo.out"
    deadline = time.monotonic() + 60
    while len(curls := [_CURL.match(line) for line in printed.read_text().splitlines()]) < 4:
        if time.monotonic() > deadline:
            raise SystemExit("zhongtai demo serves but did not print its curls")
        time.sleep(0.2)
    found = [m for m in curls if m is not None]
    if not found:
        raise SystemExit(f"zhongtai demo printed no curl this bench can read: {printed}")
    key = found[0].group(2)
    seconds = time.perf_counter() - started
    secrets = {key: "api key (demo)"}
    for line in printed.read_text().splitlines():
        if (console := _CONSOLE.search(line)) is not None:
            secrets[console.group(1)] = "api key (demo console)"
    return Demo(home, url, key, [(m.group(1), m.group(3)) for m in found], seconds, secrets)


def run_curls(demo: Demo) -> list[int]:
    """The printed curls, sent as printed; their statuses."""
    headers = {"Authorization": f"Bearer {demo.key}", "Content-Type": "application/json"}
    return [
        httpx.post(url, content=body.encode(), headers=headers, timeout=30).status_code
        for url, body in demo.curls
    ]


def create_admin_key(processes: Processes, demo: Demo) -> str:
    """An admin key made with the CLI (its one printed line is where a key is shown on purpose)."""
    done = processes.run(
        "keys-create", zhongtai("keys", "create", "--name", "bench-admin", "--role", "admin")
    )
    if done.returncode != 0:
        raise SystemExit(f"zhongtai keys create failed: {done.stderr[-500:]}")
    key = done.stdout.strip().splitlines()[-1]
    demo.secrets[key] = "api key (admin)"
    return key


def _pick(needles: Needles, kind: str) -> str:
    values = sorted(v for v, k in needles.values.items() if k == kind) or sorted(needles.names)
    return values[len(values) // 2]


def hostile_requests(demo: Demo, admin: str, needles: Needles) -> dict[str, int]:
    """Requests carrying real customers' PII where it does not belong: as keys, in context and text, in a
    job's keys, in feedback, in broken JSON, as an unknown name. Their statuses by request."""
    phone, email, card = _pick(needles, "phone"), _pick(needles, "email"), _pick(needles, "id_card")
    name = sorted(needles.names)[len(needles.names) // 2] if needles.names else "张伟"
    free = f"客户{name}，手机{phone}，邮箱{email}，身份证{card}"
    app = {"Authorization": f"Bearer {demo.key}"}
    boss = {"Authorization": f"Bearer {admin}"}
    churn = f"{demo.url}/v1/capabilities/churn-risk/decide"
    calls: dict[str, tuple[str, str, dict[str, str], Any]] = {
        "key is a phone": ("POST", churn, app, {"customer_id": phone}),
        "key is a name": ("POST", churn, app, {"customer_id": name}),
        "key is an email in a list": ("POST", churn, app, {"customer_id": [email, card]}),
        "pii in context": ("POST", churn, app, {"customer_id": 100005, "context": {"note": free}}),
        "context not an object": ("POST", churn, app, {"customer_id": 100005, "context": free}),
        "pii in intent text": (
            "POST",
            f"{demo.url}/v1/capabilities/intent/decide",
            app,
            {"customer_id": 100005, "text": f"我是{name}，电话{phone}，快递还没到"},
        ),
        "pii in a batch": ("POST", f"{churn}/batch", app, {"inputs": [{"customer_id": phone}, free]}),
        "pii in a job": (
            "POST",
            f"{demo.url}/v1/capabilities/churn-risk/node",
            app,
            {
                "job_key": phone,
                "business_key": email,
                "inputs": {"customer_id": 100005, "context": {"n": free}},
            },
        ),
        "pii as a capability name": ("POST", f"{demo.url}/v1/capabilities/{email}/decide", app, {}),
        "pii in broken json": ("POST", churn, app, f'{{"customer_id": "{phone}", "note": "{name}'),
        "pii in a catalog search": ("GET", f"{demo.url}/v1/catalog/search?q={phone}", boss, None),
        "pii as a model alias": ("GET", f"{demo.url}/v1/models/churn/history?alias={name}", boss, None),
        "pii as a key header": ("POST", churn, {"X-API-Key": phone}, {"customer_id": 100005}),
    }
    statuses = {}
    with httpx.Client(timeout=30) as client:
        for label, (method, url, headers, body) in calls.items():
            content = body if isinstance(body, str) else (None if body is None else json.dumps(body))
            sent = {"Content-Type": "application/json", **headers}
            statuses[label] = client.request(method, url, headers=sent, content=content).status_code
        # Feedback on a real decision, its comment naming the customer; taken once the decision is logged.
        decided = client.post(churn, headers=app, json={"customer_id": 100005}).json()
        feedback = f"{demo.url}/v1/decisions/{decided.get('decision_id', 'none')}/feedback"
        deadline = time.monotonic() + 30
        while True:
            sent = client.post(
                feedback, headers=app, json={"kind": "churned", "value": True, "comment": free}
            )
            if sent.status_code != 404 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        statuses["pii in feedback"] = sent.status_code
    return statuses


def ingest_errors(processes: Processes, demo: Demo, needles: Needles) -> list[int]:
    """A CRM row whose birth date is a phone number (a type error), then whose mobile fails its format
    check (a warning), each ingested by the CLI; their exit statuses."""
    crm = demo.home / "demo" / "retail" / "systems" / "crm.db"
    phone, email = _pick(needles, "phone"), _pick(needles, "email")
    statuses = []
    name = sorted(needles.names)[0] if needles.names else "张伟"
    with sqlite3.connect(crm) as connection:
        connection.row_factory = sqlite3.Row
        row = dict(connection.execute("SELECT * FROM customers ORDER BY customer_id DESC LIMIT 1").fetchone())
        top = row["customer_id"]
        row.update(customer_id=top + 1, full_name=name, birth_date=phone, mobile=f"tel {phone}", email=email)
        row["updated_at"] = (
            "2099-01-01 00:00:00.000000"  # after every watermark: an incremental ingest reads it
        )
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        connection.execute(f"INSERT INTO customers ({columns}) VALUES ({marks})", list(row.values()))
    statuses.append(processes.run("ingest-bad-type", zhongtai("ingest", "crm_customers")).returncode)
    with sqlite3.connect(crm) as connection:
        connection.execute("UPDATE customers SET birth_date = '1990-01-01' WHERE customer_id = ?", (top + 1,))
    statuses.append(processes.run("ingest-bad-format", zhongtai("ingest", "crm_customers")).returncode)
    return statuses
