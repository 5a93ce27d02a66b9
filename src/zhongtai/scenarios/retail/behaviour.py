"""Latent behaviour of each person: when they became a customer, how often they buy, where, what they like,
which systems know them, and a hidden churn propensity that makes them fade away.

Churn is not a coin flipped at the end: a person's propensity sets when they stop buying, and in the
months before that day their orders, clicks and patience all decline. That is the signal a churn model
trained on features at a time T must find to predict "no purchase in T..T+90 days".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zhongtai.scenarios.retail.calendar import RetailCalendar
from zhongtai.scenarios.retail.catalog import CATEGORIES, Catalog
from zhongtai.scenarios.retail.people import People

RAMP_DAYS = 150  # activity declines over the last five months before a person churns
FLOOR = 0.12  # ...down to this share of their usual rate
EXISTING_SHARE = 0.55  # customers already buying when the window opens
CHURN_PER_YEAR = 0.32  # mean yearly hazard of leaving
ONLINE_CHANNELS = ("app", "tmall", "mini_program")


@dataclass
class Behaviour:
    """One row per person; day values are window day indexes (negative: before the window)."""

    since_day: np.ndarray  # first contact with the retailer
    start_day: np.ndarray  # first day of buying inside the window (0 for existing customers)
    churn_day: np.ndarray  # the day they stop buying; >= n_days means still a customer at `today`
    propensity: np.ndarray  # latent churn propensity (standard normal)
    order_rate: np.ndarray  # orders per day at full activity
    online_share: np.ndarray  # share of orders placed online
    online_channel: np.ndarray  # index into ONLINE_CHANNELS: the shop they use
    affinity: np.ndarray  # (persons, categories), rows sum to 1
    home_store: np.ndarray  # index of the physical store they usually visit
    member: np.ndarray  # in the loyalty programme
    in_crm: np.ndarray  # known to the CRM
    crm_copies: np.ndarray  # 1, or 2 when registered twice
    account: np.ndarray  # has an e-commerce login
    devices: np.ndarray  # phones and computers they browse with

    def activity(self, persons: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Share of a person's usual rate on a day: 1 until the ramp before churn, 0 after churn."""
        left = self.churn_day[persons] - day
        return np.where(left <= 0, 0.0, np.clip(left / RAMP_DAYS, FLOOR, 1.0))

    def churned(self, n_days: int) -> np.ndarray:
        """True for people who stopped buying inside the window."""
        return self.churn_day < n_days


def make_behaviour(
    rng: np.random.Generator, people: People, catalog: Catalog, calendar: RetailCalendar
) -> Behaviour:
    """Draw every person's latent behaviour."""
    n = people.n
    existing = rng.random(n) < EXISTING_SHARE
    # New customers arrive when the retailer is busy: festivals bring sign-ups.
    arrival = calendar.online + calendar.store
    start_day = np.where(existing, 0, rng.choice(calendar.n_days, size=n, p=arrival / arrival.sum()))
    since_day = np.where(existing, -rng.integers(1, 2500, size=n), start_day)
    propensity = rng.standard_normal(n)
    hazard = CHURN_PER_YEAR * np.exp(0.85 * propensity - 0.36)
    churn_day = start_day + np.ceil(rng.exponential(365.0 / hazard)).astype(np.int64)
    # Loyal people also buy more often; the rate is per day at full activity.
    order_rate = rng.lognormal(np.log(4.6), 0.6, size=n) * np.exp(-0.2 * propensity) / 365.0
    kind = rng.choice(3, size=n, p=[0.33, 0.47, 0.20])  # store only, both, online only
    online_share = np.select([kind == 0, kind == 1], [0.0, rng.beta(2, 2, size=n)], 1.0)
    account = online_share > 0
    member = rng.random(n) < 0.25 + 0.5 * (1 - online_share)
    in_crm = rng.random(n) < np.where(member, 0.93, np.where(account, 0.8, 0.55))
    return Behaviour(
        since_day=since_day,
        start_day=start_day,
        churn_day=churn_day,
        propensity=propensity,
        order_rate=order_rate,
        online_share=online_share,
        online_channel=rng.choice(len(ONLINE_CHANNELS), size=n, p=[0.55, 0.25, 0.2]),
        affinity=_affinity(rng, people, calendar),
        home_store=_home_store(rng, people, catalog),
        member=member,
        in_crm=in_crm,
        crm_copies=np.where(in_crm & (rng.random(n) < 0.07), 2, 1),
        account=account,
        devices=np.where(account, 1 + rng.poisson(0.5, size=n), 0),
    )


def _affinity(rng: np.random.Generator, people: People, calendar: RetailCalendar) -> np.ndarray:
    """Taste for each category: personal, tilted by gender and age (baby goods at 25-40, health later)."""
    n = people.n
    taste = rng.dirichlet(np.full(len(CATEGORIES), 0.6), size=n)
    female = np.array([c.female for c in CATEGORIES])
    gender_tilt = np.where(people.gender[:, None] == 1, 1 - female, female) * 2
    age = calendar.today.year - (people.birth.astype("datetime64[Y]").astype(np.int64) + 1970)
    low, high = np.array([c.age[0] for c in CATEGORIES]), np.array([c.age[1] for c in CATEGORIES])
    age_tilt = np.where((age[:, None] >= low) & (age[:, None] <= high), 1.6, 0.5)
    affinity = (taste + 0.02) * gender_tilt * age_tilt
    return (affinity / affinity.sum(axis=1, keepdims=True)).astype(np.float32)


def _home_store(rng: np.random.Generator, people: People, catalog: Catalog) -> np.ndarray:
    """The store in the person's city (one of them at random); people in cities without one travel."""
    physical = catalog.physical
    home = np.empty(people.n, dtype=np.int64)
    cities = people.home.city
    for city in np.unique(cities):
        persons = np.flatnonzero(cities == city)
        local = physical[catalog.store_city[physical] == city]
        pool = local if len(local) else physical
        home[persons] = pool[rng.integers(0, len(pool), size=len(persons))]
    return home
