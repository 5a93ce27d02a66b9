"""Why two records are (or are not) one person: shared deterministic keys and Splink's per-comparison
evidence (the comparison level and its Bayes factor), from the current run's records and trained model.

Only the shared keys quote values (a phone, an e-mail, an ID number); `masked` masks them for a reader the
policy does not let `see_pii` their class on the identity's golden dataset (govern/masking.py)."""

from __future__ import annotations

import json
import posixpath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.keys import PiiKeys, load_keys
from zhongtai.govern.masking import Disclosure, mask_record
from zhongtai.identity.conflicts import kept_apart
from zhongtai.identity.deterministic import shared_keys
from zhongtai.identity.inputs import open_sealed
from zhongtai.identity.probabilistic import PROFILE_COLUMNS
from zhongtai.identity.run import read_output
from zhongtai.lake.storage import LakeStorage
from zhongtai.spec.identity import GOLDEN_FIELDS

# The PII class of each attribute a shared key names (`phone`, `phone+name`, `email (shared)`).
ATTRIBUTE_CLASS = {name: pii for name, _, pii in GOLDEN_FIELDS if pii}


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
    person_a, person_b = persons.get(record_a), persons.get(record_b)
    found = {
        "record_a": record_a,
        "record_b": record_b,
        "person_a": person_a,
        "person_b": person_b,
        "same_person": person_a == person_b,
        "deterministic": shared_keys(a, b),
        "probabilistic": score(storage, location, a, b),
    }
    if person_a != person_b:
        found["kept_apart"] = _kept_apart(records, crosswalk, person_a, person_b)
    return found


def masked(found: dict[str, Any], seen: Disclosure) -> dict[str, Any]:
    """An explanation as `seen` may see it: each shared key's value masked by its attribute's class."""
    if not seen.masks_any:
        return found
    keys = []
    for key in found["deterministic"]:
        attribute = key["rule"].replace("+", " ").split(" ")[0]
        classes = {"value": ATTRIBUTE_CLASS[attribute]} if attribute in ATTRIBUTE_CLASS else {}
        keys.append(mask_record(key, classes, seen))
    return {**found, "deterministic": keys}


def _kept_apart(records: pa.Table, crosswalk: pa.Table, person_a: str | None, person_b: str | None) -> dict:
    """What the clustering holds against joining the two persons (conflicts.kept_apart), from all their
    records: a link between the pair may have been refused for it."""
    members = crosswalk.filter(pc.is_in(crosswalk["person_id"], value_set=pa.array([person_a, person_b])))
    held = records.filter(pc.is_in(records["record_id"], value_set=members["record_id"]))
    rows = open_sealed(held, _keys).to_pylist()
    of = dict(zip(members["record_id"].to_pylist(), members["person_id"].to_pylist(), strict=True))
    return kept_apart(
        [r for r in rows if of[r["record_id"]] == person_a],
        [r for r in rows if of[r["record_id"]] == person_b],
    )


def score(storage: LakeStorage, location: str, a: dict, b: dict) -> dict[str, Any]:
    """Splink's score of the pair with the run's model: match probability and, per comparison, the level
    the pair falls in (its label), that level's Bayes factor and its match weight (log2 of the factor);
    the prior's weight plus the comparisons' is the total. Term-frequency adjustments are left out."""
    from splink import DuckDBAPI, Linker

    with storage.fs.open(posixpath.join(location, "model.json"), "r") as f:
        model = json.load(f)
    import duckdb

    con = duckdb.connect()
    rows = [{"unique_id": r["record_id"], **{c: r.get(c) for c in PROFILE_COLUMNS}} for r in (a, b)]
    for r in rows:
        r["birth_year"] = (r["birth_date"] or "")[:4] or None
    table = pa.Table.from_pylist(rows)
    linker = Linker(DuckDBAPI(con).register(table), without_term_frequencies(model), log_level="ERROR")
    scored = (
        linker.inference.score_pair(rows[0], rows[1]).as_duckdbpyrelation().to_arrow_table().to_pylist()[0]
    )
    evidence = [_evidence(comparison, scored) for comparison in model["comparisons"]]
    return {
        "match_probability": scored.get("match_probability"),
        "match_weight": scored.get("match_weight"),
        "comparisons": evidence,
    }


def without_term_frequencies(model: dict[str, Any]) -> dict[str, Any]:
    """The model with its term-frequency adjustments off. Scoring one pair, Splink would take the
    frequencies from the two records alone (every value 100 % common, the strongest discount); the run's
    frequency tables are not kept, so a level's own Bayes factor is the honest figure."""
    comparisons = [
        {
            **comparison,
            "comparison_levels": [
                {k: v for k, v in level.items() if not k.startswith("tf_adjustment")}
                for level in comparison["comparison_levels"]
            ],
        }
        for comparison in model["comparisons"]
    ]
    return {**model, "comparisons": comparisons}


def _evidence(comparison: dict[str, Any], scored: dict[str, Any]) -> dict[str, Any]:
    """One comparison's level, Bayes factor and match weight for a scored pair. Splink 5 scores in match
    weights (`mw_<comparison>`, no `bf_` columns any more); the Bayes factor is 2 to that weight."""
    name = comparison["output_column_name"]
    gamma = scored.get(f"gamma_{name}")
    weight = scored.get(f"mw_{name}")
    return {
        "comparison": name,
        "level": level_label(comparison, gamma),
        "gamma": gamma,
        "bayes_factor": None if weight is None else 2.0**weight,
        "match_weight": weight,
    }


def level_label(comparison: dict[str, Any], gamma: int | None) -> str | None:
    """The label of the level a comparison vector value (gamma) stands for. A saved model does not store
    the values; Splink numbers a comparison's levels as it reads them: the null level -1, then the others
    from the highest value (the first) down to 0 (the last, `else`)."""
    if gamma is None:
        return None
    levels = comparison["comparison_levels"]
    if gamma == -1:
        return next((lv.get("label_for_charts") for lv in levels if lv.get("is_null_level")), None)
    ranked = [lv for lv in levels if not lv.get("is_null_level")]
    position = len(ranked) - 1 - gamma
    return ranked[position].get("label_for_charts") if 0 <= position < len(ranked) else None


def _keys() -> PiiKeys:
    from zhongtai.config import Settings

    return load_keys(Settings.from_env().home)
