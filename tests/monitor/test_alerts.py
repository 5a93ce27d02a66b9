"""Alerts: deduplicated in the store, grouped by name, sent in each receiver's format to a real HTTP receiver on
127.0.0.1, resolved, retried on failure, and raised by a canary rolled back by its guard."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.drift import DriftReport
from zhongtai.meta.store import MetadataStore
from zhongtai.monitor.alert_formats import Alert
from zhongtai.monitor.alerts import AlertCenter, Receiver, parse_receivers

pytestmark = pytest.mark.integration


class Receiving:
    """What a receiver on 127.0.0.1 got: (path with query, JSON body); `answers` are its next replies."""

    def __init__(self) -> None:
        self.got: list[tuple[str, object]] = []
        self.answers: list[tuple[int, dict]] = []


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiving]]:
    seen = Receiving()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.got.append((self.path, body))
            status, answer = seen.answers.pop(0) if seen.answers else (200, {"errcode": 0, "code": 0})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    opened = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    yield opened
    opened.close()


def drift(feature: str) -> Alert:
    return Alert(
        "FeatureDrift", {"capability": "churn-risk", "feature": feature}, "warning", f"{feature} drifted"
    )


def test_a_repeated_alert_is_sent_once_and_alerts_of_one_name_go_in_one_message(store, receiver):
    url, seen = receiver
    center = AlertCenter(store, [Receiver("webhook", url + "/hook")])
    sent = center.fire([drift("orders_90d"), drift("spend_90d")])
    assert [d.ok for d in sent] == [True]
    assert len(seen.got) == 1
    path, body = seen.got[0]
    assert path == "/hook" and body["status"] == "firing" and body["group"] == "FeatureDrift"
    assert {a["labels"]["feature"] for a in body["alerts"]} == {"orders_90d", "spend_90d"}
    assert center.fire([drift("orders_90d")]) == []  # already told, within the repeat interval
    assert len(seen.got) == 1
    [row] = [r for r in center.listed() if r.labels["feature"] == "orders_90d"]
    assert row.raised == 2 and row.notified_at is not None


def test_a_second_process_does_not_tell_again_and_a_resolution_is_told_once(store, receiver):
    url, seen = receiver
    AlertCenter(store, [Receiver("webhook", url)]).fire([drift("orders_90d")])
    other = AlertCenter(store, [Receiver("webhook", url)])
    assert other.fire([drift("orders_90d")]) == []
    other.resolve([drift("orders_90d"), drift("never_fired")])
    assert [b["status"] for _, b in seen.got] == ["firing", "resolved"]
    resolved = seen.got[1][1]["alerts"][0]
    assert resolved["ends_at"] is not None
    assert other.resolve([drift("orders_90d")]) == []
    assert other.listed() == []


def test_an_alert_is_sent_again_after_the_repeat_interval(store, receiver):
    url, seen = receiver
    center = AlertCenter(store, [Receiver("webhook", url)], repeat=timedelta(0))
    center.fire([drift("orders_90d")])
    center.fire([drift("orders_90d")])
    assert len(seen.got) == 2


def test_a_refused_message_is_not_marked_told_so_the_next_raise_sends_it(store, receiver):
    url, seen = receiver
    center = AlertCenter(store, [Receiver("dingtalk", url)])
    seen.answers = [(200, {"errcode": 310000, "errmsg": "keywords not in content"})]
    [failed] = center.fire([drift("orders_90d")])
    assert not failed.ok and failed.error == "HTTP 200 errcode=310000"
    assert len(seen.got) == 1  # refused for good: not retried
    [ok] = center.fire([drift("orders_90d")])
    assert ok.ok and len(seen.got) == 2


def test_a_server_error_is_retried(store, receiver):
    url, seen = receiver
    seen.answers = [(503, {}), (200, {})]
    [sent] = AlertCenter(store, [Receiver("slack", url)]).fire([drift("orders_90d")])
    assert sent.ok and len(seen.got) == 2


def test_each_receiver_gets_its_own_format(store, receiver):
    url, seen = receiver
    kinds = ["alertmanager", "dingtalk", "wecom", "feishu", "slack"]
    center = AlertCenter(store, [Receiver(kind, f"{url}/{kind}") for kind in kinds])
    center.fire([drift("orders_90d")])
    center.resolve([drift("orders_90d")])
    got = {path.split("?")[0]: body for path, body in seen.got[:5]}
    [manager] = got["/alertmanager/api/v2/alerts"]
    assert manager["labels"] == {
        "alertname": "FeatureDrift", "severity": "warning", "capability": "churn-risk", "feature": "orders_90d"
    }  # fmt: skip
    assert (
        got["/dingtalk"]["msgtype"] == "markdown" and "FeatureDrift" in got["/dingtalk"]["markdown"]["title"]
    )
    assert "orders_90d drifted" in got["/wecom"]["markdown"]["content"]
    assert (
        got["/feishu"]["msg_type"] == "text" and "[FIRING] FeatureDrift" in got["/feishu"]["content"]["text"]
    )
    assert got["/slack"]["text"] == "[FIRING] FeatureDrift"
    resolved = {path.split("?")[0]: body for path, body in seen.got[5:]}
    assert "endsAt" in resolved["/alertmanager/api/v2/alerts"][0]
    assert "[RESOLVED]" in resolved["/wecom"]["markdown"]["content"]


def test_signed_robots_get_a_valid_signature_and_never_the_secret(store, receiver):
    url, seen = receiver
    center = AlertCenter(
        store,
        [
            Receiver("dingtalk", f"{url}/ding?access_token=T&secret=SEC1"),
            Receiver("feishu", f"{url}/feishu?secret=SEC2"),
        ],
    )
    center.fire([drift("orders_90d")])
    (ding_path, _), (feishu_path, feishu) = sorted(seen.got, key=lambda g: g[0])
    query = parse_qs(urlsplit(ding_path).query)
    assert "secret" not in query and query["access_token"] == ["T"]
    expected = hmac.new(b"SEC1", f"{query['timestamp'][0]}\nSEC1".encode(), hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(expected).decode()]
    assert "secret" not in feishu_path and "SEC2" not in json.dumps(feishu)
    signed = hmac.new(f"{feishu['timestamp']}\nSEC2".encode(), b"", hashlib.sha256).digest()
    assert feishu["sign"] == base64.b64encode(signed).decode()


def test_receivers_are_parsed_and_a_bad_entry_is_named():
    assert parse_receivers("webhook=http://a/x\n slack=https://b/y") == [
        Receiver("webhook", "http://a/x"),
        Receiver("slack", "https://b/y"),
    ]
    with pytest.raises(ZhongtaiError, match="ZT_ALERT_RECEIVERS entry 2 is not KIND=URL"):
        parse_receivers("webhook=http://a/x pager=http://b")
    assert Receiver("wecom", "https://q/send?key=SECRET").describe().count("SECRET") == 0


def test_the_cli_lists_tests_and_resolves(tmp_path, receiver, monkeypatch):
    from zhongtai.cli.app import app

    url, seen = receiver
    monkeypatch.setenv("ZT_HOME", str(tmp_path))
    monkeypatch.setenv("ZT_ALERT_RECEIVERS", f"webhook={url}")
    runner = CliRunner()
    tested = runner.invoke(app, ["alerts", "test"])
    assert tested.exit_code == 0, tested.output
    assert [b["status"] for _, b in seen.got] == ["firing", "resolved"]
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    AlertCenter.from_environment(store).fire([drift("orders_90d")])
    store.close()
    listed = runner.invoke(app, ["alerts", "list", "--json"])
    assert [a["labels"]["feature"] for a in json.loads(listed.output)] == ["orders_90d"]
    wrong = runner.invoke(app, ["alerts", "resolve", "FeatureDrift", "--label", "feature=orders_90d"])
    assert wrong.exit_code == 1 and "no firing alert FeatureDrift" in wrong.output
    done = runner.invoke(
        app,
        [
            "alerts",
            "resolve",
            "FeatureDrift",
            "--label",
            "capability=churn-risk",
            "--label",
            "feature=orders_90d",
        ],
    )
    assert done.exit_code == 0, done.output
    assert seen.got[-1][1]["status"] == "resolved"


def test_a_drift_check_fires_drifted_features_and_resolves_the_others():
    from zhongtai.meta.time import now
    from zhongtai.monitor.alert_rules import drift_alerts
    from zhongtai.monitor.check import VersionDrift

    def column(name: str, verdict: str, effect: float) -> dict:
        return {"name": name, "verdict": verdict, "effect": effect}

    at = now()
    report = DriftReport(
        id=1, capability="churn-risk", model_name="churn", model_version=3, at=at, window_start=at,
        window_end=at, decisions=500, verdict="major", drifted=2, thresholds={},
        results=[column("orders_90d", "major", 0.4), column("spend_90d", "drift", 0.03), column("age", "ok", 0.0)],
    )  # fmt: skip
    found = [VersionDrift("churn", 3, 500, report), VersionDrift("churn", 2, 10, None, "no profile")]
    firing, cleared = drift_alerts("churn-risk", found)
    assert [(a.labels["feature"], a.severity) for a in firing] == [
        ("orders_90d", "critical"),
        ("spend_90d", "warning"),
    ]
    assert [a.labels["feature"] for a in cleared] == ["age"]
    assert firing[0].labels == {
        "capability": "churn-risk",
        "model": "churn",
        "version": "3",
        "feature": "orders_90d",
    }
