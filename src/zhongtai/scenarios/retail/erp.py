"""The ERP / order system: products, stores, orders and order lines as the retailer's order system holds them.

Orders carry no CRM id. They carry what the channel knows: the e-commerce login and the receiver's name,
phone and address as saved in the app's address book (online), or a loyalty card and a phone number a
cashier typed (in store), sometimes a family member's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from zhongtai.scenarios.retail import places
from zhongtai.scenarios.retail.behaviour import ONLINE_CHANNELS, Behaviour
from zhongtai.scenarios.retail.calendar import DAY_SECONDS, RetailCalendar
from zhongtai.scenarios.retail.catalog import CATEGORIES, Catalog
from zhongtai.scenarios.retail.columns import dates, money, pick, timestamps
from zhongtai.scenarios.retail.identifiers import Identifiers
from zhongtai.scenarios.retail.noise import render_addresses, render_emails, render_names, render_phones
from zhongtai.scenarios.retail.orders import STATUSES, Orders
from zhongtai.scenarios.retail.people import People

ONLINE_NAMES = {
    "canonical": 68,
    "english": 10,
    "pinyin": 6,
    "spaced": 3,
    "typo": 3,
    "traditional": 2,
    "title": 3,
    "upper": 2,
    "fullwidth": 3,
}
STORE_NAMES = {"canonical": 50, "title": 25, "typo": 10, "pinyin": 5, "spaced": 5, "traditional": 5}
ONLINE_PHONES = {"plain": 80, "spaced": 6, "plus86": 6, "plus86_spaced": 4, "dashed": 3, "typo": 1}
STORE_PHONES = {
    "plain": 55,
    "dashed": 12,
    "spaced": 12,
    "plus86_spaced": 5,
    "0086_dashed": 4,
    "fullwidth": 7,
    "typo": 5,
}
ONLINE_EMAILS = {"plain": 85, "case": 10, "domain_typo": 3, "fullwidth_at": 1, "spaces": 1}
ONLINE_ADDRESSES = {"full": 45, "no_province": 25, "compact": 12, "loose": 8, "short": 6, "fullwidth": 4}
ONLINE_PAYMENTS = ("alipay", "wechat_pay", "unionpay", "credit_card")
STORE_PAYMENTS = ("wechat_pay", "alipay", "unionpay", "cash")


@dataclass
class OrderContacts:
    """What each order says about its buyer; None where the channel did not ask."""

    account_id: list[str | None]
    member_id: list[str | None]
    name: list[str | None]
    phone: list[str | None]
    email: list[str | None]
    address: list[str | None]


def erp_tables(
    rng: np.random.Generator,
    people: People,
    behaviour: Behaviour,
    ids: Identifiers,
    catalog: Catalog,
    orders: Orders,
    calendar: RetailCalendar,
) -> dict[str, pa.Table]:
    """The four ERP tables: products, stores, orders, order_lines."""
    return {
        "products": _products(rng, catalog, calendar),
        "stores": _stores(rng, catalog, calendar),
        "orders": _orders(rng, people, behaviour, ids, catalog, orders, calendar),
        "order_lines": _order_lines(orders, catalog),
    }


def order_ids(orders: Orders) -> np.ndarray:
    return np.arange(orders.count, dtype=np.int64) + 100_000_001


def order_numbers(orders: Orders, calendar: RetailCalendar) -> list[str]:
    """Order numbers as printed on receipts: SO, the date, and the order's sequence within the day."""
    # Orders are sorted by time, so each day's orders are contiguous.
    sequence = np.arange(orders.count) - np.searchsorted(orders.day, orders.day, side="left") + 1
    stamp = [str(d).replace("-", "") for d in calendar.days]
    return [f"SO{stamp[d]}{s:06d}" for d, s in zip(orders.day.tolist(), sequence.tolist(), strict=True)]


def _products(rng: np.random.Generator, catalog: Catalog, calendar: RetailCalendar) -> pa.Table:
    count = len(catalog.product_id)
    launched = catalog.launched_day
    changed = np.maximum(launched, 0) + (
        rng.random(count) * (calendar.n_days - np.maximum(launched, 0))
    ).astype(int)
    return pa.table(
        {
            "product_id": catalog.product_id,
            "sku": [
                f"SKU-{CATEGORIES[c].code[:3].upper()}-{p}"
                for c, p in zip(catalog.category.tolist(), catalog.product_id.tolist(), strict=True)
            ],
            "product_name": catalog.product_name,
            "category": pick([c.code for c in CATEGORIES], catalog.category),
            "category_name": pick([c.name for c in CATEGORIES], catalog.category),
            "brand": catalog.brand,
            "list_price": money(catalog.price_cents),
            "status": np.where(rng.random(count) < 0.06, "discontinued", "active"),
            "launched_on": dates(launched, calendar.days[0]),
            "updated_at": timestamps(
                calendar.start_seconds + changed * DAY_SECONDS + rng.integers(28_800, 72_000, count)
            ),
        }
    )


