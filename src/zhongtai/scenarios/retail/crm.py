"""The CRM: customer records and loyalty members, as registration forms and clerks filled them in.

Some people registered twice, some are members without a CRM link, parents gave their child's phone,
families share one; a record keeps the address of the day it was last edited, so movers look stale.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from zhongtai.scenarios.retail import places
from zhongtai.scenarios.retail.behaviour import Behaviour
from zhongtai.scenarios.retail.calendar import DAY_SECONDS, RetailCalendar
from zhongtai.scenarios.retail.catalog import Catalog
from zhongtai.scenarios.retail.columns import dates, money, optional, timestamps
from zhongtai.scenarios.retail.identifiers import Identifiers
from zhongtai.scenarios.retail.noise import (
    render_addresses,
    render_emails,
    render_ids,
    render_names,
    render_phones,
)
from zhongtai.scenarios.retail.orders import CANCELLED, REFUNDED, Orders
from zhongtai.scenarios.retail.people import People

CRM_NAMES = {"canonical": 80, "pinyin": 4, "english": 5, "typo": 4, "spaced": 2, "traditional": 3, "upper": 2}
CRM_PHONES = {
    "plain": 70,
    "plus86": 6,
    "plus86_spaced": 6,
    "dashed": 6,
    "spaced": 5,
    "fullwidth": 5,
    "typo": 2,
}
CRM_EMAILS = {"plain": 80, "case": 12, "domain_typo": 4, "fullwidth_at": 2, "spaces": 2}
CRM_IDS = {"plain": 88, "lower_x": 4, "spaced": 5, "typo": 3}
CRM_ADDRESSES = {"full": 55, "no_province": 25, "loose": 5, "compact": 5, "short": 5, "fullwidth": 5}
MEMBER_NAMES = {"canonical": 80, "typo": 6, "spaced": 4, "traditional": 3, "pinyin": 4, "english": 3}
MEMBER_PHONES = {"plain": 75, "spaced": 5, "dashed": 5, "plus86": 5, "fullwidth": 5, "typo": 5}
MEMBER_IDS = {"plain": 90, "lower_x": 4, "spaced": 3, "typo": 3}
CHANNELS = ("store", "app", "web", "wechat_mini", "call_center")
TIERS = ("bronze", "silver", "gold", "platinum")
TIER_FLOORS_YUAN = (0, 1_000, 3_000, 8_000)


def crm_tables(
    rng: np.random.Generator,
    people: People,
    behaviour: Behaviour,
    ids: Identifiers,
    catalog: Catalog,
    orders: Orders,
    calendar: RetailCalendar,
) -> dict[str, pa.Table]:
    """The two CRM tables: customers and loyalty_members."""
    return {
        "customers": _customers(rng, people, behaviour, ids, calendar),
        "loyalty_members": _members(rng, people, behaviour, ids, catalog, orders, calendar),
    }


def _edited(rng: np.random.Generator, registered: np.ndarray, n_days: int, share: float) -> np.ndarray:
    """The day each record was last edited: its registration, or a later profile update for `share` of them."""
    later = np.maximum(registered, 0) + (rng.random(len(registered)) * (n_days - np.maximum(registered, 0)))
    return np.where(rng.random(len(registered)) < share, later.astype(np.int64), registered)


def _phone_holder(rng: np.random.Generator, people: People, persons: np.ndarray, share: float) -> np.ndarray:
    """Whose phone a record holds: a family member's for `share` of non-heads of households."""
    head = people.head[persons]
    return np.where((head != persons) & (rng.random(len(persons)) < share), head, persons)


def _customers(
    rng: np.random.Generator, people: People, behaviour: Behaviour, ids: Identifiers, calendar: RetailCalendar
) -> pa.Table:
    persons, registered = ids.customer_person, ids.customer_day
    count = len(persons)
    edited = _edited(rng, registered, calendar.n_days, 0.45)
    homes = people.home_on(persons, edited)
    emails = np.array(people.email, dtype=object)[persons]
    id_numbers = people.id_number[persons]
    closed = behaviour.churned(calendar.n_days)[persons] & (rng.random(count) < 0.08)
    closed_day = np.minimum(
        behaviour.churn_day[persons] + rng.integers(1, 120, size=count), calendar.n_days - 1
    )
    edited = np.where(closed, np.maximum(edited, closed_day), edited)
    duplicate = np.zeros(count, dtype=bool)
    duplicate[np.unique(persons, return_index=True)[1]] = True
    duplicate = ~duplicate  # a person's later record
    channel = _register_channels(rng, behaviour, persons, duplicate)
    registered_at = _moment(rng, calendar, registered)
    updated_at = np.maximum(_moment(rng, calendar, edited), registered_at)
    return pa.table(
        {
            "customer_id": ids.customer_id,
            "full_name": pa.array(render_names(people, persons, CRM_NAMES, rng), pa.string()),
            "gender": pa.array(
                np.where(
                    rng.random(count) < 0.1,
                    np.asarray(None, dtype=object),
                    np.where(people.gender[persons] == 1, "M", "F"),
                ),
                pa.string(),
            ),
            "birth_date": optional(people.birth[persons], rng.random(count) < 0.65),
            "mobile": pa.array(
                render_phones(
                    people.phone_on(_phone_holder(rng, people, persons, 0.25), edited),
                    CRM_PHONES,
                    rng,
                    missing=0.03,
                ),
                pa.string(),
            ),
            "email": pa.array(render_emails(emails, CRM_EMAILS, rng, missing=0.25), pa.string()),
            "id_number": pa.array(render_ids(id_numbers, CRM_IDS, rng, missing=0.75), pa.string()),
            "province": [places.CITIES[c].province or places.CITIES[c].name for c in homes.city.tolist()],
            "city": [places.CITIES[c].name for c in homes.city.tolist()],
            "address": pa.array(
                render_addresses(people, persons, edited, CRM_ADDRESSES, rng, missing=0.15), pa.string()
            ),
            "register_channel": np.array(CHANNELS)[channel],
            "registered_at": timestamps(registered_at),
            "status": np.where(closed, "closed", "active"),
            "marketing_opt_in": rng.random(count) < 0.6,
            "updated_at": timestamps(updated_at),
        }
    )


