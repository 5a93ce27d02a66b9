"""Addresses: the generator's writings of one home share a coarse key; suffixes and widths fold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhongtai.identity.normalize.address import address_key, normalize_address
from zhongtai.scenarios.retail import places
from zhongtai.scenarios.retail.noise import address_formats
from zhongtai.scenarios.retail.people import make_people

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("written", "coarse", "rest"),
    [
        (
            "上海市黄浦区人民路12号阳光花园5栋1203室",
            ("上海市", "上海市", "黄浦区"),
            "人民路12号阳光花园5-1203",
        ),
        ("上海黄浦区人民路12号阳光花园5栋1203室", ("上海市", "上海市", "黄浦区"), "人民路12号阳光花园5-1203"),
        ("广东省 广州市 天河区 中山路5号", ("广东省", "广州市", "天河区"), "中山路5号"),
        ("广东广州天河区中山路5号", ("广东省", "广州市", "天河区"), "中山路5号"),
        ("广州市天河区中山路５号３栋８０１室", ("广东省", "广州市", "天河区"), "中山路5号3-801"),
        ("江苏省昆山市玉山镇1号", ("江苏省", "昆山市", None), "玉山镇1号"),
        ("内蒙古呼和浩特新城区1号", ("内蒙古自治区", "呼和浩特市", "新城区"), "1号"),
        ("黄浦区人民路12号", (None, None, "黄浦区"), "人民路12号"),
    ],
)
def test_chinese_keys(written: str, coarse: tuple, rest: str) -> None:
    key = address_key(written)
    assert key is not None
    assert (key.coarse, key.rest) == (coarse, rest)


def test_english_addresses_get_the_city_and_district_in_pinyin() -> None:
    key = address_key("Rm 1203, Bldg 5, 阳光花园, No. 12 Renmin Rd, Huangpu District, Shanghai")
    assert key is not None
    assert (key.province, key.city, key.district_latin) == ("上海市", "上海市", "huangpu")
    assert key.district_latin == address_key("上海市黄浦区人民路12号").district_latin


def test_normalize_restores_suffixes_and_province() -> None:
    assert normalize_address("广州 天河区 中山路 5 号") == "广东省广州市天河区中山路5号"
    assert normalize_address("北京朝阳区建国路1号") == "北京市朝阳区建国路1号"
    assert normalize_address(None) is None
    assert normalize_address("  ") is None


@pytest.fixture(scope="module")
def homes():
    people = make_people(np.random.default_rng(5), 300, 700, 2026)
    return people.home


def test_generator_writings_share_city_and_district(homes) -> None:
    formats = address_formats(homes)
    for k in range(len(homes.city)):
        city = places.CITIES[homes.city[k]]
        district = city.districts[homes.district[k]]
        full = address_key(formats["full"](k, 0))
        assert (full.city, full.district) == (city.name, district.name)
        for style in ("no_province", "loose", "compact", "fullwidth"):
            key = address_key(formats[style](k, 0))
            assert key.coarse == full.coarse, style
        english = address_key(formats["english"](k, 0))
        assert (english.city, english.district_latin) == (city.name, full.district_latin)
        assert address_key(formats["compact"](k, 0)).rest.endswith(f"{homes.building[k]}-{homes.room[k]}")


ADDRESS_TEXT = st.text(alphabet="上海市广东省州黄浦区路号栋室12345６, ABCRd.-　", max_size=30)


@given(st.one_of(ADDRESS_TEXT, st.text(max_size=20)))
def test_normalize_is_idempotent(value: str) -> None:
    once = normalize_address(value)
    assert normalize_address(once) == once