def _stores(rng: np.random.Generator, catalog: Catalog, calendar: RetailCalendar) -> pa.Table:
    count = len(catalog.store_id)
    city = catalog.store_city
    roads = rng.integers(0, len(places.ROADS), size=count)
    numbers = rng.integers(1, 999, size=count)
    rows: list[tuple[str | None, ...]] = []
    for k in range(count):
        if city[k] < 0:  # e-commerce shops have no street address
            rows.append((None, None, None, None))
            continue
        place = places.CITIES[city[k]]
        area = place.districts[catalog.store_district[k]].name
        street = f"{places.ROADS[roads[k]][0]}{numbers[k]}号"
        rows.append(
            (place.province or place.name, place.name, area, f"{place.province}{place.name}{area}{street}")
        )
    province, city_name, district, address = (list(column) for column in zip(*rows, strict=True))
    touched = (rng.random(count) * calendar.n_days).astype(int)
    return pa.table(
        {
            "store_id": catalog.store_id,
            "store_code": catalog.store_code,
            "store_name": catalog.store_name,
            "store_format": catalog.store_format,
            "province": pa.array(province, pa.string()),
            "city": pa.array(city_name, pa.string()),
            "district": pa.array(district, pa.string()),
            "address": pa.array(address, pa.string()),
            "opened_on": dates(catalog.store_opened_day, calendar.days[0]),
            "updated_at": timestamps(calendar.start_seconds + touched * DAY_SECONDS + 36_000),
        }
    )


def _orders(
    rng: np.random.Generator,
    people: People,
    behaviour: Behaviour,
    ids: Identifiers,
    catalog: Catalog,
    orders: Orders,
    calendar: RetailCalendar,
) -> pa.Table:
    paid, discount, items = orders.totals()
    contacts = order_contacts(rng, people, behaviour, ids, orders)
    channel = np.where(
        orders.online, np.array(ONLINE_CHANNELS)[behaviour.online_channel[orders.person]], "store"
    )
    payment = np.where(
        orders.online,
        rng.choice(ONLINE_PAYMENTS, size=orders.count, p=[0.45, 0.4, 0.1, 0.05]),
        rng.choice(STORE_PAYMENTS, size=orders.count, p=[0.45, 0.3, 0.15, 0.1]),
    )
    return pa.table(
        {
            "order_id": order_ids(orders),
            "order_no": order_numbers(orders, calendar),
            "channel": channel,
            "store_id": catalog.store_id[orders.store],
            "account_id": pa.array(contacts.account_id, pa.string()),
            "member_id": pa.array(contacts.member_id, pa.string()),
            "buyer_name": pa.array(contacts.name, pa.string()),
            "buyer_phone": pa.array(contacts.phone, pa.string()),
            "buyer_email": pa.array(contacts.email, pa.string()),
            "shipping_address": pa.array(contacts.address, pa.string()),
            "status": np.array(STATUSES)[orders.status],
            "payment_method": payment,
            "item_count": items,
            "total_amount": money(paid),
            "discount_amount": money(discount),
            "ordered_at": timestamps(orders.seconds),
            "updated_at": timestamps(orders.updated),
        }
    )


def order_contacts(
    rng: np.random.Generator, people: People, behaviour: Behaviour, ids: Identifiers, orders: Orders
) -> OrderContacts:
    """Contact fields per order, rendered the way each channel writes them."""
    count = orders.count
    person, day = orders.person, orders.day
    online = np.flatnonzero(orders.online)
    store = np.flatnonzero(~orders.online)
    # A few online orders go to a family member's address; some family members give the shared number in store.
    head = people.head[person]
    receiver = np.where((head != person) & (rng.random(count) < 0.1), head, person)
    phone_owner = np.where((head != person) & (rng.random(count) < 0.15), head, person)
    named = store[rng.random(len(store)) < 0.3]
    phoned = store[rng.random(len(store)) < 0.45]
    emails = np.array(people.email, dtype=object)
    member = ids.member_id[person]
    shows_card = (member != "") & (rng.random(count) < np.where(orders.online, 0.35, 0.85))
    return OrderContacts(
        account_id=_scatter(count, online, ids.account_id[person[online]].tolist()),
        member_id=_scatter(count, np.flatnonzero(shows_card), member[shows_card].tolist()),
        name=_merge(
            count,
            online,
            render_names(people, receiver[online], ONLINE_NAMES, rng),
            named,
            render_names(people, person[named], STORE_NAMES, rng),
        ),
        phone=_merge(
            count,
            online,
            render_phones(people.phone_on(receiver[online], day[online]), ONLINE_PHONES, rng),
            phoned,
            render_phones(people.phone_on(phone_owner[phoned], day[phoned]), STORE_PHONES, rng),
        ),
        email=_scatter(count, online, render_emails(emails[person[online]], ONLINE_EMAILS, rng, missing=0.7)),
        address=_scatter(
            count, online, render_addresses(people, receiver[online], day[online], ONLINE_ADDRESSES, rng)
        ),
    )


def _scatter(count: int, positions: np.ndarray, values: list) -> list:
    out = np.full(count, None, dtype=object)
    out[positions] = np.array(values, dtype=object) if values else []
    return out.tolist()


def _merge(
    count: int, first: np.ndarray, first_values: list, second: np.ndarray, second_values: list
) -> list:
    out = np.full(count, None, dtype=object)
    out[first] = np.array(first_values, dtype=object) if first_values else []
    out[second] = np.array(second_values, dtype=object) if second_values else []
    return out.tolist()


def _order_lines(orders: Orders, catalog: Catalog) -> pa.Table:
    return pa.table(
        {
            "order_id": order_ids(orders)[orders.line_order],
            "line_no": orders.line_no.astype(np.int32),
            "product_id": catalog.product_id[orders.product],
            "quantity": orders.quantity.astype(np.int32),
            "unit_price": money(orders.price_cents),
            "discount_amount": money(orders.discount_cents),
            "line_amount": money(orders.line_amount_cents()),
            "updated_at": timestamps(orders.updated[orders.line_order]),
        }
    )
