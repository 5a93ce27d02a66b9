"""E-commerce clickstream: view, click, cart and purchase events of the app, website and mini program, as
monthly JSON lines files. Tracking started a year before `today`.

Every online order (except on Tmall, whose clicks the retailer never sees) comes with a session of views,
carts and purchases of its products; between orders people browse the categories they like, logged in or
anonymous on one of their devices, less and less as they drift towards churning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zhongtai.scenarios.retail.behaviour import Behaviour
from zhongtai.scenarios.retail.calendar import DAY_SECONDS, ONLINE_HOURS, RetailCalendar
from zhongtai.scenarios.retail.catalog import Catalog
from zhongtai.scenarios.retail.identifiers import Identifiers
from zhongtai.scenarios.retail.orders import Orders, pick_products

TRACKED_DAYS = 365
EVENT_TYPES = ("view", "click", "cart", "purchase")
VIEW, CLICK, CART, PURCHASE = range(len(EVENT_TYPES))
CHANNELS = ("app", "web", "mini_program")
# Orders placed on Tmall leave no clicks in the retailer's own tracking; those shoppers browse on the web.
CHANNEL_OF_SHOP = np.array([0, 1, 2])  # app, tmall -> web, mini_program
STILL_BROWSING = 0.03  # after churning, people open the app now and then


@dataclass
class Events:
    """Events sorted by time."""

    ms: np.ndarray  # milliseconds since the epoch, local time
    session: np.ndarray
    person: np.ndarray
    logged_in: np.ndarray
    device: np.ndarray  # index into Identifiers.device_id
    kind: np.ndarray  # index into EVENT_TYPES
    product: np.ndarray
    channel: np.ndarray  # index into CHANNELS


def simulate_events(
    rng: np.random.Generator,
    behaviour: Behaviour,
    ids: Identifiers,
    catalog: Catalog,
    orders: Orders,
    calendar: RetailCalendar,
) -> Events:
    """All tracked events of the last TRACKED_DAYS days."""
    first_day = calendar.n_days - TRACKED_DAYS
    buying = _purchase_sessions(rng, behaviour, catalog, orders, first_day)
    browsing = _browse_sessions(rng, behaviour, catalog, calendar, first_day)
    browsing["event_session"] = browsing["event_session"] + len(buying["person"])
    merged = {key: np.concatenate([buying[key], browsing[key]]) for key in buying}
    person = merged["person"]
    # Sessions are numbered in order of their start; each session uses one of its owner's devices.
    session_rank = np.empty(len(person), dtype=np.int64)
    session_rank[np.argsort(merged["start"], kind="stable")] = np.arange(len(person))
    device_start = np.concatenate([[0], np.cumsum(behaviour.devices)[:-1]])
    device = device_start[person] + (rng.random(len(person)) * behaviour.devices[person]).astype(np.int64)
    # Views just before midnight of the first tracked day happened before tracking began.
    tracked = np.flatnonzero(merged["event_ms"] >= (calendar.start_seconds + first_day * DAY_SECONDS) * 1000)
    order = tracked[np.lexsort((merged["event_session"][tracked], merged["event_ms"][tracked]))]
    session = merged["event_session"][order]
    return Events(
        ms=merged["event_ms"][order],
        session=session_rank[session],
        person=person[session],
        logged_in=merged["logged_in"][session],
        device=device[session],
        kind=merged["kind"][order],
        product=merged["product"][order],
        channel=CHANNEL_OF_SHOP[behaviour.online_channel[person]][session],
    )


def _purchase_sessions(
    rng: np.random.Generator, behaviour: Behaviour, catalog: Catalog, orders: Orders, first_day: int
) -> dict[str, np.ndarray]:
    """Per tracked online order: view each product (and now and then an alternative), cart it, then buy."""
    tracked = orders.online & (orders.day >= first_day) & (behaviour.online_channel[orders.person] != 1)
    chosen = np.flatnonzero(tracked)
    position = np.full(orders.count, -1)
    position[chosen] = np.arange(len(chosen))
    lines = np.flatnonzero(tracked[orders.line_order])
    session = position[orders.line_order[lines]]
    end_ms = orders.seconds[chosen] * 1000
    # Browsing before checkout takes 2-20 minutes; products are viewed in line order, carted, bought at checkout.
    lead_ms = rng.integers(120_000, 1_200_000, size=len(chosen))
    view_ms = end_ms[session] - lead_ms[session] * (1 - (orders.line_no[lines] - 0.5) / 5.0)
    cart_ms = view_ms + (end_ms[session] - view_ms) * rng.uniform(0.2, 0.8, size=len(lines))
    buy_ms = end_ms[session] + orders.line_no[lines] * 40
    product = orders.product[lines]
    compared = np.flatnonzero(rng.random(len(lines)) < 0.4)
    alternative = pick_products(rng, catalog, catalog.category[product[compared]])
    return {
        "person": orders.person[chosen],
        "start": end_ms - lead_ms,
        "logged_in": np.ones(len(chosen), dtype=bool),
        "event_session": np.concatenate([session, session, session, session[compared]]),
        "event_ms": np.concatenate([view_ms, cart_ms, buy_ms, view_ms[compared] - 15_000]).astype(np.int64),
        "kind": np.repeat([VIEW, CART, PURCHASE, VIEW], [len(lines)] * 3 + [len(compared)]),
        "product": np.concatenate([product, product, product, alternative]),
    }


def _browse_sessions(
    rng: np.random.Generator, behaviour: Behaviour, catalog: Catalog, calendar: RetailCalendar, first_day: int
) -> dict[str, np.ndarray]:
    """Sessions between orders: a few views, some clicks on tiles, the odd abandoned cart."""
    rate = behaviour.order_rate * behaviour.online_share + 0.004 * behaviour.account
    peak = float(calendar.online.max())
    counts = rng.poisson(rate * peak * TRACKED_DAYS)
    person = np.repeat(np.arange(len(rate)), counts)
    day = first_day + rng.integers(0, TRACKED_DAYS, size=len(person))
    active = np.maximum(behaviour.activity(person, day), STILL_BROWSING) * (
        day >= behaviour.start_day[person]
    )
    keep = rng.random(len(person)) * peak < calendar.online[day] * active
    person, day = person[keep], day[keep]
    hours = rng.choice(24, size=len(person), p=ONLINE_HOURS / ONLINE_HOURS.sum())
    start_ms = (
        calendar.start_seconds + day * DAY_SECONDS + hours * 3600 + rng.integers(0, 3600, len(person))
    ) * 1000
    sizes = 1 + rng.poisson(2.2, size=len(person))
    event_session = np.repeat(np.arange(len(person)), sizes)
    steps = rng.integers(4_000, 90_000, size=len(event_session))
    elapsed = np.cumsum(steps)
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    offset = elapsed - elapsed[first] + steps[first]  # a few seconds to a minute and a half between events
    taste = behaviour.affinity[person[event_session]]
    cumulative = np.cumsum(taste, axis=1)
    category = (rng.random(len(event_session))[:, None] * cumulative[:, -1:] > cumulative).sum(axis=1)
    return {
        "person": person,
        "start": start_ms,
        "logged_in": rng.random(len(person)) < 0.65,
        "event_session": event_session,
        "event_ms": start_ms[event_session] + offset,
        "kind": rng.choice([VIEW, CLICK, CART], size=len(event_session), p=[0.7, 0.2, 0.1]),
        "product": pick_products(rng, catalog, category),
    }


def write_events(events: Events, ids: Identifiers, catalog: Catalog, folder: Path) -> dict[str, int]:
    """Write events-YYYY-MM.jsonl files; returns the event count per file name."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("events-*.jsonl"):
        stale.unlink()
    months = events.ms.astype("datetime64[ms]").astype("datetime64[M]")
    bounds = np.flatnonzero(np.diff(months.astype(np.int64))) + 1
    edges = np.concatenate([[0], bounds, [len(months)]])
    written = {}
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        name = f"events-{months[lo]!s}.jsonl"
        (folder / name).write_bytes(_json_lines(events, ids, catalog, lo, hi))
        written[name] = hi - lo
    return written


