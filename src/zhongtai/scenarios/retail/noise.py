"""How a true value comes out in a record: phone formats, full-width characters, pinyin and traditional
names, homophone typos, e-mail case and domain typos, short and English addresses, missing values.

Each system picks its own mix of styles (a cashier writes differently from an app form), which is what
makes identity resolution a real problem rather than an exact join.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from zhongtai.scenarios.retail import names, places
from zhongtai.scenarios.retail.people import FOREIGN, Homes, People

# The value is a phone, e-mail or ID string, or an address index: each table of formats knows which.
Formatter = Callable[[Any, int], str]

FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)} | {" ": "\u3000"})
FULL_WIDTH_DIGITS = str.maketrans({str(d): chr(0xFF10 + d) for d in range(10)})
DOMAIN_TYPOS = {
    "qq.com": "qq.con",
    "163.com": "163.cm",
    "126.com": "126.con",
    "gmail.com": "gmial.com",
    "outlook.com": "outlok.com",
    "sina.com": "sina.cn",
    "foxmail.com": "foxmial.com",
    "icloud.com": "icloud.con",
    "hotmail.com": "hotmial.com",
    "yahoo.com": "yaho.com",
}


def full_width(text: str) -> str:
    """The text typed with a Chinese input method in full-width mode: ＡＢＣ１２３＠."""
    return text.translate(FULL_WIDTH)


def render(
    items: Sequence[object] | np.ndarray,
    styles: Mapping[str, float],
    formats: Mapping[str, Formatter],
    rng: np.random.Generator,
    missing: float | np.ndarray = 0.0,
) -> list[str | None]:
    """Render each item in a style drawn from `styles` (weights); None items and `missing` draws give None.

    Every formatter also gets a per-record random number, so typos land in different places.
    """
    count = len(items)
    weights = np.array(list(styles.values()), dtype=float)
    picks = rng.choice(len(weights), size=count, p=weights / weights.sum()).tolist()
    salts = rng.integers(0, 2**31, size=count).tolist()
    absent = (rng.random(count) < missing).tolist()
    chosen = [formats[name] for name in styles]
    return [
        None if gone or item is None else chosen[pick](item, salt)
        for item, pick, salt, gone in zip(items, picks, salts, absent, strict=True)
    ]


def _digit_typo(number: str, salt: int) -> str:
    position = 3 + salt % (len(number) - 4)  # never the last character: an ID check character may be X
    digit = str((int(number[position]) + 1 + salt % 8) % 10)
    return number[:position] + digit + number[position + 1 :]


PHONE_FORMATS: dict[str, Formatter] = {
    "plain": lambda p, _: str(p),
    "plus86_spaced": lambda p, _: f"+86 {p[:3]} {p[3:7]} {p[7:]}",
    "plus86": lambda p, _: f"+86{p}",
    "0086_dashed": lambda p, _: f"0086-{p[:3]}-{p[3:7]}-{p[7:]}",
    "dashed": lambda p, _: f"{p[:3]}-{p[3:7]}-{p[7:]}",
    "spaced": lambda p, _: f"{p[:3]} {p[3:7]} {p[7:]}",
    "fullwidth": lambda p, _: full_width(str(p)),
    "typo": lambda p, salt: _digit_typo(str(p), salt),
}

EMAIL_FORMATS: dict[str, Formatter] = {
    "plain": lambda e, _: str(e),
    "case": lambda e, salt: _email_case(str(e), salt),
    "domain_typo": lambda e, _: _domain_typo(str(e)),
    "fullwidth_at": lambda e, _: str(e).replace("@", "＠"),
    "spaces": lambda e, _: f" {e} ",
}

ID_FORMATS: dict[str, Formatter] = {
    "plain": lambda n, _: str(n),
    "lower_x": lambda n, _: str(n).lower(),
    "spaced": lambda n, _: f"{n[:6]} {n[6:14]} {n[14:]}",
    "typo": lambda n, salt: _digit_typo(str(n), salt),
}


def _email_case(email: str, salt: int) -> str:
    local, _, domain = email.partition("@")
    if salt % 3 == 0:
        return email.upper()
    return f"{local.capitalize()}@{domain.upper() if salt % 3 == 1 else domain.capitalize()}"


def _domain_typo(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local}@{DOMAIN_TYPOS.get(domain, domain)}"


def render_phones(
    numbers: Sequence[str | None] | np.ndarray,
    styles: Mapping[str, float],
    rng: np.random.Generator,
    missing: float | np.ndarray = 0.0,
) -> list[str | None]:
    """Mobile numbers as typed: 13812345678, +86 138 1234 5678, 0086-138-1234-5678, full-width, typos."""
    return render(numbers, styles, PHONE_FORMATS, rng, missing)


def render_emails(
    emails: Sequence[str | None] | np.ndarray,
    styles: Mapping[str, float],
    rng: np.random.Generator,
    missing: float | np.ndarray = 0.0,
) -> list[str | None]:
    """E-mail addresses with changed case, domain typos, a full-width ＠ or stray spaces."""
    return render(emails, styles, EMAIL_FORMATS, rng, missing)


def render_ids(
    numbers: Sequence[str | None] | np.ndarray,
    styles: Mapping[str, float],
    rng: np.random.Generator,
    missing: float | np.ndarray = 0.0,
) -> list[str | None]:
    """Resident ID numbers; empty (foreign residents) stays missing."""
    present = [n or None for n in numbers]
    return render(present, styles, ID_FORMATS, rng, missing)


def name_formats(people: People) -> dict[str, Formatter]:
    """Formatters from a person number to a written name, for Chinese and Latin names alike."""
    surname, given, last, first = people.surname, people.given, people.surname_latin, people.given_latin
    kind, gender, english = people.kind, people.gender, people.english_first

    def pinyin(i: int, salt: int) -> str:
        family = last[i]
        if family in names.PINYIN_ALTERNATIVES and salt % 2:
            options = names.PINYIN_ALTERNATIVES[family]
            family = options[salt % len(options)]
        text = f"{family} {first[i]}"
        return text.lower() if salt % 5 == 0 else text

    def foreign(i: int) -> bool:
        return bool(kind[i] == FOREIGN)

    def canonical(i: int, _: int) -> str:
        return f"{first[i]} {last[i]}" if foreign(i) else surname[i] + given[i]

    return {
        "canonical": canonical,
        "spaced": lambda i, _: f"{given[i]}  {surname[i]}" if foreign(i) else f"{surname[i]} {given[i]}",
        "pinyin": lambda i, s: canonical(i, s) if foreign(i) else pinyin(i, s),
        "upper": lambda i, _: f"{last[i].upper()} {first[i]}",
        "reversed": lambda i, _: f"{last[i]}, {first[i]}" if foreign(i) else f"{first[i]} {last[i]}",
        "typo": lambda i, s: (
            _latin_typo(canonical(i, s), s) if foreign(i) else _homophone(canonical(i, s), s)
        ),
        # Latin names have no traditional form; their clerks abbreviate instead ("J. Smith").
        "traditional": lambda i, s: (
            f"{first[i][0]}. {last[i]}" if foreign(i) else _traditional(canonical(i, s))
        ),
        "title": lambda i, _: _title(surname[i], bool(gender[i]), foreign(i)),
        "fullwidth": lambda i, s: full_width(canonical(i, s) if foreign(i) else pinyin(i, s)),
        "english": lambda i, s: f"{english[i]} {last[i]}" if english[i] else canonical(i, s),
    }


def render_names(
    people: People,
    persons: np.ndarray,
    styles: Mapping[str, float],
    rng: np.random.Generator,
    missing: float | np.ndarray = 0.0,
) -> list[str | None]:
    """Names of the given person numbers, written in the given mix of styles."""
    return render(persons.tolist(), styles, name_formats(people), rng, missing)


def _homophone(name: str, salt: int) -> str:
    positions = [k for k, char in enumerate(name) if char in names.HOMOPHONES]
    if not positions:
        return name
    k = positions[salt % len(positions)]
    return name[:k] + names.HOMOPHONES[name[k]] + name[k + 1 :]


def _traditional(name: str) -> str:
    return "".join(names.TRADITIONAL.get(char, char) for char in name)


def _latin_typo(name: str, salt: int) -> str:
    k = 1 + salt % max(1, len(name) - 3)
    if name[k] == " " or name[k + 1] == " ":
        return name.lower()
    return name[:k] + name[k + 1] + name[k] + name[k + 2 :]


def _title(surname: str, male: bool, is_foreign: bool) -> str:
    if is_foreign:
        return f"{'Mr.' if male else 'Ms.'} {surname}"
    return surname + ("先生" if male else "女士")


def address_formats(homes: Homes) -> dict[str, Formatter]:
    """Formatters from a position in `homes` to a written address."""

    def parts(k: int) -> tuple[str, ...]:
        city = places.CITIES[homes.city[k]]
        district = city.districts[homes.district[k]]
        return (
            city.province,
            city.name,
            district.name,
            f"{places.ROADS[homes.road[k]][0]}{homes.number[k]}号",
            places.ESTATES[homes.estate[k]],
            f"{homes.building[k]}栋",
            f"{homes.room[k]}室",
        )

    def english(k: int, _: int) -> str:
        city = places.CITIES[homes.city[k]]
        district = city.districts[homes.district[k]]
        road = places.ROADS[homes.road[k]][1]
        return (
            f"Rm {homes.room[k]}, Bldg {homes.building[k]}, {places.ESTATES[homes.estate[k]]}, "
            f"No. {homes.number[k]} {road}, {district.pinyin} District, {city.pinyin}"
        )

    return {
        "full": lambda k, _: "".join(parts(k)),
        "no_province": lambda k, _: "".join(parts(k)[1:]),
        "short": lambda k, _: "".join(parts(k)[2:]),
        "loose": lambda k, _: " ".join(p for p in parts(k) if p),
        "compact": lambda k, _: "".join(parts(k)[1:4]) + f"{homes.building[k]}-{homes.room[k]}",
        "fullwidth": lambda k, _: "".join(parts(k)[1:]).translate(FULL_WIDTH_DIGITS),
        "english": english,
    }


def render_addresses(
    people: People,
    persons: np.ndarray,
    days: np.ndarray,
    styles: Mapping[str, float],
    rng: np.random.Generator,
    missing: float | np.ndarray = 0.0,
) -> list[str | None]:
    """Where each person lived on each day, written in the given mix of styles.

    Foreign residents write half of their addresses in English whatever the system.
    """
    formats = address_formats(people.home_on(persons, days))
    written = render(list(range(len(persons))), styles, formats, rng, missing)
    english = (people.kind[persons] == FOREIGN) & (rng.random(len(persons)) < 0.5)
    return [
        formats["english"](k, 0) if flip and text else text
        for k, (text, flip) in enumerate(zip(written, english.tolist(), strict=True))
    ]
