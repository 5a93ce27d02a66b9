"""The true people behind every record: names, households, phones, e-mails, resident ID numbers and homes.

This is the ground truth OneID must recover. Systems never copy these values verbatim; they render them
through `noise.py`, as a clerk, an app form or the customer on a hotline would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zhongtai.scenarios.retail import names, places

CHINESE, FOREIGN, CHINESE_WITH_ENGLISH_NAME = 0, 1, 2
NEVER = 10**6  # a day index after any window: "did not happen"
HOMOPHONE_SPOUSES = 0.5  # of spouses whose head's family name has a homophone: they carry it (蒋伟 / 姜伟)

PHONE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        134,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        166,
        173,
        175,
        176,
        177,
        178,
        180,
        181,
        182,
        183,
        184,
        185,
        186,
        187,
        188,
        189,
        191,
        198,
        199,
    ]
)
EMAIL_DOMAINS = (
    "qq.com",
    "163.com",
    "126.com",
    "gmail.com",
    "outlook.com",
    "sina.com",
    "foxmail.com",
    "icloud.com",
    "hotmail.com",
    "yahoo.com",
)
EMAIL_WEIGHTS_CN = np.array([30, 22, 10, 5, 7, 5, 8, 8, 3, 2], dtype=float)
EMAIL_WEIGHTS_FOREIGN = np.array([2, 2, 1, 40, 20, 1, 1, 15, 12, 6], dtype=float)
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))


@dataclass
class Homes:
    """Structured addresses, one per person: indexes into `places` plus house numbers."""

    city: np.ndarray
    district: np.ndarray
    road: np.ndarray
    number: np.ndarray
    estate: np.ndarray
    building: np.ndarray
    room: np.ndarray

    def take(self, index: np.ndarray) -> Homes:
        return Homes(*(getattr(self, f)[index] for f in self.__dataclass_fields__))


@dataclass
class People:
    """One row per true person. Indexes into these arrays are the internal person numbers."""

    person_id: np.ndarray
    kind: np.ndarray
    gender: np.ndarray  # 1 male, 0 female
    birth: np.ndarray  # datetime64[D]
    surname: list[str]  # characters for Chinese people, the Latin last name otherwise
    given: list[str]
    surname_latin: list[str]
    given_latin: list[str]
    english_first: list[str | None]
    household: np.ndarray
    head: np.ndarray  # person number of the household's first member (whose phone the family shares)
    phone: np.ndarray
    new_phone: np.ndarray  # the number after a change; equal to `phone` for most
    phone_changed_day: np.ndarray
    email: list[str | None]
    id_number: np.ndarray  # "" for foreign residents (passport holders)
    home: Homes
    new_home: Homes  # equal to `home` unless the household moved
    moved_day: np.ndarray

    @property
    def n(self) -> int:
        return len(self.person_id)

    def phone_on(self, index: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The number a person used on a given day (window day index)."""
        changed = day >= self.phone_changed_day[index]
        return np.where(changed, self.new_phone[index], self.phone[index])

    def home_on(self, index: np.ndarray, day: np.ndarray) -> Homes:
        """Where a person lived on a given day."""
        moved = day >= self.moved_day[index]
        return Homes(
            *(
                np.where(moved, getattr(self.new_home, f)[index], getattr(self.home, f)[index])
                for f in Homes.__dataclass_fields__
            )
        )


def make_people(rng: np.random.Generator, n: int, n_days: int, today_year: int) -> People:
    """Draw `n` people living in the retailer's cities, grouped into households."""
    household, head = _households(rng, n)
    kind = _kinds(rng, household, head)
    gender = rng.integers(0, 2, size=n)
    birth = _births(rng, head, today_year)
    surname, given, surname_latin, given_latin, english = _names(rng, kind, gender, head)
    _homophone_spouses(rng, kind, head, (surname, given, surname_latin, given_latin))
    phone = _unique_phones(rng, n)
    new_phone = _unique_phones(rng, n, taken=phone)
    changed = rng.random(n) < 0.05
    phone_changed_day = np.where(changed, rng.integers(30, n_days, size=n), NEVER)
    new_phone = np.where(changed, new_phone, phone)
    home = _homes(rng, n, None)
    home = home.take(head)  # a household lives together
    moved = rng.random(n) < 0.12
    moved_day = np.where(moved[head], rng.integers(60, n_days - 20, size=n)[head], NEVER)
    new_home = _homes(rng, n, home.city).take(head)
    new_home = Homes(
        *(
            np.where(moved_day < NEVER, getattr(new_home, f), getattr(home, f))
            for f in Homes.__dataclass_fields__
        )
    )
    return People(
        person_id=np.array([f"P{i + 1:07d}" for i in range(n)]),
        kind=kind,
        gender=gender,
        birth=birth,
        surname=surname,
        given=given,
        surname_latin=surname_latin,
        given_latin=given_latin,
        english_first=english,
        household=household,
        head=head,
        phone=phone,
        new_phone=new_phone,
        phone_changed_day=phone_changed_day,
        email=_emails(rng, kind, surname_latin, given_latin, birth),
        id_number=_id_numbers(rng, kind, gender, birth, home),
        home=home,
        new_home=new_home,
        moved_day=moved_day,
    )


