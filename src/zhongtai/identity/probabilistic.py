"""Probabilistic matching with Splink (on the offline engine's backend: DuckDB, or Spark) for what the deterministic keys leave open.

One general model, whatever the sources: the comparisons and blocking rules below are fixed, and those
whose attributes no record carries are dropped. Why each choice:

- Records are first collapsed into *profiles* (identical comparison attributes): the same buyer's orders
  repeat one name, phone and address, so Splink scores far fewer rows. A profile must carry a name plus
  another attribute, or a contact key, or it stays a profile of one record (two bare `张伟` are not one).
- Names written in characters on both sides compare by their characters: the same characters, or one
  given-name character different (a typo); a homophone is another name (蒋伟 / 姜伟 are two families').
  Pinyin levels (exact, another syllable order, Jaro-Winkler) apply only when a side has no characters
  (`Zhang Wei` / 张伟, Latin names).
  Exact agreement in characters is term-frequency adjusted (`王伟` is weak evidence, `欧阳修` strong). Phone and street
  address are TF adjusted too, so a household's shared phone or address counts for little.
- E-mail is compared *exactly* on the canonical address, never fuzzily: usernames are built from the name,
  so a fuzzy e-mail level would count the name twice (one such model merged 427 people into one).
- u by random sampling, m by EM in two sessions (blocked on the name, then on a non-name key) so every
  comparison is trained; the prior from deterministic-looking rules. EM is ours (`training.py`), on the
  agreement patterns Splink computes: smoothed and floored so any data trains, and levels the data cannot
  train keep a documented prior and are reported.
- Blocking rules are unioned and each is a key or a key pair, so candidate pairs stay near-linear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from zhongtai.govern.tokens import CANONICAL_TOKEN
from zhongtai.identity.training import Session, Untrainable, em, fill_u, pattern_counts, set_m

if TYPE_CHECKING:
    from zhongtai.lake.offline import ResolutionEngine

PROFILE_COLUMNS = (
    "name_han", "name_pinyin", "name_sorted", "birth_date", "gender", "phone", "email", "national_id", "city",
    "address_key", "postcode", "street_number", "locality",
)  # fmt: skip
BLOCKING = (
    ("phone",),
    ("email",),
    ("national_id",),
    ("birth_date",),
    ("postcode",),
    ("name_pinyin", "birth_year"),
    ("name_pinyin", "city"),
    ("name_sorted", "postcode"),
    ("name_sorted", "locality"),
    ("name_sorted", "birth_year"),
    ("address_key", "street_number"),
)
TOKEN_PATTERN = CANONICAL_TOKEN.strip("^$")
EM_PAIRS = 2_000_000  # blocked pairs an EM session trains on, at most (a random share beyond that)
PERSONAL_KEYS = ("birth_date", "email", "national_id")  # keys a household's members do not share
EM_MIN_PAIRS = 100  # blocked pairs a session's key must give to be chosen over the next one
COMPARED_AS = {"name_pinyin": "name", "name_sorted": "name"}  # profile column -> its comparison
DEFAULT_PRIOR = 1e-4  # Splink's own default: the prior when no rule can estimate it
PRIOR_RULES = (("national_id", "name_pinyin"), ("name_pinyin", "birth_date"), ("phone", "name_sorted"))


@dataclass(frozen=True)
class MatchResult:
    """Probabilistic links between records, the profile of each record, and the trained model."""

    links: pa.Table  # record_a, record_b, match_probability, match_weight
    model: dict[str, Any]  # Splink's settings with the trained m and u (save_model_to_json)
    profiles: int
    candidate_pairs: int
    untrainable: list[dict[str, Any]]  # levels that kept a prior (training.Untrainable)


def profiles_sql(records: str) -> str:
    """One row per distinct informative attribute combination; uninformative records stay alone.

    A profile is named by its first record id, never by its values: phones and e-mails are PII tokens
    whose digests change with the PII key, and Splink's u sample and the EM share are drawn by hashing
    the profile id, so an id made of the values made the trained model (and the persons) key-dependent."""
    cols = ", ".join(PROFILE_COLUMNS)
    first = f"min(record_id) OVER (PARTITION BY {cols})"
    informative = (
        "(phone IS NOT NULL OR email IS NOT NULL OR national_id IS NOT NULL OR (name_pinyin IS NOT NULL AND "
        "(birth_date IS NOT NULL OR address_key IS NOT NULL OR postcode IS NOT NULL OR city IS NOT NULL)))"
    )
    return (
        f"SELECT record_id, CASE WHEN {informative} THEN 'p' || {first} ELSE 'r' || record_id END AS profile_id,"
        f" {cols}, substr(birth_date, 1, 4) AS birth_year FROM {records} "
        f"WHERE name_pinyin IS NOT NULL OR phone IS NOT NULL OR email IS NOT NULL OR national_id IS NOT NULL"
    )


def present_columns(engine: ResolutionEngine, table: str) -> set[str]:
    """The profile columns that hold at least one value (the others get no comparison or blocking rule)."""
    counts = engine.to_arrow(
        f"SELECT {', '.join(f'count({c}) AS {c}' for c in PROFILE_COLUMNS)} FROM {table}"
    )
    return {c for c in PROFILE_COLUMNS if counts[c][0].as_py()}


def tokenized_columns(engine: ResolutionEngine, table: str) -> set[str]:
    """The fuzzily compared key columns that hold PII tokens (docs/pii.md): a typo level on them would
    compare hex digests, which share nothing, so only their exact level is kept."""
    columns = ("phone", "national_id")
    # An anchored regexp_matches, not regexp_full_match: the former has a Spark form (RLIKE).
    found = engine.to_arrow(
        "SELECT "
        + ", ".join(f"bool_or(regexp_matches({c}, '^{TOKEN_PATTERN}$')) AS {c}" for c in columns)
        + f" FROM {table}"
    )
    return {c for c in columns if found[c][0].as_py()}


def comparisons(present: set[str], tokenized: set[str] | frozenset[str] = frozenset()) -> list[Any]:
    """The general model's comparisons, for the attributes present (exact only for `tokenized` ones)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def levels(column: str, *middle: Any, tf: bool = False) -> Any:
        exact = cll.ExactMatchLevel(column).configure(tf_adjustment_column=column) if tf else None
        return cl.CustomComparison(
            [cll.NullLevel(column), exact or cll.ExactMatchLevel(column), *middle, cll.ElseLevel()],
            output_column_name=column,
        )

    found = [name_comparison()] if "name_pinyin" in present else []
    fuzzy = {
        "birth_date": (cll.DamerauLevenshteinLevel("birth_date", 1),),
        "phone": (cll.DamerauLevenshteinLevel("phone", 1),),
        "national_id": (
            cll.DamerauLevenshteinLevel("national_id", 1),
            cll.DamerauLevenshteinLevel("national_id", 2),
        ),
        "postcode": (cll.DamerauLevenshteinLevel("postcode", 1),),
        "address_key": (cll.JaroWinklerLevel("address_key", 0.9),),
    }
    tf = {"phone", "address_key", "postcode", "street_number"}
    for column in ("birth_date", "gender", "phone", "email", "national_id", "city", "address_key"):
        if column in present:
            middle = () if column in tokenized else fuzzy.get(column, ())
            found.append(levels(column, *middle, tf=column in tf))
    for column in ("postcode", "street_number", "locality"):
        if column in present:
            found.append(levels(column, *fuzzy.get(column, ()), tf=column in tf))
    return found


