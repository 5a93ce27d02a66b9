"""Chinese names compare by their characters: two people sharing a family phone whose surnames read the
same (蒋/姜, 魏/韦) stay two persons, while a romanized spelling and a mistyped given name still link."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.identity.test_oneid_resolve import mapping, people, run, tables

pytestmark = pytest.mark.unit

HOMOPHONE_FAMILIES = (("蒋伟", "姜伟"), ("魏丽娜", "韦丽娜"))


def family_data() -> dict:
    persons = people(60)
    for k, (first, second) in enumerate(HOMOPHONE_FAMILIES):
        a, b = persons[10 * k], persons[10 * k + 1]
        a["name"], b["name"] = first, second
        b["phone"] = a["phone"]  # one family phone, two people
    persons[5]["name"] = "张伟明"
    data = tables(persons)
    orders = data["orders"].to_pylist()
    for order in orders:
        if order["order_id"] == "O5-0":
            order["buyer_name"] = "Zhang Weiming"  # romanized
        if order["order_id"] == "O5-1":
            order["buyer_name"] = "张玮明"  # 伟 mistyped as its homophone 玮
    return {"crm": data["crm"], "orders": type(data["orders"]).from_pylist(orders)}


def test_a_shared_phone_and_a_homophone_surname_do_not_link() -> None:
    ids = mapping(run(family_data()))
    for k in range(len(HOMOPHONE_FAMILIES)):
        a, b = 10 * k, 10 * k + 1
        assert ids[f"crm:C{a}"] != ids[f"crm:C{b}"]
        for j in (0, 1):
            assert ids[f"orders:O{a}-{j}"] == ids[f"crm:C{a}"]
            assert ids[f"orders:O{b}-{j}"] == ids[f"crm:C{b}"]


def test_a_romanized_name_and_a_mistyped_given_name_still_link() -> None:
    ids = mapping(run(family_data()))
    assert ids["orders:O5-0"] == ids["crm:C5"] == ids["orders:O5-1"]


def test_a_pair_only_a_household_explains_is_not_a_link() -> None:
    """Two names in characters that are two names, no personal key shared: a family, whatever phone,
    address and city they share. A typo in the given name, or a shared birth date, is not that."""
    import duckdb

    from zhongtai.identity.probabilistic import household_only_sql

    columns = "name_han VARCHAR, birth_date VARCHAR, email VARCHAR, national_id VARCHAR"
    con = duckdb.connect()
    con.execute(f"CREATE TABLE l ({columns}); CREATE TABLE r ({columns})")
    pairs = [
        (("张超宇", None, None, None), ("章超宇", None, None, None), True),  # homophone surname
        (("张超宇", None, "a@x.com", None), ("李娜", None, "b@x.com", None), True),  # spouses
        (("张伟明", None, None, None), ("张玮明", None, None, None), False),  # a given-name typo
        (("张伟明", "19800101", None, None), ("章伟明", "19800101", None, None), False),  # one birth date
        (("张伟明", None, None, None), (None, None, None, None), False),  # no name on one side
    ]
    found = []
    for left, right, _ in pairs:
        con.execute("DELETE FROM l; DELETE FROM r")
        con.execute("INSERT INTO l VALUES (?, ?, ?, ?)", list(left))
        con.execute("INSERT INTO r VALUES (?, ?, ?, ?)", list(right))
        found.append(con.execute(f"SELECT {household_only_sql('l', 'r')} FROM l, r").fetchall()[0][0])
    assert found == [expected for _, _, expected in pairs]


def bridged_data(bridge: dict) -> dict:
    """蒋伟 (C0) and 姜伟 (C1), two birth dates, one family phone, and one more order on that phone:
    `bridge`'s buyer name, romanized: it reads as both."""
    persons = people(40)
    persons[0]["name"], persons[1]["name"] = "蒋伟", "姜伟"
    persons[1]["phone"] = persons[0]["phone"]
    data = tables(persons)
    phone = persons[0]["phone"]
    bridges = [
        {"order_id": f"B{k}", "buyer_name": bridge["name"], "buyer_phone": phone, "updated_at": "2025-03-01"}
        for k in range(bridge["orders"])
    ]
    orders = pa.concat_tables([data["orders"], pa.Table.from_pylist(bridges, data["orders"].schema)])
    return {"crm": data["crm"], "orders": orders}


