"""`zhongtai demo --simulate-days N`: the retail demo's churn capability lived through N simulated days, with
a promotion that changes behaviour on one of them, and the platform's own loop noticing and recovering.

Each simulated day a sample of customers is decided through the capability's real arms in process (the
served split: champion, shadow, canary), every answer and shadow score is logged with the simulated time of
day, and each outcome (churned or not, from simulate_world's truth) is posted as feedback that evening. Then
the day's drift check runs on that day's answers (`monitor/check.py`, window = the simulated day) and the
flywheel (`flywheel/retrain.py`) is stepped until it waits; a run awaiting approval is approved by the second
principal. The challenger trains with the platform's training on the last simulated days' labelled
decisions (their logged features; simulate_train.py), so it sees the new behaviour.

Time: the simulated days are laid out so the last one ends when the simulation starts, so every logged
decision lies in the past and in the flywheel's holdout. The flywheel's shadow and canary windows are read
on the wall clock (seconds here), which the loop satisfies by construction: a day's half takes longer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.capabilities.arms import build_armed
from zhongtai.capabilities.canary import RAMPING, advance
from zhongtai.errors import ZhongtaiError
from zhongtai.flywheel.retrain import AWAITING, Trainer, approve, check
from zhongtai.meta.records import Change, DecisionRecord
from zhongtai.meta.time import now
from zhongtai.monitor.check import check_capability
from zhongtai.scenarios.retail.demo import CAPABILITY, DEMO_REVIEWER, DEMO_SUBMITTER, MODEL
from zhongtai.scenarios.retail.simulate_train import LabelledRow, trainer
from zhongtai.scenarios.retail.simulate_world import Customer, churned, customers, promote
from zhongtai.spec.base import duration_seconds

if TYPE_CHECKING:
    from zhongtai.capabilities.arms import ArmedRuntime
    from zhongtai.capabilities.runtime import Decision
    from zhongtai.features.online.base import OnlineStore
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

Event = Callable[[int, str], None]  # (simulated day, what happened)
STEPS_PER_DAY = 8  # flywheel steps tried each evening: enough to go from a trigger to the canary


def retrain_policy(days: int) -> dict[str, Any]:
    """The churn model's retrain policy in the simulation: drift triggers; the holdout spans every simulated
    day; approval by a second principal; shadow and canary windows short enough for simulated days."""
    return {
        "triggers": {"drift": {"max_share_drifted": 0.3}},
        "holdout": f"{days + 1}d",
        "min_improvement": 0.0,
        "min_holdout": 30,
        "shadow": {"window": "1s"},
        "canary": {
            "arm": "challenger",
            "steps": [50, 100],
            "step_every": "1s",
            "complete": "hold",
            # A few hundred customers split by a hash: the arms' score samples differ by who is in them, and
            # the challenger scores the coupon hunters differently by design, so the shift guard is relaxed.
            "guards": {"window": "1h", "min_requests": 10, "max_score_psi": 50},
        },
        "require_approval": True,
    }


@dataclass(frozen=True)
class Plan:
    """What to simulate: how many days, the promotion's day, customers decided a day, the share of them the
    promotion reaches, and the random seed."""

    days: int = 30
    shift_day: int = 12
    sample: int = 400
    hunters: float = 0.4
    seed: int = 7

    def __post_init__(self) -> None:
        if self.days < 2:
            raise ZhongtaiError("invalid_argument", f"--simulate-days {self.days}: simulate at least 2 days")
        if not 1 <= self.shift_day <= self.days:
            raise ZhongtaiError(
                "invalid_argument",
                f"--shift-day {self.shift_day} is not one of the {self.days} simulated days",
                f"give a day from 1 to {self.days}",
            )


@dataclass
class Day:
    """One simulated day: the live AUC of its answers, the drift share of its check, and what happened."""

    day: int
    auc: float | None = None
    drift_share: float | None = None
    events: list[str] = field(default_factory=list)


@dataclass
class Simulation:
    """The running simulation's state: its stores, day 1's midnight, its customers, and the labelled rows the
    challenger learns from."""

    store: MetadataStore
    storage: LakeStorage
    online: OnlineStore
    start: datetime
    people: list[Customer]
    rng: np.random.Generator
    rows: list[LabelledRow] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)


def simulate(
    store: MetadataStore, storage: LakeStorage, online: OnlineStore, plan: Plan, on_event: Event
) -> list[Day]:
    """Run the simulation on the prepared demo's stores; returns the days with their AUC, drift and events."""
    from zhongtai.capabilities.batch import score_all

    spec = {**store.spec("models", MODEL), "retrain": retrain_policy(plan.days)}
    store.apply([Change("models", "update", MODEL, spec)], DEMO_SUBMITTER)
    rng = np.random.default_rng(plan.seed)
    scored = score_all(store, storage, CAPABILITY).table.to_pylist()
    runtime = build_armed(CAPABILITY, store, storage, online)
    people = customers(store, online, runtime, scored, plan.sample, plan.hunters, rng)
    start = now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=plan.days)
    sim = Simulation(store, storage, online, start, people, rng)
    on_event(0, f"{len(people)} customers decided a day; {sum(c.hunter for c in people)} coupon hunters")
    train = trainer(store, storage, MODEL, sim.rows)
    for number in range(1, plan.days + 1):
        day = Day(number)
        sim.days.append(day)

        def note(text: str, day: Day = day) -> None:
            day.events.append(text)
            on_event(day.day, text)

        if number == plan.shift_day:
            changed = promote(online, [c for c in people if c.hunter])
            note(f"promotion: {changed} coupon hunters place a burst of small orders")
        _live_day(sim, day, note)
        _evening(sim, day, note, train)
    return sim.days


