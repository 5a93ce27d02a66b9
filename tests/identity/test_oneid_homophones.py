"""Chinese names compare by their characters: two people sharing a family phone whose surnames read the
same (蒋/姜, 魏/韦) stay two persons, while a romanized spelling and a mistyped given name still link."""

from __future__ import annotations

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
