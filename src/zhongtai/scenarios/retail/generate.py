"""Generate the retail scenario: simulate people and their behaviour, write every system into its home,
write the truth and the project folder, and report what was written.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from zhongtai.config import mask_url
from zhongtai.errors import ZhongtaiError
from zhongtai.scenarios.retail import clickstream, crm, erp, inventory, schema, service, truth
from zhongtai.scenarios.retail.behaviour import Behaviour, make_behaviour
from zhongtai.scenarios.retail.calendar import RetailCalendar, build_calendar
from zhongtai.scenarios.retail.catalog import Catalog, make_catalog
from zhongtai.scenarios.retail.identifiers import Identifiers, assign_identifiers
from zhongtai.scenarios.retail.orders import Orders, simulate_orders
from zhongtai.scenarios.retail.people import People, make_people
from zhongtai.scenarios.retail.project import write_project
from zhongtai.scenarios.retail.sql_homes import (
    check_database,
    has_password,
    spec_url,
    sqlite_url,
    write_database,
)

DEFAULT_TODAY = date(2026, 10, 31)
STAGES = ("simulation", "erp", "crm", "clickstream", "service", "inventory", "truth", "project")
PASSWORD_VARIABLES = {"crm": "ZT_RETAIL_CRM_PASSWORD", "erp": "ZT_RETAIL_ERP_PASSWORD"}

ProgressCallback = Callable[[str, int], None]


@dataclass(frozen=True)
class GenerationReport:
    """What a run wrote: rows per table or file set, where each system lives, and how long each stage took."""

    out: Path
    customers: int
    seed: int
    today: date
    rows: dict[str, int]  # "crm.customers", "clickstream.events", ...
    paths: dict[str, str]  # system -> file, folder or (masked) URL
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    env_vars: tuple[str, ...] = ()  # to export before `zhongtai apply`, for passwords kept out of the specs

    @property
    def project_dir(self) -> Path:
        return self.out / "project"

    @property
    def truth_dir(self) -> Path:
        return self.out / "truth"

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body.update(
            out=str(self.out),
            today=self.today.isoformat(),
            env_vars=list(self.env_vars),
            project_dir=str(self.project_dir),
            truth_dir=str(self.truth_dir),
        )
        return body


def generate(
    out: Path,
    customers: int,
    seed: int = 7,
    crm_url: str | None = None,
    erp_url: str | None = None,
    today: date = DEFAULT_TODAY,
    on_progress: ProgressCallback | None = None,
) -> GenerationReport:
    """Write the retail scenario for `customers` people into `out` (SQL systems at the URLs when given).

    The same seed, size and `today` give the same files and table contents. `on_progress(stage, rows)` is
    called as each stage of STAGES finishes. Raises ZhongtaiError for a bad size, an unwritable folder or
    an unreachable database.
    """
    out = Path(out).absolute()
    _check_arguments(out, customers, crm_url, erp_url)
    run = _Run(on_progress)
    systems = out / "systems"
    crm_target = crm_url or _fresh_sqlite(systems / "crm.db")
    erp_target = erp_url or _fresh_sqlite(systems / "erp.db")
    world = _simulate(seed, customers, today)
    run.done("simulation", customers)
    order_numbers = _write_sql(world, seed, crm_target, erp_target, run)
    events = clickstream.simulate_events(
        world.rng("clickstream"), world.behaviour, world.ids, world.catalog, world.orders, world.calendar
    )
    clickstream.write_events(events, world.ids, world.catalog, systems / "clickstream")
    run.done("clickstream", len(events.ms), "clickstream.events")
    tickets = service.simulate_tickets(
        world.rng("service"), world.people, world.behaviour, world.orders, world.calendar
    )
    service.write_tickets(
        world.rng("service-text"),
        tickets,
        world.people,
        world.ids,
        world.catalog,
        world.orders,
        order_numbers,
        world.calendar,
        systems / "service" / "tickets.jsonl",
        world.rng("service-category"),
    )
    run.done("service", len(tickets.person), "service.tickets")
    ledger = inventory.simulate_stock(world.rng("inventory"), world.catalog, world.calendar)
    inventory.write_stock(ledger, world.catalog, world.calendar, systems / "inventory")
    run.rows["inventory.promotions"] = inventory.write_promotions(
        world.calendar, int(ledger.days[0]), systems / "inventory"
    )
    run.done("inventory", ledger.rows, "inventory.stock")
    truth_rows = truth.write_truth(
        out / "truth",
        {
            "record_person": truth.record_person(world.people, world.ids, world.orders, events, tickets),
            "persons": truth.persons(world.people, world.behaviour, world.calendar),
            "ticket_intents": truth.ticket_intents(tickets),
        },
    )
    run.done("truth", sum(truth_rows.values()), "truth.records")
    header = f"Generated by `zhongtai retail generate --customers {customers} --seed {seed} --today {today}`"
    files = write_project(
        out / "project",
        spec_url(crm_target, PASSWORD_VARIABLES["crm"]),
        spec_url(erp_target, PASSWORD_VARIABLES["erp"]),
        header,
    )
    run.done("project", len(files))
    return GenerationReport(
        out=out,
        customers=customers,
        seed=seed,
        today=today,
        rows=run.rows,
        paths={
            "crm": mask_url(crm_target),
            "erp": mask_url(erp_target),
            "clickstream": str(systems / "clickstream"),
            "service": str(systems / "service"),
            "inventory": str(systems / "inventory"),
            "truth": str(out / "truth"),
            "project": str(out / "project"),
        },
        seconds=run.seconds,
        env_vars=tuple(
            PASSWORD_VARIABLES[name]
            for name, url in (("crm", crm_url), ("erp", erp_url))
            if url and has_password(url)
        ),
    )


@dataclass
class _World:
    """The simulated retailer: its calendar, customers, catalogue, their behaviour, ids and orders."""

    seed: int
    calendar: RetailCalendar
    people: People
    catalog: Catalog
    behaviour: Behaviour
    ids: Identifiers
    orders: Orders

    def rng(self, stream: str) -> np.random.Generator:
        return _rng(self.seed, stream)


def _simulate(seed: int, customers: int, today: date) -> _World:
    calendar = build_calendar(today)
    people = make_people(_rng(seed, "people"), customers, calendar.n_days, today.year)
    catalog = make_catalog(_rng(seed, "catalog"), customers, calendar.n_days)
    behaviour = make_behaviour(_rng(seed, "behaviour"), people, catalog, calendar)
    ids = assign_identifiers(_rng(seed, "identifiers"), behaviour, calendar.n_days)
    orders = simulate_orders(_rng(seed, "orders"), behaviour, catalog, calendar)
    return _World(seed, calendar, people, catalog, behaviour, ids, orders)


def _write_sql(world: _World, seed: int, crm_target: str, erp_target: str, run: _Run) -> list[str]:
    """Write the ERP and the CRM; returns the order numbers (customer service quotes them)."""
    args = (world.people, world.behaviour, world.ids, world.catalog, world.orders, world.calendar)
    erp_tables = erp.erp_tables(world.rng("erp"), *args)
    write_database(erp_target, schema.ERP, erp_tables)
    run.count("erp", erp_tables)
    crm_tables = crm.crm_tables(world.rng("crm"), *args)
    write_database(crm_target, schema.CRM, crm_tables)
    run.count("crm", crm_tables)
    return erp_tables["orders"].column("order_no").to_pylist()


class _Run:
    """Stage timing and row counts, reported through the progress callback."""

    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self.on_progress = on_progress
        self.rows: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.clock = time.perf_counter()

    def done(self, stage: str, rows: int, key: str | None = None) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self.clock, 3)
        self.clock = now
        if key:
            self.rows[key] = rows
        if self.on_progress:
            self.on_progress(stage, rows)

    def count(self, system: str, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            self.rows[f"{system}.{name}"] = table.num_rows
        self.done(system, sum(t.num_rows for t in tables.values()))


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent random stream per part, so changing one system leaves the others' data unchanged."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


def _check_arguments(out: Path, customers: int, crm_url: str | None, erp_url: str | None) -> None:
    if customers < 1:
        raise ZhongtaiError(
            "invalid_argument",
            f"--customers must be at least 1, got {customers}",
            "give the number of people to simulate, e.g. --customers 10000",
        )
    try:
        (out / "systems").mkdir(parents=True, exist_ok=True)
        probe = out / "systems" / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ZhongtaiError(
            "invalid_argument",
            f"{out}: cannot write the scenario here ({exc.strerror})",
            "choose a folder you can write to with --out",
        ) from exc
    for url in (crm_url, erp_url):
        if url:
            check_database(url)


def _fresh_sqlite(path: Path) -> str:
    """A new SQLite file: removing the old one keeps reruns byte-identical."""
    path.unlink(missing_ok=True)
    return sqlite_url(path)
