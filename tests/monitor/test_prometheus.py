"""The dashboard and alert rules in deploy/ query only metrics the gateway exports, and a real Prometheus
(Debian's package) scrapes a running gateway and answers PromQL over what it scraped."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.capabilities.world import KNOWN_IDS
from tests.gateway.conftest import RunningGateway, free_port, served_world

pytestmark = pytest.mark.integration
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\bzt_[a-z0-9_]+")
SUFFIXES = ("_bucket", "_count", "_sum")


def dashboard_expressions() -> list[str]:
    board = json.loads((DEPLOY / "grafana" / "zhongtai.json").read_text(encoding="utf8"))
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf8"))
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def exported_names(exposition: str) -> set[str]:
    """Every series name the exposition can answer: its samples' names and, for families without samples
    yet, the names their TYPE lines imply."""
    names = {line.split("{")[0].split(" ")[0] for line in exposition.splitlines() if line.startswith("zt_")}
    for line in exposition.splitlines():
        if line.startswith("# TYPE zt_"):
            _, _, name, kind = line.split()
            names.add(name)
            if kind == "histogram":
                names.update(name + suffix for suffix in SUFFIXES)
            if kind == "counter":
                names.add(name if name.endswith("_total") else name + "_total")
    return names


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[RunningGateway]:
    tmp_path = tmp_path_factory.mktemp("prometheus")
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}") as running:
        headers = {"Authorization": f"Bearer {running.key}"}
        with httpx.Client(base_url=running.url, headers=headers, timeout=10) as client:
            for key in [*KNOWN_IDS[:20], "nobody"]:
                client.post("/v1/capabilities/churn-risk/decide", json={"customer_id": key})
        yield running


def test_every_dashboard_panel_and_alert_queries_an_exported_metric(served):
    exported = exported_names(httpx.get(f"{served.url}/metrics", timeout=10).text)
    expressions = dashboard_expressions() + alert_expressions()
    assert len(expressions) >= 20
    for expr in expressions:
        used = set(METRIC.findall(expr))
        assert used, f"no Zhongtai metric in {expr!r}"
        assert used <= exported, f"{sorted(used - exported)} in {expr!r} are not exported"


def test_the_alert_rules_and_example_config_pass_promtool():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install -y prometheus (.ci/run does)"
    checked = subprocess.run(
        [promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 9 rules found" in checked.stdout


def test_a_real_prometheus_scrapes_the_gateway_and_answers_promql(served, tmp_path):
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: apt-get install -y prometheus (.ci/run does)"
    target = served.url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{DEPLOY / 'prometheus' / 'alerts.yml'}]\n"
        f"scrape_configs: [{{job_name: zhongtai, static_configs: [{{targets: ['{target}']}}]}}]\n"
    )
    port = free_port()
    server = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    query = 'sum(zt_decisions_total{capability="churn-risk"})'
    try:
        value = _await_query(f"http://127.0.0.1:{port}", query, server)
        assert value >= 21
        fallbacks = _await_query(
            f"http://127.0.0.1:{port}", 'sum(zt_decision_fallbacks_total{reason="unknown_entity"})', server
        )
        assert fallbacks >= 1
    finally:
        server.terminate()
        server.wait(30)


def _await_query(url: str, query: str, server: subprocess.Popen) -> float:
    """The query's first value once Prometheus has scraped something for it (within a minute)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"prometheus exited: {server.stderr.read().decode()[-1000:]}")  # type: ignore[union-attr]
        try:
            answer = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=5).json()
            if answer["status"] == "success" and answer["data"]["result"]:
                return float(answer["data"]["result"][0]["value"][1])
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"prometheus answered nothing for {query} within a minute")
