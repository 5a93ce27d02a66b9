"""Postal addresses: folded text, province/city/district suffixes restored, and a coarse key.

`address_key` splits a mainland address into province, city, district and the rest (road, number,
estate, building, room) for fuzzy comparison. Province names are recognised with or without their suffix
(`广东` → `广东省`, `内蒙古` → `内蒙古自治区`), and so are the cities in CITIES (`广州天河区` → 广州市);
any other city or district is recognised only when written with its suffix (市, 州, 盟, 地区; 区, 县, 旗).
A known city fills in its province, so `广州市天河区…` and `广东省广州市天河区…` get the same key.
English addresses (`…, Huangpu District, Shanghai`) get the city from CITIES and the district in pinyin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa

from zhongtai.identity.normalize.pinyin import han_pinyin
from zhongtai.identity.normalize.text import fold_width, has_han, map_unique

MUNICIPALITIES = ("北京", "天津", "上海", "重庆")
_PROVINCES = "河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾"
PROVINCES = (
    *(f"{m}市" for m in MUNICIPALITIES),
    *(f"{p}省" for p in _PROVINCES.split()),
    "内蒙古自治区", "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区",
    "香港特别行政区", "澳门特别行政区",
)  # fmt: skip
# Cities known without their 市 (capitals and the large prefecture-level cities), by province.
CITIES = {
    "广东": "广州 深圳 佛山 东莞 珠海 汕头 惠州 中山 江门 湛江",
    "浙江": "杭州 宁波 温州 绍兴 嘉兴 金华 台州 湖州",
    "江苏": "南京 苏州 无锡 常州 南通 徐州 扬州 镇江",
    "四川": "成都 绵阳",
    "湖北": "武汉 宜昌 襄阳",
    "湖南": "长沙 株洲",
    "陕西": "西安",
    "河南": "郑州 洛阳",
    "山东": "济南 青岛 烟台 潍坊",
    "福建": "福州 厦门 泉州",
    "辽宁": "沈阳 大连",
    "吉林": "长春",
    "黑龙江": "哈尔滨",
    "河北": "石家庄 唐山",
    "山西": "太原",
    "安徽": "合肥",
    "江西": "南昌",
    "广西": "南宁 桂林",
    "云南": "昆明",
    "贵州": "贵阳",
    "海南": "海口 三亚",
    "甘肃": "兰州",
    "内蒙古": "呼和浩特",
    "新疆": "乌鲁木齐",
}
PLACE_READINGS = {
    "朝阳": "chaoyang",
    "闵行": "minhang",
    "重庆": "chongqing",
    "厦门": "xiamen",
    "长沙": "changsha",
}
_CITY = re.compile(r"[^区县路街号道巷弄0-9]{1,7}?(?:自治州|地区|盟|市)")
_DISTRICT = re.compile(r"[^路街号道巷弄0-9]{1,6}?(?:新区|区|县|旗|市)")
_UNIT = re.compile(r"([0-9]+)(?:栋|幢|号楼|座)([0-9]+)(?:室|号)?")
_PUNCTUATION = re.compile(r"[\s,，、.。;；:：#'\"()（）\[\]【】]+")


@dataclass(frozen=True)
class AddressKey:
    """A coarse place (province, city, district) and the rest of the address for fuzzy comparison."""

    province: str | None
    city: str | None
    district: str | None
    district_latin: str | None  # the district in pinyin, without its suffix: compares Chinese with English
    rest: str

    @property
    def coarse(self) -> tuple[str | None, str | None, str | None]:
        return self.province, self.city, self.district


def address_key(value: str | None) -> AddressKey | None:
    """Split an address into its coarse key and rest, or None when nothing is left after folding."""
    if value is None:
        return None
    # Case folded in both forms: dropping 栋 or punctuation can tip a mixed address from the Chinese form
    # into the English one, which would otherwise change its letters' case on a second pass.
    text = fold_width(fold_width(value).lower()).strip()
    if not text:
        return None
    return _english_key(text) if _is_english(text) else _chinese_key(text)


def normalize_address(value: str | None) -> str | None:
    """The address rewritten from its key: full province, city and district names, then the folded rest."""
    key = address_key(value)
    if key is None:
        return None
    if key.district is None and key.district_latin:  # English: keep its own words, folded
        parts = [key.rest, f"{key.district_latin} district", key.city or ""]
        return ", ".join(p for p in parts if p)
    city = key.city if key.city != key.province else None  # 上海市, not 上海市上海市
    # NFKC again: removed punctuation can bring combining marks next to the letters they compose with.
    return fold_width("".join(p for p in (key.province, city, key.district, key.rest) if p)) or None


def normalize_address_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`normalize_address` over an Arrow array (once per distinct address)."""
    return map_unique(values, normalize_address)