def _register_channels(
    rng: np.random.Generator, behaviour: Behaviour, persons: np.ndarray, duplicate: np.ndarray
) -> np.ndarray:
    count = len(persons)
    online = rng.choice([1, 2, 3], size=count, p=[0.5, 0.15, 0.35])
    usual = np.where(behaviour.member[persons] | ~behaviour.account[persons], 0, online)
    usual = np.where(rng.random(count) < 0.04, 4, usual)
    # A second registration comes through a channel other than the first.
    return np.where(duplicate, (usual + rng.integers(1, len(CHANNELS), size=count)) % len(CHANNELS), usual)


def _moment(rng: np.random.Generator, calendar: RetailCalendar, day: np.ndarray) -> np.ndarray:
    """A time during opening hours on each day."""
    return calendar.start_seconds + day * DAY_SECONDS + rng.integers(9 * 3600, 21 * 3600, size=len(day))


def _members(
    rng: np.random.Generator,
    people: People,
    behaviour: Behaviour,
    ids: Identifiers,
    catalog: Catalog,
    orders: Orders,
    calendar: RetailCalendar,
) -> pa.Table:
    persons = np.flatnonzero(behaviour.member)
    persons = persons[np.argsort(ids.member_id[persons].astype(str), kind="stable")]
    count = len(persons)
    enrolled = ids.member_day[persons]
    spend_year, spend_all, last_day = _spending(orders, people.n, calendar.n_days)
    edited = np.maximum(enrolled, last_day[persons])
    first_record = np.full(people.n, -1, dtype=np.int64)
    known, first_position = np.unique(ids.customer_person, return_index=True)  # records are in date order
    first_record[known] = ids.customer_id[first_position]
    linked = (first_record[persons] >= 0) & (rng.random(count) < 0.65)
    tier = np.searchsorted(np.array(TIER_FLOORS_YUAN) * 100, spend_year[persons], side="right") - 1
    points = (spend_all[persons] // 100 * rng.uniform(0.4, 1.0, size=count)).astype(np.int64)
    emails = np.array(people.email, dtype=object)[persons]
    return pa.table(
        {
            "member_id": ids.member_id[persons].astype(str),
            "customer_id": optional(first_record[persons], linked),
            "full_name": pa.array(render_names(people, persons, MEMBER_NAMES, rng), pa.string()),
            "gender": np.where(people.gender[persons] == 1, "M", "F"),
            "birthday": optional(people.birth[persons], rng.random(count) < 0.75),
            "mobile": pa.array(
                render_phones(
                    people.phone_on(_phone_holder(rng, people, persons, 0.35), edited),
                    MEMBER_PHONES,
                    rng,
                    missing=0.01,
                ),
                pa.string(),
            ),
            "email": pa.array(render_emails(emails, CRM_EMAILS, rng, missing=0.5), pa.string()),
            "id_number": pa.array(
                render_ids(people.id_number[persons], MEMBER_IDS, rng, missing=0.45), pa.string()
            ),
            "tier": np.array(TIERS)[tier],
            "points_balance": points,
            "spend_12m": money(spend_year[persons]),
            "enroll_store_id": catalog.store_id[behaviour.home_store[persons]],
            "enrolled_on": dates(enrolled, calendar.days[0]),
            "updated_at": timestamps(_moment(rng, calendar, edited)),
        }
    )


def _spending(orders: Orders, n_people: int, n_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person: cents spent in the last year, cents spent in the window, and the last day they bought."""
    paid, _, _ = orders.totals()
    kept = (orders.status != CANCELLED) & (orders.status != REFUNDED)
    recent = kept & (orders.day >= n_days - 365)
    spend_year = np.bincount(orders.person[recent], weights=paid[recent], minlength=n_people).astype(np.int64)
    spend_all = np.bincount(orders.person[kept], weights=paid[kept], minlength=n_people).astype(np.int64)
    last_day = np.full(n_people, -(10**6), dtype=np.int64)
    np.maximum.at(last_day, orders.person, orders.day)
    return spend_year, spend_all, last_day