@pytest.mark.parametrize(
    "bridge",
    [{"name": "Jiang Wei", "orders": 3}, {"name": "Wei Jiang", "orders": 1}],
    ids=["romanized", "romanized-reversed"],
)
def test_a_bridging_record_does_not_join_two_people_with_two_birth_dates(bridge: dict) -> None:
    """A record that reads as both spouses links to each; the two names in characters
    with two birth dates cannot be one person, so the union that would join them is refused."""
    result = run(bridged_data(bridge))
    ids = mapping(result)
    assert ids["crm:C0"] != ids["crm:C1"]
    for j in (0, 1):
        assert ids[f"orders:O0-{j}"] == ids["crm:C0"]
        assert ids[f"orders:O1-{j}"] == ids["crm:C1"]
    assert len(set(ids.values())) == 40
    assert result.stats["refused_links"] >= 1


def test_a_romanized_bridge_does_not_join_two_names_without_birth_dates() -> None:
    """Without any strong key to conflict on, two names in characters are still two people to a link
    that only a record without characters makes: a weak link does not join two names."""
    data = bridged_data({"name": "Jiang Wei", "orders": 2})
    crm = data["crm"].to_pylist()
    for row in crm[:2]:
        row["birth_date"] = None
    ids = mapping(run({"crm": pa.Table.from_pylist(crm, data["crm"].schema), "orders": data["orders"]}))
    assert ids["crm:C0"] != ids["crm:C1"]
    assert ids["orders:O0-1"] == ids["crm:C0"] and ids["orders:O1-1"] == ids["crm:C1"]
    assert ids["orders:B0"] == ids["orders:B1"] in (ids["crm:C0"], ids["crm:C1"])


def test_links_are_refused_weakest_first_and_exact_keys_join_two_names() -> None:
    """The union runs strongest link first: of two Splink links bridging 蒋伟 and 姜伟 through a romanized
    record, the weaker is refused. A loyalty card on a record whose surname is mistyped joins it to its
    person (an exact key is the person's own), unless the birth dates say two people."""
    import numpy as np

    from zhongtai.identity.clusters import component_roots
    from zhongtai.identity.conflicts import refused_links

    def refused(rows: list[tuple], links: list[tuple]) -> list[bool]:
        columns = ("record_id", "name_han", "birth_date", "id_card", "national_id")
        records = pa.table({c: [r[k] if k < len(r) else None for r in rows] for k, c in enumerate(columns)})
        ids = records["record_id"]
        at = {r: k for k, r in enumerate(ids.to_pylist())}
        a = np.array([at[x] for x, _, _, _ in links], dtype=np.int64)
        b = np.array([at[y] for _, y, _, _ in links], dtype=np.int64)
        roots = component_roots(ids, pa.array([x for x, *_ in links]), pa.array([y for _, y, *_ in links]))
        rules = pa.array([link[3] for link in links], pa.string())
        weights = pa.array([link[2] for link in links], pa.float64())
        found = refused_links(records, roots, a, b, rules, weights)
        return found.tolist()

    spouses = [("c0", "蒋伟", "19800101"), ("c1", "姜伟", "19820304"), ("x", None)]
    assert refused(spouses, [("c0", "x", 10.0, "splink"), ("c1", "x", 12.0, "splink")][::-1]) == [False, True]
    assert refused(spouses, [("c0", "x", 14.0, "splink"), ("c1", "x", 12.0, "splink")]) == [False, True]
    typo = [("o0", "王志华"), ("m0", "汪志华")]
    assert refused(typo, [("o0", "m0", None, "member_id")]) == [False]
    dated = [("o0", "王志华", "19820415"), ("m0", "汪志华", "19850101")]
    assert refused(dated, [("o0", "m0", None, "member_id")]) == [True]
    # Two nameless orders with one profile (the family phone) are no more than a shared phone: the card
    # and the name place each first, and the identical profile is the link refused.
    nameless = [("c0", "蒋伟", "19800101"), ("c1", "姜伟", "19820304"), ("n1", None), ("n2", None)]
    links = [
        ("n1", "n2", None, "same_profile"),
        ("c1", "n1", None, "member_id"),
        ("c0", "n2", None, "phone+name"),
    ]
    assert refused(nameless, links) == [True, False, False]
