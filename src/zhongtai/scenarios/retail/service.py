"""Customer service: tickets from the hotline, e-mail, web form, app chat and WeChat, with the contact
details as the customer gave them and free text in Chinese or English.

Tickets follow what happened: cancelled, returned and refunded orders bring their requests, late parcels
bring chasers, and people heading for churn complain more. The intent is written to the truth folder only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zhongtai.scenarios.retail import places
from zhongtai.scenarios.retail import service_text as text
from zhongtai.scenarios.retail.behaviour import RAMP_DAYS, Behaviour
from zhongtai.scenarios.retail.calendar import DAY_SECONDS, RetailCalendar
from zhongtai.scenarios.retail.catalog import Catalog
from zhongtai.scenarios.retail.identifiers import Identifiers
from zhongtai.scenarios.retail.noise import render_emails, render_names, render_phones
from zhongtai.scenarios.retail.orders import CANCELLED, COMPLETED, REFUNDED, RETURNED, Orders
from zhongtai.scenarios.retail.people import CHINESE_WITH_ENGLISH_NAME, FOREIGN, People

INTENT = {name: k for k, name in enumerate(text.INTENTS)}
# (order status, online?) -> [(intent, chance per order, lag range in days)]
ORDER_TICKETS: dict[tuple[int, bool], list[tuple[str, float, tuple[float, float]]]] = {
    (CANCELLED, True): [("cancel_order", 0.2, (0.01, 0.5)), ("refund_request", 0.1, (2, 8))],
    (RETURNED, True): [("return_item", 0.25, (2, 8)), ("refund_request", 0.1, (8, 20))],
    (REFUNDED, True): [("refund_request", 0.25, (3, 12))],
    (COMPLETED, True): [
        ("delivery_delay", 0.015, (3, 8)),
        ("order_status", 0.015, (1, 4)),
        ("change_address", 0.007, (0.05, 1)),
        ("payment_problem", 0.005, (0, 0.2)),
    ],
    (RETURNED, False): [("return_item", 0.2, (1, 7))],
    (COMPLETED, False): [("payment_problem", 0.002, (0, 1)), ("complaint", 0.002, (0, 2))],
}
# Requests not tied to one order, per person-year of activity.
PERSON_TICKETS = {"product_inquiry": 0.06, "account_issue": 0.03, "complaint": 0.015}
COMPLAINTS_BEFORE_CHURN = 12.0  # complaint rate multiplier in the months before someone leaves
CHANNELS_ZH = ("hotline", "app_chat", "wechat", "web_form", "email")
CHANNELS_EN = ("email", "web_form", "app_chat")
TICKET_NAMES = {
    "canonical": 45,
    "title": 20,
    "pinyin": 8,
    "english": 10,
    "typo": 6,
    "spaced": 4,
    "traditional": 3,
    "upper": 2,
    "fullwidth": 2,
}
TICKET_PHONES = {
    "plain": 45,
    "plus86_spaced": 12,
    "plus86": 8,
    "0086_dashed": 6,
    "dashed": 10,
    "spaced": 10,
    "fullwidth": 6,
    "typo": 3,
}
TICKET_EMAILS = {"plain": 70, "case": 18, "domain_typo": 6, "fullwidth_at": 3, "spaces": 3}
# The category an agent picks when closing a ticket: usually the request, sometimes a neighbouring one (a
# refund asked for in a return, a late parcel filed as a status query), sometimes none at all.
MISFILED = 0.08
UNFILED = 0.03
NEIGHBOURS = {
    "order_status": ("delivery_delay", "change_address"),
    "refund_request": ("return_item", "cancel_order", "complaint"),
    "return_item": ("refund_request",),
    "delivery_delay": ("order_status", "complaint"),
    "product_inquiry": ("order_status",),
    "complaint": ("delivery_delay", "refund_request"),
    "account_issue": ("payment_problem",),
    "payment_problem": ("account_issue", "refund_request"),
    "change_address": ("order_status",),
    "cancel_order": ("refund_request",),
}
DONE = ("resolved", "closed")


@dataclass
class Tickets:
    person: np.ndarray
    seconds: np.ndarray  # created at
    day: np.ndarray  # window day index of creation
    intent: np.ndarray  # index into service_text.INTENTS
    order: np.ndarray  # order position, -1 when not about one order
    english: np.ndarray


def simulate_tickets(
    rng: np.random.Generator, people: People, behaviour: Behaviour, orders: Orders, calendar: RetailCalendar
) -> Tickets:
    """Every ticket of the window, sorted by creation time."""
    now = calendar.start_seconds + calendar.n_days * DAY_SECONDS - 1
    parts = [_order_tickets(rng, orders), _person_tickets(rng, behaviour, calendar)]
    person = np.concatenate([p[0] for p in parts])
    seconds = np.concatenate([p[1] for p in parts])
    intent = np.concatenate([p[2] for p in parts])
    order = np.concatenate([p[3] for p in parts])
    keep = seconds <= now
    sort = np.lexsort((person[keep], seconds[keep]))
    person, seconds, intent, order = (
        person[keep][sort],
        seconds[keep][sort],
        intent[keep][sort],
        order[keep][sort],
    )
    kind = people.kind[person]
    english_chance = np.select([kind == FOREIGN, kind == CHINESE_WITH_ENGLISH_NAME], [0.9, 0.3], 0.05)
    day = (seconds - calendar.start_seconds) // DAY_SECONDS
    return Tickets(person, seconds, day, intent, order, rng.random(len(person)) < english_chance)


def _order_tickets(rng: np.random.Generator, orders: Orders) -> tuple[np.ndarray, ...]:
    found: list[tuple[np.ndarray, ...]] = []
    for (status, online), rules in ORDER_TICKETS.items():
        candidates = np.flatnonzero((orders.status == status) & (orders.online == online))
        for intent, chance, (low, high) in rules:
            chosen = candidates[rng.random(len(candidates)) < chance]
            lag = (rng.uniform(low, high, size=len(chosen)) * DAY_SECONDS).astype(np.int64)
            found.append(
                (
                    orders.person[chosen],
                    orders.seconds[chosen] + lag,
                    np.full(len(chosen), INTENT[intent]),
                    chosen,
                )
            )
    return tuple(np.concatenate([f[k] for f in found]) for k in range(4))


def _person_tickets(
    rng: np.random.Generator, behaviour: Behaviour, calendar: RetailCalendar
) -> tuple[np.ndarray, ...]:
    start = behaviour.start_day
    end = np.minimum(behaviour.churn_day + 30, calendar.n_days)  # a last word after leaving is common
    span = np.maximum(end - start, 0)
    found = []
    for intent, per_year in PERSON_TICKETS.items():
        boost = COMPLAINTS_BEFORE_CHURN if intent == "complaint" else 1.0
        counts = rng.poisson(per_year * boost * span / 365.0)
        person = np.repeat(np.arange(len(start)), counts)
        day = start[person] + (rng.random(len(person)) * span[person]).astype(np.int64)
        # Thinning: complaints gather in the months before churn, other requests spread evenly.
        before_churn = (behaviour.churn_day[person] - day) < RAMP_DAYS
        keep = rng.random(len(person)) < (np.where(before_churn, 1.0, 1.0 / boost))
        person, day = person[keep], day[keep]
        seconds = (
            calendar.start_seconds + day * DAY_SECONDS + rng.integers(8 * 3600, 23 * 3600, size=len(day))
        )
        found.append((person, seconds, np.full(len(person), INTENT[intent]), np.full(len(person), -1)))
    return tuple(np.concatenate([f[k] for f in found]) for k in range(4))


def ticket_ids(count: int) -> list[str]:
    return [f"TK{k + 1:08d}" for k in range(count)]


def write_tickets(
    rng: np.random.Generator,
    tickets: Tickets,
    people: People,
    ids: Identifiers,
    catalog: Catalog,
    orders: Orders,
    order_numbers: list[str],
    calendar: RetailCalendar,
    path: Path,
    filing: np.random.Generator,
) -> int:
    """Write tickets.jsonl: contact fields as typed, subject and text, the agent's category of a finished
    ticket, no intent. `filing` draws the categories alone, so the other values do not depend on it.
    Returns the ticket count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = len(tickets.person)
    channel = _channels(rng, tickets, people, ids)
    contacts = _contacts(rng, tickets, people, ids, channel)
    now = calendar.start_seconds + calendar.n_days * DAY_SECONDS - 1
    updated = np.minimum(
        tickets.seconds + (rng.uniform(0.05, 5, size=count) * DAY_SECONDS).astype(np.int64), now
    )
    status = np.where(
        updated >= now,
        np.where(rng.random(count) < 0.5, "open", "pending"),
        np.where(rng.random(count) < 0.7, "resolved", "closed"),
    )
    words = _Writer(rng, people, catalog, orders, order_numbers, ids)
    category = agent_categories(filing, tickets.intent, status)
    with path.open("w", encoding="utf-8") as out:
        for k, ticket_id in enumerate(ticket_ids(count)):
            subject, body = words.write(tickets, k, channel[k])
            order = tickets.order[k]
            record = {
                "ticket_id": ticket_id,
                "created_at": _iso(tickets.seconds[k]),
                "updated_at": _iso(updated[k]),
                "channel": channel[k],
                **{key: values[k] for key, values in contacts.items()},
                "order_no": order_numbers[order] if order >= 0 and rng.random() < 0.4 else None,
                "subject": subject,
                "text": body,
                "status": str(status[k]),
                "category": category[k],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return count


def agent_categories(rng: np.random.Generator, intent: np.ndarray, status: np.ndarray) -> list[str | None]:
    """The category each ticket was filed under: None while open or pending, else the intent, a neighbouring
    intent (MISFILED) or None (UNFILED)."""
    draws = rng.random((len(intent), 3))
    out: list[str | None] = []
    for k, index in enumerate(intent.tolist()):
        name = text.INTENTS[index]
        if str(status[k]) not in DONE or draws[k, 2] < UNFILED:
            out.append(None)
        elif draws[k, 0] < MISFILED:
            options = NEIGHBOURS[name]
            out.append(options[int(draws[k, 1] * len(options))])
        else:
            out.append(name)
    return out


def _iso(seconds: int) -> str:
    return str(np.datetime64(int(seconds), "s")) + "+08:00"


def _channels(rng: np.random.Generator, tickets: Tickets, people: People, ids: Identifiers) -> list[str]:
    count = len(tickets.person)
    zh = np.array(CHANNELS_ZH)[rng.choice(len(CHANNELS_ZH), size=count, p=[0.35, 0.3, 0.2, 0.1, 0.05])]
    en = np.array(CHANNELS_EN)[rng.choice(len(CHANNELS_EN), size=count, p=[0.4, 0.3, 0.3])]
    channel = np.where(tickets.english, en, zh)
    has_email = np.array([e is not None for e in people.email])[tickets.person]
    has_account = ids.account_id[tickets.person] != ""
    # E-mail needs an address and app chat a login; those customers fall back to the form or the hotline.
    channel = np.where((channel == "email") & ~has_email, "web_form", channel)
    channel = np.where((channel == "app_chat") & ~has_account, "hotline", channel)
    return channel.tolist()


def _contacts(
    rng: np.random.Generator, tickets: Tickets, people: People, ids: Identifiers, channel: list[str]
) -> dict[str, list]:
    kind = np.array(channel)
    person = tickets.person
    phone_missing = np.select(
        [kind == "hotline", kind == "web_form", kind == "wechat"], [0.0, 0.3, 0.5], 0.85
    )
    email_missing = np.select([kind == "email", kind == "web_form"], [0.0, 0.4], 0.95)
    # Sometimes the spouse calls about the order, from the family's number.
    head = people.head[person]
    caller = np.where((head != person) & (rng.random(len(person)) < 0.1), head, person)
    emails = np.array(people.email, dtype=object)[person]
    account = np.where(kind == "app_chat", ids.account_id[person], np.asarray(None, dtype=object))
    member = np.where(rng.random(len(person)) < 0.1, ids.member_id[person], "")
    return {
        "contact_name": render_names(
            people, person, TICKET_NAMES, rng, missing=np.where(kind == "app_chat", 0.5, 0.1)
        ),
        "contact_phone": render_phones(
            people.phone_on(caller, tickets.day), TICKET_PHONES, rng, phone_missing
        ),
        "contact_email": render_emails(emails, TICKET_EMAILS, rng, email_missing),
        "account_id": account.tolist(),
        "member_id": [m or None for m in member.tolist()],
    }


class _Writer:
    """Fills templates with the ticket's order, product, amounts and places, then adds the noise of real typing."""

    def __init__(
        self,
        rng: np.random.Generator,
        people: People,
        catalog: Catalog,
        orders: Orders,
        order_numbers: list[str],
        ids: Identifiers,
    ) -> None:
        self.rng, self.people, self.catalog, self.orders = rng, people, catalog, orders
        self.order_numbers, self.ids = order_numbers, ids
        self.first_line = np.searchsorted(orders.line_order, np.arange(orders.count))
        self.paid = orders.totals()[0]

    def write(self, tickets: Tickets, k: int, channel: str) -> tuple[str | None, str]:
        rng, english = self.rng, bool(tickets.english[k])
        intent = text.INTENTS[tickets.intent[k]]
        slots = self._slots(tickets, k)
        # Without an order at hand, nobody quotes an order number.
        context = [
            c
            for c in (text.CONTEXT_EN if english else text.CONTEXT_ZH)
            if slots["order_no"] or "order_no" not in c
        ]
        if english:
            body = self._compose(intent, text.EN, context, text.CROSS_TALK_EN).format(**slots)
            body = _english_noise(
                rng, f"{_pick(rng, text.OPENERS_EN)} {body} {_pick(rng, text.CLOSERS_EN)}".strip()
            )
        elif channel == "hotline":  # the agent's note of the call
            note = self._compose(intent, text.ZH, [], text.CROSS_TALK_ZH).format(**slots)
            body = _pick(rng, text.AGENT_NOTES) + _chinese_noise(rng, note)
        else:
            body = self._compose(intent, text.ZH, context, text.CROSS_TALK_ZH).format(**slots)
            body = _chinese_noise(rng, f"{_pick(rng, text.OPENERS_ZH)}{body}{_pick(rng, text.CLOSERS_ZH)}")
        if channel in ("hotline", "app_chat", "wechat"):
            return None, body
        specific = (text.SUBJECTS_EN if english else text.SUBJECTS_ZH)[intent]
        generic = text.GENERIC_SUBJECTS_EN if english else text.GENERIC_SUBJECTS_ZH
        return _pick(rng, specific if rng.random() < 0.6 else generic), body

    def _compose(
        self,
        intent: str,
        templates: dict[str, tuple[str, ...]],
        context: list[str],
        cross_talk: dict[str, str],
    ) -> str:
        """A request, sometimes after some context and followed by a thought borrowed from another intent."""
        rng = self.rng
        request = _pick(rng, templates[intent])
        lead = _pick(rng, tuple(context)) if context and rng.random() < 0.3 else ""
        if rng.random() < 0.25:
            request = request.rstrip("？?。.!！") + cross_talk[intent]
        return lead + request

    def _slots(self, tickets: Tickets, k: int) -> dict[str, str]:
        rng, person, order = self.rng, int(tickets.person[k]), int(tickets.order[k])
        if order >= 0:
            product = int(self.orders.product[self.first_line[order]])
            number, amount = self.order_numbers[order], self.paid[order] / 100
        else:
            product = int(rng.integers(len(self.catalog.product_id)))
            number, amount = "", float(rng.integers(20, 2000))
        name, brand = self.catalog.product_name[product], self.catalog.brand[product]
        city = places.CITIES[self.people.home.city[person]]
        return {
            "order_no": number,
            "product": name.removeprefix(f"{brand} ") if rng.random() < 0.5 else name,
            "days": str(int(rng.integers(3, 15))),
            "amount": f"{amount:.2f}".removesuffix(".00"),
            "city": city.pinyin if tickets.english[k] else city.name,
            "phone": self.people.phone[person],
            "member": self.ids.member_id[person] or "",
        }


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _english_noise(rng: np.random.Generator, body: str) -> str:
    """Lower case, a swapped letter, lost punctuation: how chat messages are typed."""
    if rng.random() < 0.2:
        body = body.lower()
    if rng.random() < 0.25:
        words = body.split(" ")
        k = int(rng.integers(len(words)))
        word = words[k]
        if len(word) > 3:
            cut = int(rng.integers(1, len(word) - 2))
            words[k] = word[:cut] + word[cut + 1] + word[cut] + word[cut + 2 :]
        body = " ".join(words)
    if rng.random() < 0.15:
        body = body.rstrip("?.!")
    return body


def _chinese_noise(rng: np.random.Generator, body: str) -> str:
    """Half-width punctuation, English words mixed in, stray spaces."""
    if rng.random() < 0.2:
        body = body.replace("，", ",").replace("？", "?").replace("！", "!")
    if rng.random() < 0.1:
        word = _pick(rng, tuple(text.CODE_SWITCH))
        body = body.replace(word, text.CODE_SWITCH[word], 1)
    if rng.random() < 0.1:
        body = body.replace("，", " ")
    return body
