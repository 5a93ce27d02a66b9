"""Why two records are (or are not) one person: shared deterministic keys and Splink's per-comparison
evidence (the comparison level and its Bayes factor), from the current run's records and trained model."""

from __future__ import annotations

import json
import posixpath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.keys import PiiKeys, load_keys
from zhongtai.identity.deterministic import shared_keys
from zhongtai.identity.inputs import open_sealed
from zhongtai.identity.probabilistic import PROFILE_COLUMNS
from zhongtai.identity.run import read_output
from zhongtai.lake.storage import LakeStorage


def explain(storage: LakeStorage, location: str, record_a: str, record_b: str) -> dict[str, Any]:
    """Evidence for one pair of record ids (`<dataset>:<key>`) from the run in `location` (its folder);
    names and addresses sealed in the run are decrypted in memory (docs/pii.md)."""
    records = read_output(storage, location, "records")
    pair = records.filter(pc.is_in(records["record_id"], value_set=pa.array([record_a, record_b])))
    rows = open_sealed(pair, _keys).to_pylist()
    found = {r["record_id"]: r for r in rows}
    for rid in (record_a, record_b):
        if rid not in found:
            raise ZhongtaiError(
                "not_found",
                f"record '{rid}' is not in the current OneID run",
                "ids look like crm_customers:100001",
            )
    a, b = found[record_a], found[record_b]
    crosswalk = read_output(storage, location, "crosswalk")
    persons = dict(zip(crosswalk["record_id"].to_pylist(), crosswalk["person_id"].to_pylist(), strict=True))
    return {
        "record_a": record_a,
        "record_b": record_b,
        "person_a": persons.get(record_a),
        "person_b": persons.get(record_b),
        "same_person": persons.get(record_a) == persons.get(record_b),
        "deterministic": shared_keys(a, b),
        "probabilistic": score(storage, location, a, b),
    }


def score(storage: LakeStorage, location: str, a: dict, b: dict) -> dict[str, Any]:
    """Splink's score of the pair with the run's model: match probability and per-comparison evidence."""
    from splink import DuckDBAPI, Linker

    with storage.fs.open(posixpath.join(location, "model.json"), "r") as f:
        model = json.load(f)
    import duckdb

    con = duckdb.connect()
    rows = [{"unique_id": r["record_id"], **{c: r.get(c) for c in PROFILE_COLUMNS}} for r in (a, b)]
    for r in rows:
        r["birth_year"] = (r["birth_date"] or "")[:4] or None
    table = pa.Table.from_pylist(rows)
    db_api = DuckDBAPI(con)
    linker = Linker(db_api.register(table), model, log_level="ERROR")
    scored = (
        linker.inference.score_pair(rows[0], rows[1]).as_duckdbpyrelation().to_arrow_table().to_pylist()[0]
    )
    evidence = []
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        level = scored.get(f"gamma_{name}")
        bf = scored.get(f"bf_{name}")
        label = next(
            (
                lv.get("label_for_charts")
                for lv in comparison["comparison_levels"]
                if lv.get("comparison_vector_value") == level
            ),
            None,
        )
        evidence.append({"comparison": name, "level": label, "gamma": level, "bayes_factor": bf})
    return {
        "match_probability": scored.get("match_probability"),
        "match_weight": scored.get("match_weight"),
        "comparisons": evidence,
    }


def _keys() -> PiiKeys:
    from zhongtai.config import Settings

    return load_keys(Settings.from_env().home)