def _households(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """About a fifth of customers share a household with another customer (spouses, parents, children)."""
    sizes = rng.choice([1, 2, 3, 4], size=n, p=[0.9, 0.07, 0.025, 0.005])
    household = np.repeat(np.arange(n), sizes)[:n]
    # Spread households over the person numbers so neighbours in the id range are not relatives.
    order = rng.permutation(n)
    household = household[np.argsort(order)]
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, household, np.arange(n))
    return household, first[household]


def _kinds(rng: np.random.Generator, household: np.ndarray, head: np.ndarray) -> np.ndarray:
    n = len(household)
    kind = rng.choice([CHINESE, FOREIGN, CHINESE_WITH_ENGLISH_NAME], size=n, p=[0.86, 0.06, 0.08])
    # Foreign families are foreign together.
    return np.where(kind[head] == FOREIGN, FOREIGN, np.where(kind == FOREIGN, CHINESE, kind))


def _births(rng: np.random.Generator, head: np.ndarray, today_year: int) -> np.ndarray:
    n = len(head)
    age = np.clip(rng.gamma(6.0, 6.5, size=n) + 16, 18, 82)
    relative = rng.choice([-28.0, 0.0, 28.0], size=n, p=[0.3, 0.5, 0.2]) + rng.normal(0, 3, size=n)
    age = np.where(head == np.arange(n), age, np.clip(age[head] + relative, 18, 85))
    day = rng.integers(0, 365, size=n)
    years = (today_year - age.astype(np.int64) - 1970).astype("datetime64[Y]")
    return years.astype("datetime64[D]") + day


def _names(rng: np.random.Generator, kind: np.ndarray, gender: np.ndarray, head: np.ndarray) -> tuple:
    n = len(kind)
    weights = np.array([s[2] for s in names.SURNAMES])
    surname_pick = rng.choice(len(names.SURNAMES), size=n, p=weights / weights.sum())
    # Children carry the family name; spouses keep their own (Chinese women do not take the husband's name).
    family = rng.random(n) < 0.5
    surname_pick = np.where(family, surname_pick[head], surname_pick)
    latin_last = rng.integers(0, len(names.LATIN_LAST), size=n)[head]
    two_chars = rng.random(n) < 0.72
    first_char, second_char = rng.integers(0, 50, size=n), rng.integers(0, 50, size=n)
    english_pick, latin_first = rng.integers(0, 12, size=n), rng.integers(0, 20, size=n)
    surname: list[str] = []
    given: list[str] = []
    surname_latin: list[str] = []
    given_latin: list[str] = []
    english: list[str | None] = []
    for i in range(n):
        pool_given = names.GIVEN_MALE if gender[i] else names.GIVEN_FEMALE
        if kind[i] == FOREIGN:
            first = (names.LATIN_MALE if gender[i] else names.LATIN_FEMALE)[latin_first[i]]
            last = names.LATIN_LAST[latin_last[i]]
            surname.append(last)
            given.append(first)
            surname_latin.append(last)
            given_latin.append(first)
            english.append(first)
            continue
        chars, pinyin, _ = names.SURNAMES[surname_pick[i]]
        parts = [pool_given[first_char[i]]] + ([pool_given[second_char[i]]] if two_chars[i] else [])
        surname.append(chars)
        given.append("".join(p[0] for p in parts))
        surname_latin.append(pinyin)
        given_latin.append("".join(p[1] for p in parts).capitalize())
        pool_english = names.ENGLISH_MALE if gender[i] else names.ENGLISH_FEMALE
        english.append(pool_english[english_pick[i]] if kind[i] == CHINESE_WITH_ENGLISH_NAME else None)
    return surname, given, surname_latin, given_latin, english


def _homophone_spouses(
    rng: np.random.Generator,
    kind: np.ndarray,
    head: np.ndarray,
    written: tuple[list[str], list[str], list[str], list[str]],
) -> None:
    """Give `HOMOPHONE_SPOUSES` of the spouses of a head whose family name has a homophone (蒋 / 姜) that
    homophone and the head's given name: 蒋伟 and 姜伟, two people with one reading and one family phone.
    Changes the name lists (surname, given, surname_latin, given_latin) in place."""
    surname, given, surname_latin, given_latin = written
    head_surname = [surname[h] for h in head.tolist()]
    draws = rng.random(len(head)).tolist()
    for i, h in enumerate(head.tolist()):
        spouse = h != i and surname[i] != head_surname[i] and kind[i] != FOREIGN and kind[h] != FOREIGN
        partner = names.HOMOPHONE_SURNAMES.get(head_surname[i])
        if spouse and partner and draws[i] < HOMOPHONE_SPOUSES:
            surname[i], given[i] = partner, given[h]
            surname_latin[i], given_latin[i] = surname_latin[h], given_latin[h]


