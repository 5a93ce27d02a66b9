"""Master data of the ERP: the product catalogue (categories with price levels, seasons and buyer profiles)
and the store network (physical stores in the retailer's cities plus its e-commerce shops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zhongtai.scenarios.retail import places
from zhongtai.scenarios.retail.calendar import RetailCalendar


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    kinds: tuple[str, ...]  # sub-categories, used in product names
    brands: tuple[str, ...]
    median_price: float  # yuan
    female: float  # share of buyers who are women
    age: tuple[int, int]  # age band with the strongest interest
    peak_month: int  # month of the seasonal peak (0: none)
    amplitude: float  # strength of the seasonal swing


CATEGORIES: tuple[Category, ...] = (
    Category(
        "apparel",
        "服装",
        ("T恤", "衬衫", "羽绒服", "牛仔裤", "连衣裙", "卫衣", "针织衫"),
        ("森语", "Nordic Line", "简朴"),
        199,
        0.65,
        (20, 45),
        12,
        0.3,
    ),
    Category(
        "shoes",
        "鞋靴",
        ("运动鞋", "皮鞋", "帆布鞋", "雪地靴", "凉鞋"),
        ("步云", "Stride"),
        299,
        0.55,
        (18, 45),
        11,
        0.15,
    ),
    Category(
        "beauty",
        "美妆个护",
        ("面霜", "精华液", "口红", "洗发水", "防晒霜", "面膜"),
        ("花间", "Lumière", "素颜"),
        129,
        0.85,
        (20, 40),
        0,
        0.0,
    ),
    Category(
        "home",
        "家居",
        ("四件套", "枕头", "收纳箱", "毛巾", "香薰"),
        ("栖木", "Casa Mia"),
        159,
        0.6,
        (28, 60),
        0,
        0.0,
    ),
    Category(
        "kitchen",
        "厨具",
        ("炒锅", "保温杯", "刀具套装", "电饭煲", "餐具"),
        ("厨乐", "IronChef"),
        219,
        0.55,
        (28, 65),
        0,
        0.0,
    ),
    Category(
        "electronics",
        "数码家电",
        ("蓝牙耳机", "充电宝", "智能手表", "吹风机", "扫地机器人", "平板电脑"),
        ("声科", "Voltix", "米克"),
        599,
        0.35,
        (18, 40),
        0,
        0.0,
    ),
    Category(
        "baby",
        "母婴",
        ("纸尿裤", "奶粉", "婴儿推车", "儿童玩具", "宝宝湿巾"),
        ("贝亲宝", "LittleOne"),
        189,
        0.7,
        (25, 40),
        0,
        0.0,
    ),
    Category(
        "food",
        "食品零食",
        ("坚果礼盒", "咖啡豆", "茶叶", "巧克力", "方便速食", "进口牛奶"),
        ("山里红", "Daily Bite", "茗香"),
        59,
        0.55,
        (18, 80),
        1,
        0.3,
    ),
    Category(
        "sports",
        "运动户外",
        ("瑜伽垫", "跑步短裤", "登山包", "羽毛球拍", "露营帐篷"),
        ("动域", "Peakline"),
        249,
        0.45,
        (18, 40),
        5,
        0.25,
    ),
    Category(
        "books",
        "图书文具",
        ("畅销小说", "儿童绘本", "笔记本", "钢笔", "考试教辅"),
        ("墨香", "PaperJoy"),
        49,
        0.5,
        (18, 50),
        9,
        0.2,
    ),
    Category(
        "pets",
        "宠物用品",
        ("猫粮", "狗粮", "猫砂", "宠物玩具"),
        ("毛孩", "PawPal"),
        119,
        0.55,
        (22, 45),
        0,
        0.0,
    ),
    Category(
        "health",
        "营养保健",
        ("维生素", "蛋白粉", "鱼油", "血压计"),
        ("康源", "VitaPlus"),
        199,
        0.5,
        (45, 80),
        1,
        0.1,
    ),
)
EDITIONS = ("经典款", "升级款", "轻薄款", "大容量", "家庭装", "礼盒装", "新款", "Pro", "基础款", "限定版")
ONLINE_SHOPS = (
    ("app", "优选生活官方App"),
    ("tmall", "优选生活天猫旗舰店"),
    ("mini_program", "优选生活微信小程序商城"),
)
STORE_FORMATS = ("flagship", "mall", "community", "outlet")


@dataclass
class Catalog:
    """Products and stores as arrays; ids are what every system uses to refer to them."""

    product_id: np.ndarray
    category: np.ndarray  # index into CATEGORIES
    product_name: list[str]
    brand: list[str]
    price_cents: np.ndarray
    popularity: np.ndarray  # relative demand within its category
    launched_day: np.ndarray  # window day index (negative: before the window)
    store_id: np.ndarray
    store_city: np.ndarray  # index into places.CITIES, -1 for online shops
    store_district: np.ndarray
    store_format: list[str]
    store_name: list[str]
    store_code: list[str]
    store_size: np.ndarray  # relative footfall
    store_opened_day: np.ndarray
    online_store: dict[str, int]  # online channel -> store index

    @property
    def physical(self) -> np.ndarray:
        """Indexes of the physical stores."""
        return np.flatnonzero(self.store_city >= 0)


def catalog_size(customers: int) -> tuple[int, int]:
    """(products, stores) for a customer count: grows modestly with the business."""
    return int(np.clip(200 + customers // 100, 200, 2000)), int(np.clip(20 + customers // 2500, 20, 100))


def make_catalog(rng: np.random.Generator, customers: int, n_days: int) -> Catalog:
    """Draw the product catalogue and the store network for a retailer of this size."""
    n_products, n_stores = catalog_size(customers)
    products = _products(rng, n_products, n_days)
    stores = _stores(rng, n_stores - len(ONLINE_SHOPS))
    return Catalog(**products, **stores)


def _products(rng: np.random.Generator, count: int, n_days: int) -> dict:
    category = np.sort(rng.integers(0, len(CATEGORIES), size=count))
    category[: len(CATEGORIES)] = np.arange(len(CATEGORIES))  # every category has products
    category = np.sort(category)
    median = np.array([c.median_price for c in CATEGORIES])[category]
    # Prices end in .00, .90 or .99 like shelf prices do.
    price = np.maximum(median * rng.lognormal(0, 0.55, size=count), 9)
    cents = price.astype(np.int64) * 100 + rng.choice([0, 90, 99], size=count, p=[0.5, 0.25, 0.25])
    rank = np.empty(count)
    for code in range(len(CATEGORIES)):
        members = np.flatnonzero(category == code)
        rank[members] = rng.permutation(len(members)) + 1
    kinds = rng.integers(0, 100, size=count)
    brands = rng.integers(0, 100, size=count)
    editions = rng.integers(0, len(EDITIONS), size=count)
    names, brand_names = [], []
    for k in range(count):
        cat = CATEGORIES[category[k]]
        brand = cat.brands[brands[k] % len(cat.brands)]
        brand_names.append(brand)
        names.append(f"{brand} {cat.kinds[kinds[k] % len(cat.kinds)]} {EDITIONS[editions[k]]}")
    return {
        "product_id": np.arange(10001, 10001 + count),
        "category": category,
        "product_name": names,
        "brand": brand_names,
        "price_cents": cents,
        "popularity": 1.0 / rank**0.9,  # a few best sellers, a long tail
        "launched_day": np.where(
            rng.random(count) < 0.8,
            -rng.integers(1, 1500, size=count),
            rng.integers(0, n_days - 30, size=count),
        ),
    }


def _stores(rng: np.random.Generator, count: int) -> dict:
    weights = np.array([c.weight for c in places.CITIES])
    # Every city gets a store before the big cities get more.
    city = np.concatenate(
        [
            np.arange(min(count, len(places.CITIES))),
            rng.choice(
                len(places.CITIES), size=max(0, count - len(places.CITIES)), p=weights / weights.sum()
            ),
        ]
    )
    city = np.sort(city)
    district = np.array([rng.integers(0, len(places.CITIES[c].districts)) for c in city], dtype=np.int64)
    formats = rng.choice(len(STORE_FORMATS), size=count, p=[0.1, 0.45, 0.35, 0.1])
    names, codes = [], []
    for k, c in enumerate(city):
        place = places.CITIES[c]
        area = place.districts[district[k]].name.removesuffix("区").removesuffix("新")
        names.append(f"优选生活·{place.name.removesuffix('市')}{area}{k + 1}号店")
        codes.append(f"{place.pinyin.replace(chr(39), '')[:3].upper()}{k + 1:03d}")
    online_names = [name for _, name in ONLINE_SHOPS]
    size = np.where(formats == 0, 2.0, np.where(formats == 2, 0.6, 1.0)) * rng.lognormal(0, 0.25, size=count)
    return {
        "store_id": np.arange(101, 101 + count + len(ONLINE_SHOPS)),
        "store_city": np.concatenate([city, np.full(len(ONLINE_SHOPS), -1)]),
        "store_district": np.concatenate([district, np.full(len(ONLINE_SHOPS), -1)]),
        "store_format": [STORE_FORMATS[f] for f in formats] + ["online"] * len(ONLINE_SHOPS),
        "store_name": names + online_names,
        "store_code": codes + [f"ONL{k + 1:03d}" for k in range(len(ONLINE_SHOPS))],
        "store_size": np.concatenate([size, np.ones(len(ONLINE_SHOPS))]),
        "store_opened_day": np.concatenate(
            [-rng.integers(30, 3000, size=count), np.full(len(ONLINE_SHOPS), -2000)]
        ),
        "online_store": {channel: count + k for k, (channel, _) in enumerate(ONLINE_SHOPS)},
    }


def category_season(calendar: RetailCalendar) -> np.ndarray:
    """Demand multiplier per (day, category): down jackets in winter, sport in spring, books in September."""
    months = calendar.days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    peaks = np.array([c.peak_month for c in CATEGORIES])
    amplitude = np.array([c.amplitude for c in CATEGORIES])
    distance = np.minimum(np.abs(months[:, None] - peaks), 12 - np.abs(months[:, None] - peaks))
    return 1 + amplitude * np.cos(np.pi * distance / 6) * (peaks > 0)
