"""One check of the entity keys callers send, driven by the entity's declared key types."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from zhongtai.errors import ZhongtaiError
from zhongtai.features.keys import checked_entity_key, key_schema
from zhongtai.spec.models import EntitySpec

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "key_types", "expected"),
    [
        ("100005", (), "100005"),
        (103216.0, ("int64",), "103216"),
        (103216.0, (), "103216"),
        (100005, (), "100005"),
        ("A-100", (), "A-100"),
        (["100005"], (), "100005"),
        (100005, ("int64",), "100005"),
        ("100005", ("int64",), "100005"),
        ("+0100005", ("int64",), "100005"),
        ("-7", ("int64",), "-7"),
        (2**63 - 1, ("int64",), str(2**63 - 1)),
        ("-" + "9" * 18, ("int64",), "-" + "9" * 18),
        ("\u3000x", (), "\u3000x"),
    ],
)
def test_keys_that_are_accepted(value, key_types, expected):
    assert checked_entity_key(value, "customer_id", ["customer_id"], key_types) == expected


@pytest.mark.parametrize(
    ("value", "key_types", "message"),
    [
        (
            1.5,
            ("int64",),
            "field 'customer_id' must be an integer, not a decimal number (join key customer_id",
        ),
        (103216.5, (), "field 'customer_id' must be a string or an integer, not a decimal number"),
        (1e300, ("int64",), "field 'customer_id' is out of the int64 range"),
        ("   ", (), "field 'customer_id' is blank"),
        ("", ("int64",), "field 'customer_id' is blank"),
        (True, (), "field 'customer_id' must be a string or an integer, not a boolean"),
        ({"id": 1}, (), "field 'customer_id' must be a string or an integer, not an object"),
        ([[1]], (), "field 'customer_id[0]' must be a string or an integer, not a list"),
        (None, (), "field 'customer_id' is required"),
        ("103216.0", ("int64",), "field 'customer_id' must be an integer or a string of at most 18 digits"),
        ("1e5", ("int64",), "field 'customer_id' must be an integer or a string of at most 18 digits"),
        (" 7", ("int64",), "field 'customer_id' must be an integer or a string of at most 18 digits"),
        ("9" * 19, ("int64",), "field 'customer_id' must be an integer or a string of at most 18 digits"),
        ("\u3000 \t", (), "field 'customer_id' is blank"),
        (2**63, ("int64",), "field 'customer_id' is out of the int64 range"),
        (-(2**63) - 1, (), "field 'customer_id' is out of the int64 range"),
        (["1", "2"], (), "field 'customer_id' needs 1 value(s) (customer_id), got 2"),
    ],
)
def test_keys_that_are_refused_name_the_field_never_the_value(value, key_types, message):
    with pytest.raises(ZhongtaiError, match=re.escape(message)) as caught:
        checked_entity_key(value, "customer_id", ["customer_id"], key_types)
    assert caught.value.code == "invalid_argument" and caught.value.hint
    assert "1032" not in caught.value.message and "999" not in caught.value.message


@pytest.mark.parametrize("key_type", ["string", "int64"])
def test_the_openapi_key_schema_states_the_same_rule(key_type):
    import jsonschema

    schema = key_schema(key_type, max_chars=20)
    samples = [
        7,
        -(2**63),
        2**63,
        "7",
        "+007",
        "9" * 19,
        "A1",
        "",
        "  ",
        "\u3000",
        " a",
        "x" * 21,
        1.5,
        True,
        None,
    ]
    for sample in samples:
        try:
            checked_entity_key(sample, "k", ["k"], (key_type,))
            accepted = not (isinstance(sample, str) and len(sample) > 20)  # the body reader's limit
        except ZhongtaiError:
            accepted = False
        valid = jsonschema.Draft202012Validator(schema).is_valid(sample)
        assert valid == accepted, (key_type, sample)


def test_composite_keys_check_each_part_by_its_type():
    keys, types = ["store_id", "product_id"], ("int64", "string")
    assert checked_entity_key([7, "A1"], "entity", keys, types) == "7|A1"
    assert checked_entity_key(["007", 12], "entity", keys, types) == "7|12"
    with pytest.raises(ZhongtaiError, match=re.escape("field 'entity[1]' is blank")):
        checked_entity_key([7, " "], "entity", keys, types)
    with pytest.raises(ZhongtaiError, match=re.escape("field 'entity' must be a list of 2 values")):
        checked_entity_key("7", "entity", keys, types)
    with pytest.raises(ZhongtaiError, match=re.escape("field 'entity' needs 2 value(s)")) as caught:
        checked_entity_key([7], "entity", keys, types)
    assert caught.value.hint == 'send {"entity": [100005, "100005"]}'


def test_an_entity_declares_key_types_of_its_join_keys_only():
    entity = EntitySpec(
        name="store_product", join_keys=["store_id", "product_id"], key_types={"store_id": "int64"}
    )
    assert entity.join_key_types() == ("int64", "string")
    with pytest.raises(ValidationError, match="key_types names shop_id, which are not join keys"):
        EntitySpec(name="store", join_keys=["store_id"], key_types={"shop_id": "int64"})
    with pytest.raises(ValidationError, match="Input should be 'string' or 'int64'"):
        EntitySpec(name="store", join_keys=["store_id"], key_types={"store_id": "float64"})