def _live_day(sim: Simulation, day: Day, note: Callable[[str], None]) -> None:
    """The day's decisions in two halves (the canary is judged after each), then that evening's outcomes."""
    opens = sim.start + timedelta(days=day.day - 1, hours=9)
    half = (len(sim.people) + 1) // 2
    answered: list[tuple[DecisionRecord, bool]] = []
    for part, people in enumerate((sim.people[:half], sim.people[half:])):
        runtime = build_armed(CAPABILITY, sim.store, sim.storage, sim.online)
        at = opens + timedelta(hours=4 * part)
        records: list[DecisionRecord] = []
        for offset, customer in enumerate(people):
            inputs = {"customer_id": customer.customer_id}
            started = time.perf_counter()
            answer = runtime.decide(inputs)
            millis = (time.perf_counter() - started) * 1000
            stamp = at + timedelta(seconds=offset * 30)
            logged = _record(answer, inputs, stamp, millis, None)
            records.append(logged)
            records.extend(_record(s, inputs, stamp, 0.0, answer.decision_id) for s in runtime.shadow(inputs))
            if not answer.fallback:
                answered.append((logged, churned(customer, sim.rng)))
        sim.store.decisions.append(records)
        _judge_canary(sim.store, runtime, note)
    _outcomes(sim, day, answered)


def _record(
    decision: Decision, inputs: dict[str, Any], at: datetime, millis: float, shadow_of: str | None
) -> DecisionRecord:
    return DecisionRecord(
        id=decision.decision_id if shadow_of is None else uuid.uuid4().hex,
        at=at, capability=decision.capability, principal=DEMO_SUBMITTER, model_name=decision.model_name,
        model_version=decision.model_version, decision=decision.decision, score=decision.score,
        fallback=decision.fallback, inputs=inputs, features=decision.features, latency_ms=millis,
        arm=decision.arm, shadow_of=shadow_of, fallback_reason=decision.fallback_reason,
    )  # fmt: skip


def _judge_canary(store: MetadataStore, runtime: ArmedRuntime, note: Callable[[str], None]) -> None:
    """The canary controller's judgement of the half day just served, as a gateway would make it."""
    state, canary = runtime.canary_state, runtime.policy.canary
    if state is None or canary is None or state.status != RAMPING:
        return
    # The ramp's steps hold for `step_every` on the wall clock (a second here): a half day served faster
    # waits out the rest, as a gateway's traffic would.
    time.sleep(max(0.0, duration_seconds(canary.step_every) - (now() - state.since).total_seconds()))
    verdict = advance(store, runtime, now())
    if verdict is not None and verdict.action != "hold":
        note(f"canary {verdict.action}: {verdict.reason}")


def _outcomes(sim: Simulation, day: Day, answered: list[tuple[DecisionRecord, bool]]) -> None:
    """The evening's feedback (churned or not) for the day's answers, and the day's live AUC."""
    for record, label in answered:
        sim.store.feedback.add(record.id, CAPABILITY, "churned", label, "crm")
        sim.rows.append(LabelledRow(record.features, label, record.at))
    scores = np.array([r.score for r, _ in answered], dtype=np.float64)
    labels = np.array([label for _, label in answered], dtype=bool)
    day.auc = auc(scores, labels)


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """The area under the ROC curve by ranks (ties share their mean rank); None without both outcomes."""
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return None
    order = scores.argsort(kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    return round(float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives)), 4)


def _evening(sim: Simulation, day: Day, note: Callable[[str], None], train: Trainer) -> None:
    """The day's drift check, then flywheel steps until it waits; a run awaiting approval is approved."""
    closes = sim.start + timedelta(days=day.day)
    checked = check_capability(sim.store, sim.storage, CAPABILITY, timedelta(days=1), until=closes)
    reports = [c.report for c in checked if c.report is not None and c.report.results]
    if reports:
        main = max(reports, key=lambda r: r.decisions)
        day.drift_share = round(main.drifted / len(main.results), 4)
        if main.drifted:
            note(f"drift check: {main.drifted} of {len(main.results)} columns drifted ({main.verdict})")
    for _ in range(STEPS_PER_DAY):
        outcomes = check(sim.store, sim.storage, DEMO_SUBMITTER, MODEL, trainer=train)
        moved = [o for o in outcomes if o.state is not None]
        for outcome in moved:
            note(f"flywheel {outcome.state}: {outcome.reason}")
            if outcome.state == AWAITING and outcome.run is not None:
                approve(sim.store, outcome.run, DEMO_REVIEWER, "simulation: holdout and replay reviewed")
                note(f"flywheel approved by {DEMO_REVIEWER}")
        if not moved:
            return
        time.sleep(1.0)  # the shadow and canary windows are read on the wall clock (1 s)