def _one_given_character_differs(
    left: str = '"name_han_l"', right: str = '"name_han_r"', longest: int = 5
) -> str:
    """SQL: two names in characters of one length, the same first character (the surname), and exactly one
    of the others different: a mistyped given name (张伟明 / 张玮明). Plain substr and length, so every
    engine counts characters (DuckDB's edit distances count bytes)."""
    differs = " + ".join(
        f"CASE WHEN substr({left}, {k}, 1) = substr({right}, {k}, 1) THEN 0 ELSE 1 END"
        for k in range(2, longest + 1)
    )
    return (
        f"length({left}) = length({right}) AND substr({left}, 1, 1) = substr({right}, 1, 1) AND "
        f"({differs}) = 1"
    )


def household_only_sql(left: str, right: str) -> str:
    """SQL: a pair of profiles whose names are both in characters and are two names (not equal, not one
    given-name character apart), and that share no personal key (birth date, e-mail, national id)."""
    other = (
        f"{left}.name_han <> {right}.name_han AND NOT "
        f"({_one_given_character_differs(f'{left}.name_han', f'{right}.name_han')})"
    )
    personal = " OR ".join(f"coalesce({left}.{k} = {right}.{k}, false)" for k in PERSONAL_KEYS)
    return f"(coalesce({other}, false) AND NOT ({personal}))"  # null names: not two names


