"""Live quality: decisions joined with their feedback, per version and arm — the measures per task, and the
API, CLI and metric on a real gateway."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from tests.capabilities.world import KNOWN_IDS
from tests.gateway.conftest import RunningGateway, served_world
from tests.monitor.test_metrics import sample
from zhongtai.flywheel.quality import measure, window_start
from zhongtai.meta.feedback import LabelledDecision


def _item(decision: str = "x", score: float | None = None, output=None, **outcomes) -> LabelledDecision:
    return LabelledDecision("id", datetime.now(UTC), 1, None, decision, score, output, outcomes)


def test_binary_quality_is_auc_and_precision_and_recall_at_the_threshold():
    items = [_item(score=0.9, churned=True), _item(score=0.7, churned=False), _item(score=0.6, churned=True)]
    items += [
        _item(score=0.2, churned=False),
        _item(score=0.1, label=0),
        _item(score=0.5),
    ]  # the last: no outcome
    count, measures = measure("binary_classification", items, threshold=0.65)
    assert count == 5
    assert measures["auc"] == pytest.approx(5 / 6)  # 2 positives x 3 negatives: one pair misordered
    assert measures["precision"] == pytest.approx(1 / 2)  # 0.9 (yes) and 0.7 (no) are flagged
    assert measures["recall"] == pytest.approx(1 / 2)


def test_one_class_of_outcome_gives_no_auc_rather_than_a_wrong_one():
    _, measures = measure(
        "binary_classification", [_item(score=0.9, churned=True), _item(score=0.2, churned=True)]
    )
    assert measures["auc"] is None


def test_classifier_accuracy_reads_labels_and_verdicts():
    items = [
        _item("refund", label="refund"),
        _item("refund", verdict="accept"),
        _item("refund", verdict="delivery"),  # the reviewer's correction names the true class
        _item("refund", verdict=False),
    ]
    assert measure("text_classification", items) == (4, {"accuracy": 0.5})


def test_recommendation_hit_rate_counts_clicks_on_answered_items():
    answered = {"items": [{"product_id": "P1", "reason": "bought together"}, {"product_id": "P2"}]}
    items = [_item(output=answered, clicked="P2"), _item(output=answered, bought="P9"), _item(clicked=True)]
    assert measure("recommendation", items) == (3, {"hit_rate": pytest.approx(2 / 3)})


def test_forecast_error_compares_the_horizon_total_with_the_actual():
    forecast = {"forecast": {"total": 90.0}}
    assert measure("forecast", [_item(output=forecast, label=100), _item(score=5.0, label=4)]) == (
        2,
        {"mae": pytest.approx(5.5), "mape": pytest.approx((0.1 + 0.25) / 2)},
    )


def test_a_window_that_is_not_a_duration_names_where():
    with pytest.raises(Exception, match="--since: expected a duration like"):
        window_start("yesterday", "--since")
    assert window_start("373897084w", "since").year == 1  # further back than any decision: all of them
    assert window_start("1d", "since") < datetime.now(UTC) - timedelta(hours=23)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[RunningGateway]:
    tmp_path = tmp_path_factory.mktemp("quality")
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}") as running:
        yield running


@pytest.mark.integration
def test_feedback_becomes_live_quality_in_the_api_the_cli_and_metrics(served, monkeypatch):
    headers = {"Authorization": f"Bearer {served.key}"}
    with httpx.Client(base_url=served.url, headers=headers, timeout=10) as client:
        answers = [
            client.post("/v1/capabilities/churn-risk/decide", json={"customer_id": key}).json()
            for key in KNOWN_IDS[:30]
        ]
        _await_logged(served, [a["decision_id"] for a in answers])
        ranked = sorted(answers, key=lambda a: a["score"])
        # The outcome follows the score but for two swapped in the middle: a known, imperfect AUC.
        truth = {a["decision_id"]: i >= 15 for i, a in enumerate(ranked)}
        truth[ranked[14]["decision_id"]], truth[ranked[15]["decision_id"]] = True, False
        for decision_id, churned in truth.items():
            sent = client.post(
                f"/v1/decisions/{decision_id}/feedback", json={"kind": "churned", "value": churned}
            )
            assert sent.status_code == 200, sent.text
        report = client.get("/v1/capabilities/churn-risk/quality", params={"since": "1d"}).json()
        bad = client.get("/v1/capabilities/churn-risk/quality", params={"since": "soon"})
    assert len(report["rows"]) == 1, report
    [row] = report["rows"]
    assert report["task"] == "binary_classification"
    assert row["decisions"] == 30 and row["arm"] == "champion"
    assert row["measures"]["auc"] == pytest.approx(1 - 1 / 225)
    assert bad.status_code == 422 and "since" in bad.json()["message"]

    from zhongtai.cli.app import app

    for name, value in _env(served).items():
        monkeypatch.setenv(name, value)
    shown = CliRunner().invoke(app, ["flywheel", "quality", "churn-risk", "--since", "1d", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["rows"][0]["measures"]["auc"] == pytest.approx(row["measures"]["auc"])

    metrics = httpx.get(f"{served.url}/metrics", timeout=10).text
    version = str(row["model_version"])
    auc = sample(metrics, "zt_live_quality", capability="churn-risk", version=version, measure="auc")
    assert auc == pytest.approx(row["measures"]["auc"])


def _await_logged(served: RunningGateway, ids: list[str]) -> None:
    for _ in range(100):
        if len(served.world.store.decisions.by_ids(ids)) == len(ids):
            return
        time.sleep(0.1)
    raise AssertionError("the decisions were not logged within 10 s")


def _env(served: RunningGateway) -> dict[str, str]:
    s = served.world.settings
    return {
        "ZT_HOME": str(s.home),
        "ZT_METADATA_URL": s.metadata_url,
        "ZT_LAKE_URL": s.lake_url,
        "ZT_ONLINE_URL": s.online_url,
        "ZT_BUS_URL": s.bus_url,
    }
