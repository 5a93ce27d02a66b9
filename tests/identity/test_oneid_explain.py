"""A run written to the lake, read back for stability, and a pair explained per comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.identity.test_oneid_resolve import mapping, people, run, tables
from zhongtai.identity.explain import explain
from zhongtai.identity.run import read_output, write_run
from zhongtai.lake.storage import LakeStorage

pytestmark = pytest.mark.integration


def test_run_written_then_explained(tmp_path: Path) -> None:
    storage = LakeStorage(str(tmp_path / "lake"))
    result = run(tables(people(40)))
    location = storage.path("_oneid", "person", "r1")
    write_run(storage, location, result, result.stats)
    crosswalk = read_output(storage, location, "crosswalk")
    persons = zip(crosswalk["record_id"].to_pylist(), crosswalk["person_id"].to_pylist(), strict=True)
    assert dict(persons) == mapping(result)
    found = explain(storage, location, "crm:C1", "orders:O1-1")
    assert found["same_person"] is True
    assert {"rule": "phone+name", "value": "13800000001 | li min wei"} in found["deterministic"] or found[
        "deterministic"
    ]
    names = {e["comparison"] for e in found["probabilistic"]["comparisons"]}
    assert {"name", "phone"} <= names
    other = explain(storage, location, "crm:C1", "crm:C2")
    assert other["same_person"] is False and other["probabilistic"]["match_probability"] < 0.5


def test_explain_names_each_comparison_level_and_its_bayes_factor(tmp_path: Path) -> None:
    import math

    storage = LakeStorage(str(tmp_path / "lake"))
    result = run(tables(people(40)))
    location = storage.path("_oneid", "person", "r1")
    write_run(storage, location, result, result.stats)
    found = explain(storage, location, "crm:C1", "orders:O1-1")["probabilistic"]
    by_name = {e["comparison"]: e for e in found["comparisons"]}
    assert by_name["phone"]["level"] == "Exact match on phone"
    assert by_name["email"]["level"] == "email is NULL"  # orders carry no e-mail
    for evidence in found["comparisons"]:
        assert isinstance(evidence["level"], str)
        assert evidence["bayes_factor"] > 0
        assert math.isclose(evidence["match_weight"], math.log2(evidence["bayes_factor"]))
    phone = next(c for c in result.model["comparisons"] if c["output_column_name"] == "phone")
    exact = phone["comparison_levels"][
        1
    ]  # the run's own factor, not one discounted by two records' frequencies
    assert math.isclose(by_name["phone"]["bayes_factor"], exact["m_probability"] / exact["u_probability"])
    prior = result.model["probability_two_random_records_match"]
    total = math.log2(prior / (1 - prior)) + sum(e["match_weight"] for e in found["comparisons"])
    assert math.isclose(total, found["match_weight"], rel_tol=1e-9, abs_tol=1e-9)


def test_explain_says_what_keeps_two_persons_apart(tmp_path: Path) -> None:
    """Homophone spouses bridged by a romanized order: explain names the records that cannot be one
    person and the keys they differ on (never the values), and that the two hold two names."""
    from tests.identity.test_oneid_homophones import bridged_data

    storage = LakeStorage(str(tmp_path / "lake"))
    result = run(bridged_data({"name": "Jiang Wei", "orders": 2}))
    location = storage.path("_oneid", "person", "r1")
    write_run(storage, location, result, result.stats)
    apart = explain(storage, location, "crm:C0", "crm:C1")["kept_apart"]
    assert {"record_a": "crm:C0", "record_b": "crm:C1", "differ": ["name", "birth_date"]} in apart[
        "conflicts"
    ]
    assert apart["two_names"] is True
    assert "蒋伟" not in str(apart) and "19" not in str(apart["conflicts"])
    assert "kept_apart" not in explain(storage, location, "crm:C0", "orders:O0-1")
