"""`zhongtai demo --simulate-days`: a short simulation on a small retailer notices the promotion's drift,
trains a challenger, has it approved by the second principal, shadows and ramps it, promotes it, and the
live AUC recovers; the flywheel's history says so and the chart is a PNG. Also the pieces alone: the rank
AUC, the plan's checks and the PNG writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.scenarios.retail.simulate import Plan, auc
from zhongtai.scenarios.retail.simulate_chart import write_chart


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "zhongtai", *args], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.integration
def test_a_short_simulation_recovers_through_the_flywheel(tmp_path: Path) -> None:
    env = {**os.environ, "ZT_HOME": str(tmp_path / "home")}
    for var in ("ZT_METADATA_URL", "ZT_LAKE_URL", "ZT_ONLINE_URL", "ZT_BUS_URL"):
        env.pop(var, None)
    printed = _run(
        env, "demo", "--customers", "600", "--simulate-days", "6", "--shift-day", "3", "--sample", "200"
    )
    assert "day  3" in printed and "promotion" in printed
    runs = json.loads(_run(env, "flywheel", "history", "churn", "--json"))
    promoted = [r for r in runs if r["state"] == "promoted"]
    assert promoted, [r["state"] for r in runs]
    first = promoted[-1]  # newest first: the first promotion is the last in the list
    assert first["trigger"]["kind"] == "drift"
    steps = [step["state"] for step in first["steps"]]
    assert steps == [
        "triggered", "trained", "compared", "replayed", "awaiting_approval", "approved", "shadowing",
        "canary", "promoted",
    ]  # fmt: skip
    approved = next(step for step in first["steps"] if step["state"] == "approved")
    assert approved["principal"] == "demo-reviewer"
    table = printed[printed.index("live AUC") :].splitlines()[1:]
    by_day = {int(line.split()[0]): float(line.split()[1]) for line in table if line.split()[1] != "-"}
    assert by_day[6] > by_day[3] + 0.1  # the promoted challenger knows the coupon hunters
    chart = (tmp_path / "home" / "simulation.svg").read_text(encoding="utf-8")
    assert chart.startswith("<svg") and "live AUC" in chart


def test_auc_by_ranks() -> None:
    labels = np.array([False, False, True, True])
    assert auc(np.array([0.1, 0.4, 0.35, 0.8]), labels) == 0.75
    assert auc(np.array([0.5, 0.5, 0.5, 0.5]), labels) == 0.5  # ties share their rank
    assert auc(np.array([0.1, 0.2]), np.array([True, True])) is None


def test_plan_names_a_shift_day_outside_the_days() -> None:
    with pytest.raises(ZhongtaiError, match="--shift-day 12 is not one of the 8 simulated days"):
        Plan(days=8, shift_day=12)
    with pytest.raises(ZhongtaiError, match="simulate at least 2 days"):
        Plan(days=1, shift_day=1)


def test_chart_is_a_labelled_svg_of_the_drawn_series(tmp_path: Path) -> None:
    path = write_chart(tmp_path / "chart.svg", [0.7, None, 0.4, 0.72], [0.1, 0.1, 0.5, 0.3], shift_day=3)
    root = ElementTree.parse(path).getroot()  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    lines = {p.get("stroke"): p.get("points") for p in root.iter(f"{ns}polyline")}
    # AUC skips the day without a value: days 1, 3 and 4 joined; drift has all four
    assert len(lines["#1f77b4"].split()) == 3 and len(lines["#ff7f0e"].split()) == 4
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert {"live AUC", "promotion (day 3)", "simulated day", "0.5"} <= set(texts)
    assert not (tmp_path / "chart.svg.partial").exists()
