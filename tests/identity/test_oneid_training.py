"""Training survives any data: levels that never occur among matches (or among random pairs) keep a
floored estimate or a documented prior and are reported, instead of Splink's raw ValueError."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tests.identity.test_oneid_resolve import people
from zhongtai.identity.config import OneIDConfig, SourceConfig
from zhongtai.identity.resolve import resolve
from zhongtai.identity.training import FLOOR, em, prior_m, set_m
from zhongtai.lake.offline.duckdb import DuckDBEngine

pytestmark = pytest.mark.unit

ALL_SIX = {
    "name": "name",
    "phone": "phone",
    "email": "email",
    "id_card": "card",
    "address": "address",
    "birth_date": "birth",
}


def id_card(k: int) -> str:
    """A resident ID number with a valid GB 11643 check digit."""
    body = f"110101{1960 + k % 40}{1 + k % 12:02d}{1 + k % 28:02d}{k % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def two_systems(n: int = 200) -> dict[str, pa.Table]:
    """Two systems with every attribute. Nobody mistypes a birth date or moves, and every second person
    shares a name with another, who differs on everything else: among matches the typo and `else` levels
    never occur, so EM drives their m to 0.0 (Splink then raised)."""
    persons = people(n)
    for k in range(1, n, 2):
        persons[k]["name"] = persons[k - 1]["name"]
    systems = {}
    for side in ("a", "b"):
        rows = [
            {"id": f"{side}{k}", "name": p["name"], "phone": p["phone"], "email": p["email"],
             "card": id_card(k) if side == "a" else None, "address": f"上海市浦东新区世纪大道{k + 1}号",
             "birth": p["birth"]}
            for k, p in enumerate(persons)
        ]  # fmt: skip
        systems[side] = pa.Table.from_pylist(rows)
    return systems


CONFIG = OneIDConfig(
    sources=[SourceConfig(dataset=d, key="id", fields=ALL_SIX) for d in ("a", "b")], max_pairs_u=1e4
)


def test_all_six_attributes_train_on_data_where_levels_never_occur_among_matches() -> None:
    engine = DuckDBEngine()
    for name, table in two_systems().items():
        engine.register_arrow(name, table)
    result = resolve(engine, CONFIG)
    crosswalk = dict(
        zip(result.crosswalk["record_id"].to_pylist(), result.crosswalk["person_id"].to_pylist(), strict=True)
    )
    assert all(crosswalk[f"a:a{k}"] == crosswalk[f"b:b{k}"] for k in range(200))
    assert result.persons.num_rows == 200  # namesakes stay apart
    untrainable = {
        (u["comparison"], u["level"], u["probability"]) for u in result.stats["untrainable_levels"]
    }
    assert ("birth_date", "Damerau-Levenshtein distance of birth_date <= 1", "m") in untrainable
    for comparison in result.model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                assert level["m_probability"] >= FLOOR and level["u_probability"] >= FLOOR


def _model(u: list[float]) -> dict:
    levels = [{"label_for_charts": "null", "is_null_level": True}] + [
        {"label_for_charts": f"level {i}", "u_probability": value} for i, value in enumerate(u)
    ]
    return {
        "probability_two_random_records_match": 0.01,
        "comparisons": [{"output_column_name": "phone", "comparison_levels": levels}],
    }


def test_a_level_seen_only_among_non_matches_keeps_a_small_positive_m() -> None:
    model = _model([0.01, 0.99])
    # (pairs, gamma): 500 pairs agree (all matches), 5,000 disagree (non-matches only).
    patterns = np.array([[500.0, 1], [5000.0, 0]])
    trained = em(patterns, model, frozenset())
    m, observed = trained["phone"]
    assert 0 < m[1] < 0.01 and m[0] > 0.99
    assert list(observed) == [500.0, 5000.0]
    assert set_m(model, [trained]) == []
    levels = model["comparisons"][0]["comparison_levels"][1:]
    assert levels[1]["m_probability"] >= FLOOR


def test_a_level_no_pair_shows_keeps_its_prior_and_is_reported() -> None:
    model = _model([0.01, 0.2, 0.79])
    patterns = np.array([[500.0, 2], [5000.0, 0]])  # nobody falls in the middle level
    untrainable = set_m(model, [em(patterns, model, frozenset())])
    assert [(u.level, u.probability, u.value) for u in untrainable] == [("level 1", "m", prior_m(3)[1])]
    never = set_m(_model([0.01, 0.99]), [em(patterns[:0], _model([0.01, 0.99]), frozenset({"phone"}))])
    assert {u.reason for u in never} == {"every training session blocks on this comparison's key"}