def _chinese_key(text: str) -> AddressKey:
    text = _PUNCTUATION.sub("", text)
    province, text = _take_province(text)
    city, text = _take_city(text, province)
    if city and province is None:
        province = _city_province().get(city)
    match = _DISTRICT.match(text)
    district = match.group(0) if match else None
    rest = _units(text[match.end() :] if match else text)
    return AddressKey(province, city, district, _district_latin(district), rest)


def _units(text: str) -> str:
    """Building-room writings as `1-101`; repeated until none is left, as one pass leaves `1-1栋1` of `1栋1栋1`."""
    while (rewritten := _UNIT.sub(r"\1-\2", text)) != text:
        text = rewritten
    return text


def _take_province(text: str) -> tuple[str | None, str]:
    for full, short in _province_writings():
        for written in (full, short):
            if text.startswith(written) and not (written != full and text[len(written) :].startswith("市")):
                return full, text[len(written) :]  # but 吉林市 is a city of 吉林省
    return None, text


def _take_city(text: str, province: str | None) -> tuple[str | None, str]:
    if province and _short(province) in MUNICIPALITIES:  # a municipality is its own city
        return province, text.removeprefix(province).removeprefix(_short(province))
    for short, full in _known_cities():
        for written in (full, short):
            if text.startswith(written):
                return full, text[len(written) :]
    match = _CITY.match(text)
    return (match.group(0), text[match.end() :]) if match else (None, text)


def _english_key(text: str) -> AddressKey:
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    city = district = None
    cities = _city_by_pinyin() | {full: full for _, full in _known_cities()}
    if parts and (found := cities.get(re.sub(r"[^a-z]", "", parts[-1]) or parts[-1])):
        city = found
        parts.pop()
    for k, part in enumerate(parts):
        if part.endswith(" district"):
            district = re.sub(r"[^a-z]", "", part.removesuffix(" district"))
            parts.pop(k)
            break
    rest = ", ".join(re.sub(r"\s+", " ", p) for p in parts)
    return AddressKey(_city_province().get(city or ""), city, None, district, rest)


@lru_cache(maxsize=1)
def _province_writings() -> tuple[tuple[str, str], ...]:
    # Built once: the short forms were otherwise recomputed for every address parsed.
    return tuple((full, _short(full)) for full in PROVINCES)


def _short(full: str) -> str:
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市"):
        if full.endswith(suffix):
            return full.removesuffix(suffix)
    return full


def _district_latin(district: str | None) -> str | None:
    if not district:
        return None
    for suffix in ("新区", "区", "县", "旗", "市"):
        if district.endswith(suffix) and len(district) > len(suffix):
            district = district.removesuffix(suffix)
            break
    return _pinyin(district)


@lru_cache(maxsize=8192)
def _pinyin(place: str) -> str:
    return PLACE_READINGS.get(place) or "".join(han_pinyin(place))


def _is_english(text: str) -> bool:
    # English addresses still name the housing estate in characters (阳光花园); letters outnumber them.
    letters = sum(c.isascii() and c.isalpha() for c in text)
    return letters > sum(has_han(c) for c in text)


@lru_cache(maxsize=1)
def _known_cities() -> tuple[tuple[str, str], ...]:
    municipalities = [(m, f"{m}市") for m in MUNICIPALITIES]
    others = [(c, f"{c}市") for cities in CITIES.values() for c in cities.split()]
    return tuple(sorted(municipalities + others, key=lambda pair: -len(pair[0])))


@lru_cache(maxsize=1)
def _city_province() -> dict[str, str]:
    full = {_short(p): p for p in PROVINCES}
    mapping = {f"{c}市": full[p] for p, cities in CITIES.items() for c in cities.split()}
    return mapping | {f"{m}市": f"{m}市" for m in MUNICIPALITIES}


@lru_cache(maxsize=1)
def _city_by_pinyin() -> dict[str, str]:
    return {_pinyin(short): full for short, full in _known_cities()}
