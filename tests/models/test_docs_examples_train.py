"""The complete project example of each task in docs/models.md (binary, multiclass, regression,
recommendation, forecast, text classification) trains as a user would run it: the YAML copied as it is, a
tiny generated data folder beside it, `apply`, ingest, build the views, train; the version has its task's
metric and a card, and the capability answers with it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.capabilities.recommend_shop import PRODUCTS
from tests.capabilities.recommend_shop import STORE as SHOP
from tests.capabilities.recommend_shop import purchases as shop_purchases
from tests.models.text_world import tickets
from zhongtai.capabilities.runtime import build_runtime
from zhongtai.features.materialize import materialize
from zhongtai.features.offline import build_view
from zhongtai.features.online import open_online_store
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.models.cards import card_of
from zhongtai.models.train import train_model
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.md"
CUSTOMERS, MONTHS = 80, 8
SEGMENTS = ("bargain", "regular", "premium")


def _example(section: str) -> str:
    text = DOCS.read_text()
    heading = re.search(rf"\n#+ {section}\n", text)
    assert heading is not None
    body = text[heading.start() :]
    found = re.search(r"```yaml\n(.*?)```", body, re.S)
    assert found is not None
    return found.group(1)


def _customer_data(folder: Path) -> None:
    """Monthly stats per customer; the segment follows the basket and the next month's spend the visits
    times the basket, with noise, so a model has something to learn."""
    rng = np.random.default_rng(11)
    months = ["customer_id,month_end,visits,basket,tenure_days"]
    segments, spend = ["customer_id,month_end,segment"], ["customer_id,month_end,next_month_spend"]
    churn = ["customer_id,month_end,churned"]
    for customer in range(1, CUSTOMERS + 1):
        taste = rng.uniform(20, 300)
        for month in range(MONTHS):
            end = date(2025, 1, 31) + timedelta(days=30 * month)
            visits, basket = int(rng.poisson(4)), round(taste * rng.lognormal(0, 0.2), 2)
            months.append(f"{customer},{end},{visits},{basket},{200 + 30 * month}")
            segment = SEGMENTS[int(np.digitize(basket + rng.normal(0, 15), [90, 200]))]
            segments.append(f"{customer},{end},{segment}")
            spend.append(f"{customer},{end},{round(visits * basket * rng.lognormal(0, 0.1), 2)}")
            churn.append(f"{customer},{end},{int(visits + rng.normal(0, 1) < 3)}")
    folder.mkdir()
    for name, lines in (
        ("customer_months", months),
        ("customer_segments", segments),
        ("customer_spend", spend),
        ("customer_churn", churn),
    ):
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")


def _ticket_data(folder: Path) -> None:
    folder.mkdir()
    rows = ["ticket_id,created_at,category,body"]
    for ticket in tickets(240, seed=5):
        body = ticket["text"].replace('"', "'")
        # a naive timestamp: the example declares created_at a timestamp, which refuses a zone offset
        rows.append(f'{ticket["ticket_id"]},{ticket["created_at"][:19]},{ticket["category"]},"{body}"')
    (folder / "tickets.csv").write_text("\n".join(rows) + "\n")


def _shop_data(folder: Path) -> None:
    """The recommendation tests' shop (tests/capabilities/recommend_shop.py) as four CSV exports."""
    folder.mkdir()
    bought = ["purchase_id,customer_id,product_id,bought_at,quantity"]
    bought += [",".join(str(v) for v in row) for row in shop_purchases()]
    products = ["product_id,category,price,title"]
    products += [f"{p},c{p // 10},{10.0 + p},product {p}" for p in range(PRODUCTS)]
    customers = ["customer_id,signed_up_at,age"]
    customers += [f"{c},2024-06-01 00:00:00,{20 + c % 50}" for c in range(1, 301)]
    stock = ["product_id,store_id,day,on_hand,risk"]
    stock += [
        f"{p},{SHOP},2025-04-20 00:00:00,{p % 3},{0.95 if p % 7 == 0 else 0.1}" for p in range(PRODUCTS)
    ]
    for name, lines in (
        ("purchases", bought),
        ("products", products),
        ("customers", customers),
        ("stock", stock),
    ):
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")


