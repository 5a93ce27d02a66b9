"""The retail calendar: how demand moves with the weekday, the season and the promotions (618, 双十一,
双十二, Spring Festival), for stores and for e-commerce, plus the hour of day at which people buy.

Every system draws its timing from here, so orders, clicks, tickets and stock all feel the same peaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

HISTORY_DAYS = 730
DAY_SECONDS = 86_400

# Spring Festival (Chinese New Year's day) moves with the lunar calendar.
SPRING_FESTIVAL = {
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}

# Monday first; stores fill up at the weekend, e-commerce a little on Sunday and Monday evenings.
STORE_WEEKDAY = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.35, 1.3])
ONLINE_WEEKDAY = np.array([1.05, 1.0, 0.98, 0.97, 0.95, 1.0, 1.08])
# Festivals are e-commerce events first; stores join in with part of the lift.
STORE_SHARE_OF_LIFT = 0.45

STORE_HOURS = np.array(
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 5, 7, 8, 7, 6, 7, 8, 9, 10, 10, 8, 5, 2, 0], dtype=float
)
ONLINE_HOURS = np.array(
    [3, 1.5, 0.8, 0.4, 0.3, 0.4, 0.8, 1.5, 3, 4, 4.5, 5, 5.5, 5, 4.5, 4.5, 4.5, 5, 5.5, 6, 7.5, 8.5, 8, 5.5]
)


@dataclass(frozen=True)
class Promotion:
    """A sales festival: a lead-in with a moderate lift and a peak day with a large one (online)."""

    name: str
    start: date
    peak: date
    end: date
    lead_lift: float
    peak_lift: float


@dataclass(frozen=True)
class RetailCalendar:
    """Days of the observation window and the demand multiplier of each day per channel (mean 1)."""

    today: date
    start: date
    days: np.ndarray  # datetime64[D], start .. today
    online: np.ndarray
    store: np.ndarray
    promo_level: np.ndarray  # 0 ordinary day, 1 lead-in of a festival, 2 its peak day
    promotions: tuple[Promotion, ...]

    @property
    def n_days(self) -> int:
        return len(self.days)

    @property
    def start_seconds(self) -> int:
        """The window start as seconds since the epoch (local wall time), the origin of every timestamp."""
        return int(np.datetime64(self.start, "s").astype(np.int64))

    def day_index(self, day: date) -> int:
        return (day - self.start).days

    def peak_days(self, name: str) -> list[int]:
        """Indexes of the peak days of a promotion inside the window."""
        return [
            self.day_index(p.peak)
            for p in self.promotions
            if p.name == name and self.start <= p.peak <= self.today
        ]


def build_calendar(today: date, history_days: int = HISTORY_DAYS) -> RetailCalendar:
    """The window of `history_days` days ending with `today`, and its demand curves."""
    start = today - timedelta(days=history_days - 1)
    days = np.arange(np.datetime64(start, "D"), np.datetime64(today, "D") + 1)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    day_of_year = (days - days.astype("datetime64[Y]")).astype(np.int64)
    # Winter (before Spring Festival) sells most, high summer least.
    season = 1 + 0.12 * np.cos(2 * np.pi * (day_of_year - 25) / 365.25)
    online = season * ONLINE_WEEKDAY[weekday]
    store = season * STORE_WEEKDAY[weekday]
    promotions = _promotions(start.year - 1, today.year + 1)
    level = np.zeros(len(days), dtype=np.int8)
    for promo in promotions:
        _apply(promo, days, online, store, level)
    _apply_spring_festival(days, online, store)
    return RetailCalendar(today, start, days, online / online.mean(), store / store.mean(), level, promotions)


def _promotions(first_year: int, last_year: int) -> tuple[Promotion, ...]:
    found = []
    for year in range(first_year, last_year + 1):
        found.append(Promotion("618", date(year, 6, 1), date(year, 6, 18), date(year, 6, 18), 1.35, 3.0))
        # Pre-sales of 双十一 open in late October.
        found.append(
            Promotion("double11", date(year, 10, 31), date(year, 11, 11), date(year, 11, 11), 1.45, 4.0)
        )
        found.append(
            Promotion("double12", date(year, 12, 10), date(year, 12, 12), date(year, 12, 12), 1.2, 1.8)
        )
    return tuple(found)


def _apply(
    promo: Promotion, days: np.ndarray, online: np.ndarray, store: np.ndarray, level: np.ndarray
) -> None:
    lead = (days >= np.datetime64(promo.start)) & (days <= np.datetime64(promo.end))
    peak = days == np.datetime64(promo.peak)
    level[lead] = np.maximum(level[lead], 1)
    level[peak] = 2
    lift = np.where(peak, promo.peak_lift, np.where(lead, promo.lead_lift, 1.0))
    online *= lift
    store *= 1 + STORE_SHARE_OF_LIFT * (lift - 1)


def _apply_spring_festival(days: np.ndarray, online: np.ndarray, store: np.ndarray) -> None:
    for new_year in SPRING_FESTIVAL.values():
        first = np.datetime64(new_year)
        before = (days >= first - 14) & (days < first)
        holiday = (days >= first) & (days < first + 7)
        # Shopping for the holiday, then couriers and many stores stop for a week.
        store *= np.where(before, 1.3, np.where(holiday, 0.7, 1.0))
        online *= np.where(before, 1.15, np.where(holiday, 0.5, 1.0))


def seconds_of_day(rng: np.random.Generator, online: np.ndarray) -> np.ndarray:
    """A time of day (seconds) per event, store or online hour profile chosen per event."""
    store_hours = rng.choice(24, size=len(online), p=STORE_HOURS / STORE_HOURS.sum())
    online_hours = rng.choice(24, size=len(online), p=ONLINE_HOURS / ONLINE_HOURS.sum())
    hours = np.where(online, online_hours, store_hours)
    return hours * 3600 + rng.integers(0, 3600, size=len(online))