def _unique_phones(rng: np.random.Generator, n: int, taken: np.ndarray | None = None) -> np.ndarray:
    """Mainland mobile numbers, distinct from each other and from `taken`."""
    numbers = rng.choice(PHONE_PREFIXES, size=n) * 10**8 + rng.integers(0, 10**8, size=n)
    taken_numbers = np.array([], dtype=np.int64) if taken is None else taken.astype(np.int64)
    while True:
        clash = np.ones(n, dtype=bool)
        clash[np.unique(numbers, return_index=True)[1]] = False
        clash |= np.isin(numbers, taken_numbers)
        if not clash.any():
            return numbers.astype(str)
        count = int(clash.sum())
        numbers[clash] = rng.choice(PHONE_PREFIXES, size=count) * 10**8 + rng.integers(0, 10**8, size=count)


def _emails(
    rng: np.random.Generator, kind: np.ndarray, last: list[str], first: list[str], birth: np.ndarray
) -> list[str | None]:
    n = len(kind)
    foreign = kind == FOREIGN
    has = rng.random(n) < np.where(foreign, 0.95, 0.7)
    cn = rng.choice(len(EMAIL_DOMAINS), size=n, p=EMAIL_WEIGHTS_CN / EMAIL_WEIGHTS_CN.sum())
    fr = rng.choice(len(EMAIL_DOMAINS), size=n, p=EMAIL_WEIGHTS_FOREIGN / EMAIL_WEIGHTS_FOREIGN.sum())
    domain = np.where(foreign, fr, cn)
    style = rng.integers(0, 5, size=n)
    digits = rng.integers(10, 100, size=n)
    qq = rng.integers(10**5, 10**10, size=n)
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    emails: list[str | None] = []
    seen: set[str] = set()
    for i in range(n):
        if not has[i]:
            emails.append(None)
            continue
        given, family = first[i].lower().replace("'", ""), last[i].lower().replace("'", "").replace("ü", "u")
        local = (
            f"{given}{family}",
            f"{given}.{family}",
            f"{given[0]}{family}{year[i]}",
            f"{family}_{given[0]}{digits[i]}",
            f"{family}{given}{digits[i]}",
        )[style[i]]
        if EMAIL_DOMAINS[domain[i]] == "qq.com" and style[i] < 3:
            local = str(qq[i])  # most QQ mail addresses are the QQ number
        address = f"{local}@{EMAIL_DOMAINS[domain[i]]}"
        while address in seen:  # addresses are unique: the second 王伟 gets a number
            address = f"{local}{int(rng.integers(100, 1000))}@{EMAIL_DOMAINS[domain[i]]}"
        seen.add(address)
        emails.append(address)
    return emails


def _id_numbers(
    rng: np.random.Generator, kind: np.ndarray, gender: np.ndarray, birth: np.ndarray, home: Homes
) -> np.ndarray:
    """18-digit resident ID numbers (GB 11643): birthplace, birth date, sequence (odd for men), check digit."""
    n = len(kind)
    local = np.array(
        [places.CITIES[c].districts[d].code for c, d in zip(home.city, home.district, strict=True)]
    )
    elsewhere = np.array(places.BIRTHPLACE_CODES)[rng.integers(0, len(places.BIRTHPLACE_CODES), size=n)]
    area = np.where(rng.random(n) < 0.65, local, elsewhere)
    sequence = rng.integers(0, 500, size=n) * 2 + gender  # the 17th digit is odd for men
    born = np.char.replace(np.datetime_as_string(birth, unit="D"), "-", "")
    body = np.char.add(np.char.add(area, born), np.char.zfill(sequence.astype(str), 3))
    numbers = np.char.add(body, check_digits(body))
    return np.where(kind == FOREIGN, "", numbers)


def check_digits(bodies: np.ndarray) -> np.ndarray:
    """The GB 11643 check character of 17-digit ID bodies."""
    digits = np.frombuffer("".join(bodies).encode("ascii"), dtype=np.uint8).reshape(-1, 17) - ord("0")
    return ID_CHECK[(digits.astype(np.int64) @ ID_WEIGHTS) % 11]


def _homes(rng: np.random.Generator, n: int, near: np.ndarray | None) -> Homes:
    weights = np.array([c.weight for c in places.CITIES])
    city = rng.choice(len(places.CITIES), size=n, p=weights / weights.sum())
    if near is not None:  # most moves stay in the same city
        city = np.where(rng.random(n) < 0.75, near, city)
    district_count = np.array([len(c.districts) for c in places.CITIES])[city]
    return Homes(
        city=city,
        district=(rng.random(n) * district_count).astype(np.int64),
        road=rng.integers(0, len(places.ROADS), size=n),
        number=rng.integers(1, 1200, size=n),
        estate=rng.integers(0, len(places.ESTATES), size=n),
        building=rng.integers(1, 30, size=n),
        room=rng.integers(1, 33, size=n) * 100 + rng.integers(1, 9, size=n),
    )