def name_comparison() -> Any:
    """Names: characters first, pinyin only where one side has none (see the module doc).

    Both in characters: the same characters (TF adjusted), or one given-name character different (a
    typo); anything else, a homophone included, is another name: 蒋伟 and 姜伟 read the same and are two
    families' names, and a family sharing a phone and an address is exactly where unsupervised EM would
    learn "same reading" as a match. "Another name" is a level of its own, apart from `else` (romanized
    names that differ, where an English name or a dropped syllable is common among matches), so EM can
    learn how rarely one person's names in characters differ: strong evidence against a household's
    members being one person, whose shared phone and address would otherwise outweigh it. Otherwise (a
    romanized or Latin name on either side) the pinyin levels: the same pinyin, the same syllables in
    another order, then Jaro-Winkler on the pinyin and on the sorted syllables. Only the characters' exact level is TF adjusted: Splink adjusts a level by the
    frequency of an exact match on one column, and an exact pinyin level would be a homophone level."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    romanized = '("name_han_l" IS NULL OR "name_han_r" IS NULL)'

    def on_pinyin(level: Any, label: str) -> Any:
        # The library's levels, not raw SQL, so each engine gets its own Jaro-Winkler function.
        return cll.And(cll.CustomLevel(romanized), level).configure(label_for_charts=label)

    return cl.CustomComparison(
        [
            cll.NullLevel("name_pinyin"),
            cll.ExactMatchLevel("name_han").configure(tf_adjustment_column="name_han"),
            cll.CustomLevel(_one_given_character_differs(), "One given-name character differs"),
            on_pinyin(cll.ExactMatchLevel("name_pinyin"), "Same pinyin, a name not in characters"),
            on_pinyin(
                cll.ExactMatchLevel("name_sorted"),
                "Same syllables in another order, a name not in characters",
            ),
            on_pinyin(
                cll.JaroWinklerLevel("name_pinyin", 0.94),
                "Pinyin Jaro-Winkler >= 0.94, a name not in characters",
            ),
            on_pinyin(
                cll.JaroWinklerLevel("name_pinyin", 0.85),
                "Pinyin Jaro-Winkler >= 0.85, a name not in characters",
            ),
            on_pinyin(
                cll.JaroWinklerLevel("name_sorted", 0.85),
                "Sorted syllables Jaro-Winkler >= 0.85, a name not in characters",
            ),
            cll.CustomLevel(f"NOT {romanized}", "Other characters: another name"),
            cll.ElseLevel(),
        ],
        output_column_name="name",
    )


def _rules(present: set[str], rules: tuple[tuple[str, ...], ...]) -> list[Any]:
    from splink import block_on

    usable = present | ({"birth_year"} if "birth_date" in present else set())
    return [block_on(*rule) for rule in rules if set(rule) <= usable]


def train_and_predict(
    engine: ResolutionEngine, records: str, threshold: float, max_pairs_u: float, seed: int
) -> MatchResult:
    """Train the general model on the profiles of `records` (a table on `engine`) and link records."""
    from splink import Linker, SettingsCreator

    engine.create("oneid_record_profile", profiles_sql(records))
    engine.create(
        "oneid_profiles",
        "SELECT profile_id AS unique_id, "
        f"{', '.join(PROFILE_COLUMNS)}, birth_year, hash(profile_id) % 1024 AS em_bucket "
        "FROM oneid_record_profile "
        "QUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY record_id) = 1",
    )
    try:
        present = present_columns(engine, "oneid_profiles")
        profiles = engine.to_arrow("SELECT count(*) AS n FROM oneid_profiles")["n"][0].as_py()
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=comparisons(present, tokenized_columns(engine, "oneid_profiles")),
            blocking_rules_to_generate_predictions=_rules(present, BLOCKING),
            retain_intermediate_calculation_columns=False,
        )
        linker = Linker(engine.splink_api().register("oneid_profiles"), settings, log_level="ERROR")
        prior, untrainable = _estimate_prior(linker, _rules(present, PRIOR_RULES))
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs_u, seed=seed)
        model = {**linker.misc.save_model_to_json(), "probability_two_random_records_match": prior}
        untrainable += fill_u(model, min(max_pairs_u, profiles * (profiles - 1) / 2))
        trained = [
            em(pattern_counts(engine, "oneid_profiles", model, s.rule), model, s.skipped)
            for s in em_sessions(engine, "oneid_profiles", present)
        ]
        untrainable += set_m(model, trained)
        linker = Linker(engine.splink_api().register("oneid_profiles"), model, log_level="ERROR")
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        pairs = engine.to_arrow(f"SELECT count(*) AS n FROM {predictions.physical_name}")["n"][0].as_py()
        links = engine.to_arrow(record_links_sql(predictions.physical_name), "probabilistic links")
    finally:
        engine.drop("__splink__")  # what Splink cached (blocked pairs, term frequencies, predictions)
        engine.drop("oneid_profiles")
        engine.drop("oneid_record_profile")
    return MatchResult(links, model, int(profiles), int(pairs), [u.as_dict() for u in untrainable])


def _estimate_prior(linker: Any, rules: list[Any]) -> tuple[float, list[Untrainable]]:
    """The prior match probability from deterministic-looking rules (assumed to find 70 % of matches).
    Splink raises a plain ValueError when they find more pairs than that recall allows (a small set of
    duplicates): they are then taken as finding every match. With no rule, or no pair found, the prior is
    `DEFAULT_PRIOR`, reported as untrainable."""
    reason = "no deterministic-looking rule applies to the attributes present"
    if rules:
        try:
            linker.training.estimate_probability_two_random_records_match(rules, recall=0.7)
        except ValueError:
            linker.training.estimate_probability_two_random_records_match(rules, recall=1.0)
        prior = linker.misc.save_model_to_json()["probability_two_random_records_match"]
        if prior > 0:
            return prior, []
        reason = "the deterministic-looking rules find no pair"
    label = "probability two random records match"
    return DEFAULT_PRIOR, [Untrainable("prior", label, "prior", DEFAULT_PRIOR, reason)]


def blocked_pairs(engine: ResolutionEngine, table: str, columns: tuple[str, ...]) -> int:
    """How many profile pairs agree on all of `columns` (none null)."""
    present = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    pairs = engine.to_arrow(
        f"SELECT coalesce(sum(n * (n - 1) / 2), 0) AS pairs FROM (SELECT count(*) AS n FROM {table} "
        f"WHERE {present} GROUP BY {', '.join(columns)}) AS groups"
    )["pairs"][0].as_py()
    return int(pairs)


def em_rule(engine: ResolutionEngine, table: str, columns: tuple[str, ...]) -> str:
    """An EM blocking rule on `columns`, thinned to about EM_PAIRS pairs: at scale a common name alone
    blocks tens of millions of pairs, and EM learns m and u as well from a random share of them (a pair is
    kept when its left profile falls in the kept share of the `em_bucket` hash)."""
    rule = " AND ".join(f"l.{c} = r.{c}" for c in columns)
    share = max(1, math.ceil(blocked_pairs(engine, table, columns) / EM_PAIRS))
    return rule if share == 1 else f"{rule} AND l.em_bucket % {min(share, 1024)} = 0"


def em_sessions(engine: ResolutionEngine, table: str, present: set[str]) -> list[Session]:
    """Two EM sessions whose blocked columns differ, so each comparison is trained in one of them (a
    session cannot train the comparison of its own blocked key: every pair agrees on it). The second is
    blocked on the first of birth date, postcode, phone and e-mail that blocks `EM_MIN_PAIRS` pairs (a
    birth date only the CRM carries may block none), else on the one that blocks the most."""
    sessions = [("name_pinyin",)] if "name_pinyin" in present else []
    keys = [(c,) for c in ("birth_date", "postcode", "phone", "email") if c in present]
    counted = [(blocked_pairs(engine, table, k), k) for k in keys]
    enough = [k for n, k in counted if n >= EM_MIN_PAIRS]
    if enough or counted:
        sessions.append(enough[0] if enough else max(counted)[1])
    return [
        Session(c, em_rule(engine, table, c), frozenset(COMPARED_AS.get(x, x) for x in c)) for c in sessions
    ]


def record_links_sql(predictions: str) -> str:
    """Profile pairs back to record links (stars per profile, plus one link per matched profile pair).

    A predicted pair that only a household explains is dropped: two names in characters that are two
    names, with no personal key in common. Phone, address, city and district all agree for a family's
    members, and Fellegi-Sunter counts them as independent evidence, enough to outweigh the names (a
    spouse's CRM record holding the family phone scored 0.999 against the head's orders)."""
    return (
        "WITH first AS (SELECT profile_id, min(record_id) AS record_id FROM oneid_record_profile "
        "GROUP BY profile_id) "
        "SELECT a.record_id AS record_a, b.record_id AS record_b, p.match_probability, p.match_weight "
        f"FROM {predictions} p JOIN first a ON a.profile_id = p.unique_id_l "
        "JOIN first b ON b.profile_id = p.unique_id_r "
        "JOIN oneid_profiles pl ON pl.unique_id = p.unique_id_l "
        "JOIN oneid_profiles pr ON pr.unique_id = p.unique_id_r "
        f"WHERE NOT {household_only_sql('pl', 'pr')} "
        "UNION ALL SELECT f.record_id, r.record_id, 1.0, NULL FROM oneid_record_profile r "
        "JOIN first f USING (profile_id) WHERE r.record_id <> f.record_id"
    )
