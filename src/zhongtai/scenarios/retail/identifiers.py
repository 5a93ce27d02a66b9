"""The ids each system gave each person: CRM customer numbers (some people twice), loyalty card numbers,
e-commerce logins and the devices they browse with. Numbers grow with the registration date and skip
values, as ids of real systems do (other customers, deleted accounts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zhongtai.scenarios.retail.behaviour import Behaviour
from zhongtai.scenarios.retail.columns import codes


@dataclass
class Identifiers:
    customer_person: np.ndarray  # person of each CRM customer record, in customer_id order
    customer_id: np.ndarray
    customer_day: np.ndarray  # registration day of each CRM record
    member_id: np.ndarray  # loyalty card number per person ("" when not a member)
    member_day: np.ndarray  # enrolment day per person
    account_id: np.ndarray  # e-commerce login per person ("" without an account)
    device_person: np.ndarray  # owner of each device
    device_id: np.ndarray


def assign_identifiers(rng: np.random.Generator, behaviour: Behaviour, n_days: int) -> Identifiers:
    """Give every person the ids of the systems that know them."""
    n = len(behaviour.since_day)
    since = behaviour.since_day
    first = np.flatnonzero(behaviour.in_crm)
    again = np.flatnonzero(behaviour.crm_copies == 2)
    # The second registration happens later, through another channel.
    again_day = since[again] + (rng.random(len(again)) * (n_days - 1 - np.maximum(since[again], 0))).astype(
        np.int64
    )
    customer_person = np.concatenate([first, again])
    customer_day = np.concatenate([since[first], np.maximum(again_day, since[again] + 1)])
    order = np.lexsort((customer_person, customer_day))
    customer_person, customer_day = customer_person[order], customer_day[order]
    member_day = np.minimum(since + rng.integers(0, 60, size=n), n_days - 1)
    members = np.flatnonzero(behaviour.member)
    member_numbers = _sparse_serial(rng, member_day[members], 886_000_000_000)
    member_id = np.full(n, "", dtype=object)
    member_id[members] = [f"{number:012d}" for number in member_numbers.tolist()]
    accounts = np.flatnonzero(behaviour.account)
    account_id = np.full(n, "", dtype=object)
    account_id[accounts] = codes("U", _sparse_serial(rng, since[accounts], 10_000_000), 8)
    device_person = np.repeat(np.arange(n), behaviour.devices)
    device_id = np.array(
        [f"{value:016x}" for value in rng.integers(0, 2**62, size=len(device_person)).tolist()]
    )
    return Identifiers(
        customer_person=customer_person,
        customer_id=_sparse_serial(rng, np.arange(len(customer_person)), 100_000),
        customer_day=customer_day,
        member_id=member_id,
        member_day=member_day,
        account_id=account_id,
        device_person=device_person,
        device_id=device_id,
    )


def _sparse_serial(rng: np.random.Generator, day: np.ndarray, first: int) -> np.ndarray:
    """Increasing numbers in order of `day`, with gaps."""
    order = np.argsort(day, kind="stable")
    numbers = np.empty(len(day), dtype=np.int64)
    numbers[order] = first + np.cumsum(rng.integers(1, 4, size=len(day)))
    return numbers
