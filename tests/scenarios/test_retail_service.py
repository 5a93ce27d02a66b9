"""The agent's category on the generated service tickets: filed only when a ticket is finished, usually the
customer's intent, sometimes a neighbouring one, and drawn from a random stream of its own."""

from __future__ import annotations

import importlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from zhongtai.scenarios.retail import generate
from zhongtai.scenarios.retail.service import DONE, NEIGHBOURS, agent_categories
from zhongtai.scenarios.retail.service_text import INTENTS

pytestmark = pytest.mark.unit
# The module, which the package's `generate` (the function) hides.
generate_module = importlib.import_module("zhongtai.scenarios.retail.generate")


def _tickets(folder: Path) -> list[dict]:
    lines = (folder / "systems" / "service" / "tickets.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_finished_tickets_carry_the_intent_or_a_neighbour_and_open_ones_nothing(tmp_path):
    generate(tmp_path, 1500, seed=5)
    truth = {
        r["ticket_id"]: r["intent"]
        for r in pq.read_table(tmp_path / "truth" / "ticket_intents.parquet").to_pylist()
    }
    tickets = _tickets(tmp_path)
    assert all(t["category"] is None for t in tickets if t["status"] not in DONE)
    filed = [t for t in tickets if t["category"] is not None]
    outcome = Counter(
        "same"
        if t["category"] == truth[t["ticket_id"]]
        else "neighbour"
        if t["category"] in NEIGHBOURS[truth[t["ticket_id"]]]
        else "other"
        for t in filed
    )
    assert outcome["other"] == 0
    assert 0.85 < outcome["same"] / len(filed) < 0.97
    done = sum(t["status"] in DONE for t in tickets)
    assert 0.9 < len(filed) / done < 1.0  # a few finished tickets were never filed


def test_the_category_stream_leaves_every_other_value_as_it_was(tmp_path, monkeypatch):
    generate(tmp_path / "first", 400, seed=3)
    streams = generate_module._rng

    def other_filing(seed: int, stream: str) -> np.random.Generator:
        return streams(seed + 1 if stream == "service-category" else seed, stream)

    monkeypatch.setattr(generate_module, "_rng", other_filing)
    generate(tmp_path / "second", 400, seed=3)
    first, second = _tickets(tmp_path / "first"), _tickets(tmp_path / "second")
    assert [{**t, "category": None} for t in first] == [{**t, "category": None} for t in second]
    assert [t["category"] for t in first] != [t["category"] for t in second]


def test_every_intent_has_neighbours_among_the_intents():
    assert set(NEIGHBOURS) == set(INTENTS)
    assert all(set(n) <= set(INTENTS) and name not in n for name, n in NEIGHBOURS.items())
    status = np.array(["closed", "open", "resolved"])
    filed = agent_categories(np.random.default_rng(0), np.array([0, 1, 2]), status)
    assert filed[1] is None
