"""The ground truth, for evaluation only: which true person stands behind every customer-bearing record,
who each person really is and whether they churned, and the intent of every ticket.

It is written to OUT/truth and never referenced by the project specs, so nothing the platform ingests
can see it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from zhongtai.scenarios.retail import places
from zhongtai.scenarios.retail import service_text as text
from zhongtai.scenarios.retail.behaviour import Behaviour
from zhongtai.scenarios.retail.calendar import RetailCalendar
from zhongtai.scenarios.retail.clickstream import Events
from zhongtai.scenarios.retail.columns import dates, optional
from zhongtai.scenarios.retail.erp import order_ids
from zhongtai.scenarios.retail.identifiers import Identifiers
from zhongtai.scenarios.retail.orders import Orders
from zhongtai.scenarios.retail.people import NEVER, People
from zhongtai.scenarios.retail.service import Tickets, ticket_ids

KINDS = ("chinese", "foreign", "chinese_with_english_name")


def record_person(
    people: People, ids: Identifiers, orders: Orders, events: Events, tickets: Tickets
) -> pa.Table:
    """(dataset, record_id, person_id) for every record that stands for a customer.

    Clickstream events are covered through their login (click_users) and device (click_devices).
    """
    logged = np.unique(events.person[events.logged_in])
    seen_devices = np.unique(events.device)
    parts = [
        ("crm_customers", ids.customer_id.astype(str), ids.customer_person),
        (
            "crm_loyalty_members",
            ids.member_id[ids.member_id != ""].astype(str),
            np.flatnonzero(ids.member_id != ""),
        ),
        ("erp_orders", order_ids(orders).astype(str), orders.person),
        ("click_users", ids.account_id[logged].astype(str), logged),
        ("click_devices", ids.device_id[seen_devices], ids.device_person[seen_devices]),
        ("service_tickets", np.array(ticket_ids(len(tickets.person))), tickets.person),
    ]
    return pa.table(
        {
            "dataset": np.concatenate([np.full(len(p[1]), p[0]) for p in parts]),
            "record_id": np.concatenate([p[1] for p in parts]),
            "person_id": np.concatenate([people.person_id[p[2]] for p in parts]),
        }
    )


def persons(people: People, behaviour: Behaviour, calendar: RetailCalendar) -> pa.Table:
    """Who each person is (clean values) and their fate: churned inside the window or not, and when."""
    start = calendar.days[0]
    churned = behaviour.churned(calendar.n_days)
    moved = people.moved_day < NEVER
    changed = people.phone_changed_day < NEVER
    names = [
        s + g if k != 1 else f"{g} {s}"
        for s, g, k in zip(people.surname, people.given, people.kind.tolist(), strict=True)
    ]
    return pa.table(
        {
            "person_id": people.person_id,
            "household_id": people.household,
            "kind": np.array(KINDS)[people.kind],
            "name": names,
            "name_latin": [f"{s} {g}" for s, g in zip(people.surname_latin, people.given_latin, strict=True)],
            "gender": np.where(people.gender == 1, "M", "F"),
            "birth_date": pa.array(people.birth),
            "phone": people.phone,
            "new_phone": optional(people.new_phone, changed),
            "phone_changed_on": optional(start + np.where(changed, people.phone_changed_day, 0), changed),
            "email": pa.array(people.email, pa.string()),
            "id_number": optional(people.id_number, people.id_number != ""),
            "city": [places.CITIES[c].name for c in people.home.city.tolist()],
            "moved_on": optional(start + np.where(moved, people.moved_day, 0), moved),
            "customer_since": dates(behaviour.since_day, start),
            "churn_propensity": behaviour.propensity.round(4),
            "churned": churned,
            "churn_date": optional(start + np.where(churned, behaviour.churn_day, 0), churned),
            "member": behaviour.member,
            "has_account": behaviour.account,
        }
    )


def ticket_intents(tickets: Tickets) -> pa.Table:
    """The intent and language of every ticket."""
    return pa.table(
        {
            "ticket_id": ticket_ids(len(tickets.person)),
            "intent": np.array(text.INTENTS)[tickets.intent],
            "language": np.where(tickets.english, "en", "zh"),
        }
    )


def write_truth(folder: Path, tables: dict[str, pa.Table]) -> dict[str, int]:
    """Write each table as OUT/truth/<name>.parquet; returns rows per file."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet", compression="zstd")
        written[f"{name}.parquet"] = table.num_rows
    return written