def _json_lines(events: Events, ids: Identifiers, catalog: Catalog, lo: int, hi: int) -> bytes:
    """JSON lines built column-wise by Arrow: every value is an id, a number or a fixed word, so no escaping."""
    part = slice(lo, hi)
    persons = events.person[part]
    account = np.where(events.logged_in[part], ids.account_id[persons], "")
    user = pc.if_else(
        pa.array(account != ""), pa.array(np.char.add(np.char.add('"', account.astype(str)), '"')), "null"
    )
    quoted = np.array([f'"{word}"' for word in EVENT_TYPES])
    ts = pc.utf8_replace_slice(
        pa.array(events.ms[part], type=pa.timestamp("ms")).cast(pa.string()), 10, 11, "T"
    )
    line = pc.binary_join_element_wise(
        '{"event_id":"E',
        _digits(np.arange(lo, hi) + 1, 10),
        '","ts":"',
        ts,
        '+08:00","session_id":"S',
        _digits(events.session[part] + 1, 9),
        '","user_id":',
        user,
        ',"device_id":"',
        pa.array(ids.device_id[events.device[part]]),
        '","event_type":',
        pa.array(quoted[events.kind[part]]),
        ',"product_id":',
        pc.cast(pa.array(catalog.product_id[events.product[part]]), pa.string()),
        ',"channel":"',
        pa.array(np.array(CHANNELS)[events.channel[part]]),
        '"}\n',
        "",
    )
    offsets = np.frombuffer(line.buffers()[1], dtype=np.int32, count=len(line) + 1, offset=line.offset * 4)
    return line.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def _digits(numbers: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