def _stock_data(folder: Path) -> None:
    """140 days of six product x store series with a weekly pattern, stock-outs and one promotion a month;
    the calendar runs 28 days (the example's horizon) past the sales."""
    folder.mkdir()
    rng = np.random.default_rng(3)
    start, days = date(2025, 1, 1), 140
    weekday = (0.8, 0.9, 1.0, 1.0, 1.1, 1.5, 1.3)
    promoted = {d for d in range(days + 28) if d % 30 == 12}
    rows = ["date,product_id,store_id,sold,stockout,on_hand,on_order"]
    for product, store in ((p, s) for p in (1, 2, 3) for s in (1, 2)):
        level = rng.uniform(4, 12)
        for offset in range(days):
            day = start + timedelta(days=offset)
            demand = rng.poisson(level * weekday[day.weekday()] * (2.0 if offset in promoted else 1.0))
            out = rng.random() < 0.05
            on_hand = 0 if out else int(rng.integers(1, 40))
            rows.append(f"{day},{product},{store},{demand // 3 if out else demand},{int(out)},{on_hand},5")
    promotions = ["day,promotion,promo_level"]
    promotions += [
        f"{start + timedelta(days=d)},{'sale' if d in promoted else ''},{2 if d in promoted else 0}"
        for d in range(days + 28)
    ]
    (folder / "daily_stock.csv").write_text("\n".join(rows) + "\n")
    (folder / "promotions.csv").write_text("\n".join(promotions) + "\n")


@pytest.mark.parametrize(
    ("section", "write_data", "model", "views", "request_body", "metric"),
    [
        (
            "A complete binary classification project",
            _customer_data,
            "churn",
            ["customer_stats"],
            {"customer_id": 7},
            "auc",
        ),
        (
            "Multiclass classification",
            _customer_data,
            "segment",
            ["customer_stats"],
            {"customer_id": 7},
            "macro_f1",
        ),
        ("Regression", _customer_data, "next_month_spend", ["customer_stats"], {"customer_id": 7}, "mae"),
        (
            "Recommendation",
            _shop_data,
            "recommender",
            ["profile", "recent", "shelf"],
            {"customer_id": 5, "store_id": SHOP, "k": 5},
            "hit_rate_at_10",
        ),
        (
            "Forecast",
            _stock_data,
            "stock_forecast",
            [],
            {"product_id": 1, "store_id": 2},
            "mase",
        ),
        (
            "Text classification",
            _ticket_data,
            "intent",
            [],
            {"ticket_id": "T00003", "text": "我要退款，钱什么时候退回来？"},
            "accuracy",
        ),
    ],
)
def test_the_documented_example_trains_and_answers(
    tmp_path: Path,
    section: str,
    write_data: Callable[[Path], None],
    model: str,
    views: list[str],
    request_body: dict,
    metric: str,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write_data(project / "data")
    (project / "project.yaml").write_text(_example(section))
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    online = open_online_store(f"sqlite:///{tmp_path / 'online.db'}")
    try:
        lake = LakeStorage(str(tmp_path / "lake"))
        apply_plan(build_plan(load_project(project), store), store)
        for dataset, payload in store.registered("datasets").items():
            if "source" in payload:  # not the datasets a model publishes to
                ingest(store, lake, dataset)
        for view in views:
            build_view(store, lake, view)
            materialize(store, lake, online, view)
        version = train_model(store, lake, model)
        store.models.set_alias(model, version.version, "champion")
        assert metric in version.metrics["validation"]
        _, card = card_of(store, model)
        assert card["model"] == model
        (capability,) = store.registered("capabilities")
        answer = build_runtime(capability, store, lake, online).decide(request_body).to_dict()
        assert answer["model"] == {"name": model, "version": version.version}
    finally:
        online.close()
        store.close()
