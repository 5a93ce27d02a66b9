"""The retrain flywheel: a persistent state machine per model, advanced one step per `check`.

    triggered → trained → compared → replayed → [awaiting_approval → approved] → shadowing → canary
              → promoted | discarded (reason)                       and, for a champion: rolled_back (reason)

`check` is safe to run from a scheduler every minute, from several processes: for each model with a retrain
policy it first rolls back a champion whose live quality is below the policy's floor, then advances the
model's open run by one step under the run's lease, or — with no open run — evaluates the triggers and
starts one (the store keeps one open run per model). Every step is recorded with its evidence and an audit
record in one transaction (meta/flywheel.py), so `history` is the timeline.

Approval comes before the challenger touches live traffic, not after its canary: the registry lets only
approved versions serve (shadows included) when the model spec requires approval, and the person approving
sees the holdout comparison and the replay. The canary's own completion then promotes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zhongtai.capabilities.canary import AWAITING_APPROVAL as CANARY_DONE
from zhongtai.capabilities.canary import PROMOTED as CANARY_PROMOTED
from zhongtai.capabilities.canary import RAMPING, CanaryState
from zhongtai.capabilities.replay import replay
from zhongtai.capabilities.traffic import check_servable, effective_policy, set_split
from zhongtai.errors import ZhongtaiError
from zhongtai.flywheel.retrain_policy import Policy, below_floor, compare, read_policy, trigger
from zhongtai.meta.flywheel import FlywheelRecords, FlywheelRun, LostLease, Step
from zhongtai.meta.owner import here
from zhongtai.meta.records import ModelStatus
from zhongtai.meta.time import now
from zhongtai.models import aliases
from zhongtai.models.policy import ModelAction
from zhongtai.models.review import review
from zhongtai.spec.base import duration_seconds
from zhongtai.spec.traffic import ArmSpec, ShadowSpec, TrafficSpec

if TYPE_CHECKING:
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.records import ModelVersion
    from zhongtai.meta.store import MetadataStore

log = logging.getLogger(__name__)

TRIGGERED, TRAINED, COMPARED, REPLAYED = "triggered", "trained", "compared", "replayed"
AWAITING, APPROVED, SHADOWING, CANARY = "awaiting_approval", "approved", "shadowing", "canary"
PROMOTED, DISCARDED, ROLLED_BACK, FLOOR_BREACHED = "promoted", "discarded", "rolled_back", "floor_breached"
SHADOW = "challenger-shadow"  # the shadow's name in the live split and the decision log
Trainer = Callable[[str], "ModelVersion"]


@dataclass(frozen=True)
class Outcome:
    """What one `check` did for one model: the run it touched and the state it reached (None: waited)."""

    model: str
    run: str | None
    state: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def check(
    store: MetadataStore,
    storage: LakeStorage,
    principal: str,
    model: str | None = None,
    trainer: Trainer | None = None,
) -> list[Outcome]:
    """One round over the models with a retrain policy (or one model): floor rollback, then one step of the
    open run or a new run when a trigger fires. `trainer(model)` trains and registers a challenger (by
    default the model's own training, models/train.py)."""
    train = trainer or _default_trainer(store, storage)
    records = FlywheelRecords(store)
    done = []
    for name in [model] if model is not None else sorted(store.registered("models")):
        try:
            policy = read_policy(store, name, required=model is not None)
            if policy is not None:
                done.extend(_check_one(store, storage, records, policy, principal, train))
        except ZhongtaiError as exc:
            if model is not None:
                raise
            # One model's broken policy or registry must not stop the round for the others.
            done.append(Outcome(name, None, None, f"not checked: {exc.message}"))
    return done


def _check_one(
    store: MetadataStore,
    storage: LakeStorage,
    records: FlywheelRecords,
    policy: Policy,
    principal: str,
    train: Trainer,
) -> list[Outcome]:
    rolled = _floor(store, records, policy, principal)
    run = records.open_run(policy.model.name)
    if run is None:
        step = _start(store, records, policy, principal)
    else:
        step = _advance(store, storage, records, policy, run, principal, train)
    return [step] if rolled is None else [rolled, step]


def approve(store: MetadataStore, run_id: str, principal: str, comment: str = "") -> FlywheelRun:
    """Approve the challenger of a run awaiting approval, as a principal other than the one who triggered
    it (four eyes, also enforced by the model review); the next `check` starts its shadow."""
    records = FlywheelRecords(store)
    run = records.get(run_id)
    if run.state != AWAITING or run.challenger_version is None:
        raise ZhongtaiError(
            "conflict",
            f"flywheel run {run_id} is {run.state}: only a run awaiting approval can be approved",
            f"see its timeline: `zhongtai flywheel history {run.model_name}`",
        )
    if principal == run.triggered_by:
        raise ZhongtaiError(
            "forbidden",
            f"{principal} triggered flywheel run {run_id} and may not approve it too (four eyes)",
            "ask another principal to approve it",
        )
    review(store, run.model_name, run.challenger_version, ModelAction.APPROVE, principal, comment)
    evidence = {"version": run.challenger_version}
    return records.advance(run_id, None, Step(APPROVED, f"approved by {principal}", evidence, principal))


def history(store: MetadataStore, model: str | None = None, limit: int = 20) -> list[FlywheelRun]:
    """The latest runs (of one model), newest first, each with its steps and their evidence."""
    if model is not None:
        store.spec("models", model)  # an unknown model says so
    return FlywheelRecords(store).runs(model, limit)


def _default_trainer(store: MetadataStore, storage: LakeStorage) -> Trainer:
    def train(model: str) -> ModelVersion:
        from zhongtai.models.train import train_model

        return train_model(store, storage, model)

    return train


def _new_run(
    policy: Policy, principal: str, state: str, reason: str, evidence: dict[str, Any], champion: int
) -> FlywheelRun:
    """A run as it starts: open when triggered, closed at once when it records a floor rollback."""
    at = now()
    return FlywheelRun(
        id=uuid.uuid4().hex[:16], model_name=policy.model.name, capability=policy.capability.name,
        state=state, reason=reason, trigger=evidence, champion_version=champion, challenger_version=None,
        triggered_by=principal, created_at=at, updated_at=at, open=state == TRIGGERED,
        steps=[{"state": state, "at": at.isoformat(), "principal": principal, "reason": reason,
                "evidence": evidence}],
    )  # fmt: skip


def _start(store: MetadataStore, records: FlywheelRecords, policy: Policy, principal: str) -> Outcome:
    name = policy.model.name
    latest = records.runs(name, limit=1)
    fired = trigger(store, policy, latest[0] if latest else None)
    if fired is None:
        return Outcome(name, None, None, "no trigger fired")
    champion = store.models.by_alias(name, "champion").version
    run = _new_run(policy, principal, TRIGGERED, f"trigger: {fired['kind']}", fired, champion)
    started = records.start(run)
    if started is None:
        return Outcome(name, None, None, "another process started a run first")
    return Outcome(name, started.id, TRIGGERED, started.reason)


def _floor(store: MetadataStore, records: FlywheelRecords, policy: Policy, principal: str) -> Outcome | None:
    """Roll the champion back when its live quality is below the floor; the rollback is a closed run."""
    breach = below_floor(store, policy)
    if breach is None:
        return None
    name = policy.model.name
    latest = records.runs(name, limit=5)
    if any(r.state == FLOOR_BREACHED and r.champion_version == breach["version"] for r in latest):
        return None  # already recorded that this champion cannot be rolled back
    reason = f"live {breach['measure']} {breach['value']} below the floor {breach['floor']}"
    if any(r.state == ROLLED_BACK and r.trigger.get("to_version") == breach["version"] for r in latest):
        # Rolling back again would flip back to the version just rolled back from: a person decides.
        refused = (
            f"{reason}; v{breach['version']} is where the flywheel rolled back to: not rolled back again"
        )
        run = _new_run(policy, principal, FLOOR_BREACHED, refused, breach, breach["version"])
    else:
        try:
            moved = aliases.rollback(store, name, "champion", principal, f"flywheel: {reason}")
        except ZhongtaiError as exc:
            if store.models.by_alias(name, "champion").version != breach["version"]:
                return None  # another process rolled it back first
            refused = f"{reason}; rollback refused: {exc.message}"
            run = _new_run(policy, principal, FLOOR_BREACHED, refused, breach, breach["version"])
        else:
            evidence = {**breach, "to_version": moved.to_version}
            run = _new_run(policy, principal, ROLLED_BACK, reason, evidence, breach["version"])
    started = records.start(run)
    return Outcome(name, started.id if started else None, run.state, run.reason)


def _advance(
    store: MetadataStore,
    storage: LakeStorage,
    records: FlywheelRecords,
    policy: Policy,
    run: FlywheelRun,
    principal: str,
    train: Trainer,
) -> Outcome:
    host, pid = here()
    owner = f"{host}:{pid}:{uuid.uuid4().hex[:8]}"[:64]
    if not records.claim(run.id, owner):
        return Outcome(run.model_name, run.id, None, "another process is advancing this run")
    try:
        step = _next(store, storage, policy, run, principal, train)
    except ZhongtaiError as exc:
        step = Step(
            DISCARDED, f"{run.state} failed: {exc.message}", {"error": str(exc.code)}, principal, True
        )
    except Exception:
        records.release(run.id, owner)
        raise
    if step is None:
        records.release(run.id, owner)
        return Outcome(run.model_name, run.id, None, f"{run.state}: waiting")
    try:
        moved = records.advance(run.id, owner, step)
    except LostLease:
        return Outcome(run.model_name, run.id, None, "the lease expired: another process took the run")
    if step.closes and step.state == DISCARDED:
        _clean_up(store, policy, run, principal)
    return Outcome(run.model_name, moved.id, moved.state, moved.reason)


def _next(
    store: MetadataStore,
    storage: LakeStorage,
    policy: Policy,
    run: FlywheelRun,
    principal: str,
    train: Trainer,
) -> Step | None:
    """The step the run takes from its state now; None when it must wait."""
    if run.state == TRIGGERED:
        version = train(policy.model.name)
        evidence = {"version": version.version, "validation": version.metrics.get("validation", {})}
        return Step(TRAINED, f"trained v{version.version}", evidence, principal,
                    challenger_version=version.version)  # fmt: skip
    challenger = run.challenger_version
    if challenger is None:
        return Step(DISCARDED, f"{run.state} without a challenger", {}, principal, closes=True)
    if run.state == TRAINED:
        return _compared(store, storage, policy, run, challenger, principal)
    if run.state == COMPARED:
        report = replay(store, storage, policy.capability.name, f"v{challenger}", policy.holdout_start)
        evidence = {k: v for k, v in report.to_dict().items() if k != "quality"}
        return Step(REPLAYED, f"replayed on {report.replayed} logged decisions", evidence, principal)
    if run.state == REPLAYED:
        if policy.retrain.require_approval or policy.model.require_approval:
            review(
                store,
                policy.model.name,
                challenger,
                ModelAction.SUBMIT,
                run.triggered_by,
                f"flywheel {run.id}",
            )
            return Step(AWAITING, "submitted for review: `zhongtai flywheel approve`", {}, principal)
        return _shadow(store, policy, run, challenger, principal)
    if run.state == AWAITING:
        status = store.models.get(policy.model.name, challenger).status
        if status in (ModelStatus.REJECTED, ModelStatus.ARCHIVED):
            return Step(DISCARDED, f"the challenger was {status.value}", {}, principal, closes=True)
        return None  # approval goes through `approve`, which moves the run to approved
    if run.state == APPROVED:
        return _shadow(store, policy, run, challenger, principal)
    if run.state == SHADOWING:
        return _after_shadow(store, policy, run, challenger, principal)
    if run.state == CANARY:
        return _after_canary(store, policy, run, challenger, principal)
    return None


def _compared(
    store: MetadataStore,
    storage: LakeStorage,
    policy: Policy,
    run: FlywheelRun,
    challenger: int,
    principal: str,
) -> Step:
    champion = run.champion_version or store.models.by_alias(policy.model.name, "champion").version
    evidence = compare(store, storage, policy, champion, challenger)
    held, needed = evidence["holdout_decisions"], policy.retrain.min_holdout
    if held < needed:
        reason = f"the holdout has {held} labelled decisions, fewer than min_holdout {needed}"
        return Step(DISCARDED, reason, evidence, principal, closes=True)
    old, new = evidence["champion"].get("auc"), evidence["challenger"].get("auc")
    if old is None or new is None:
        reason = "AUC needs both outcomes in the holdout"
        return Step(DISCARDED, reason, evidence, principal, closes=True)
    gain = round(new - old, 4)
    evidence["improvement"] = gain
    if gain < policy.retrain.min_improvement:
        reason = (
            f"challenger AUC {new} against champion {old} on the holdout: improvement {gain} below "
            f"min_improvement {policy.retrain.min_improvement}"
        )
        return Step(DISCARDED, reason, evidence, principal, closes=True)
    return Step(COMPARED, f"challenger AUC {new} against champion {old} (+{gain})", evidence, principal)


def _shadow(store: MetadataStore, policy: Policy, run: FlywheelRun, challenger: int, principal: str) -> Step:
    current = effective_policy(store, policy.capability)
    sample = policy.retrain.shadow.sample
    shadow = ShadowSpec(name=SHADOW, version=challenger, sample=sample)
    shadows = [s for s in current.shadows if s.name != SHADOW] + [shadow]
    live = current.model_copy(update={"shadows": shadows})
    set_split(store, policy.capability.name, live, principal, f"flywheel run {run.id}: shadow v{challenger}")
    evidence = {
        "shadow": SHADOW,
        "version": challenger,
        "sample": sample,
        "window": policy.retrain.shadow.window,
    }
    return Step(
        SHADOWING,
        f"v{challenger} scored in the shadow for {policy.retrain.shadow.window}",
        evidence,
        principal,
    )


def _after_shadow(
    store: MetadataStore, policy: Policy, run: FlywheelRun, challenger: int, principal: str
) -> Step | None:
    held = (now() - run.since).total_seconds()
    if held < duration_seconds(policy.retrain.shadow.window):
        return None
    shadowed = store.decisions.count(policy.capability.name, run.since)  # answers and shadow scores
    canary = policy.retrain.canary
    if canary is None:
        return _promote(
            store,
            policy,
            run,
            challenger,
            principal,
            {"shadow_held_s": round(held), "decisions_logged": shadowed},
        )
    ramp = TrafficSpec(
        arms=[
            ArmSpec(name="champion", alias=policy.capability.alias, weight=100),
            ArmSpec(name=canary.arm, version=challenger, weight=0),
        ],
        canary=canary,
    )
    check_servable(store, policy.capability, ramp)
    state = CanaryState(0, now())
    body = ramp.model_dump(mode="json", exclude_defaults=True)
    reason = f"flywheel run {run.id}: canary of v{challenger}"
    store.traffic.set(
        policy.capability.name, body, principal, reason, action="canary_start", state=state.to_json()
    )
    evidence = {"shadow_held_s": round(held), "decisions_logged": shadowed, "steps": canary.steps}
    return Step(CANARY, f"canary of v{challenger} ramping {canary.steps}", evidence, principal)


def _after_canary(
    store: MetadataStore, policy: Policy, run: FlywheelRun, challenger: int, principal: str
) -> Step | None:
    split = store.traffic.get(policy.capability.name)
    if split is None or split.state is None:
        return Step(DISCARDED, "the canary's live split was removed", {}, principal, closes=True)
    state = CanaryState.from_json(split.state)
    evidence = {"canary": {k: v for k, v in split.state.items() if k != "reason"}}  # the reason: below
    if state.status == RAMPING:
        return None
    if state.status in (CANARY_DONE, CANARY_PROMOTED):
        return _promote(store, policy, run, challenger, principal, evidence)
    return Step(DISCARDED, f"the canary rolled back: {state.reason}", evidence, principal, closes=True)


def _promote(
    store: MetadataStore,
    policy: Policy,
    run: FlywheelRun,
    challenger: int,
    principal: str,
    evidence: dict[str, Any],
) -> Step:
    name = policy.model.name
    before = store.models.by_alias(name, "champion").version
    if before != challenger:  # a canary completing with `promote` has moved it already
        aliases.move(store, name, challenger, "champion", principal, f"flywheel run {run.id}")
    store.traffic.reset(policy.capability.name, principal, f"flywheel run {run.id}: promoted v{challenger}")
    evidence = {**evidence, "from_version": before, "to_version": challenger}
    return Step(PROMOTED, f"v{challenger} is champion (was v{before})", evidence, principal, closes=True)


def _clean_up(store: MetadataStore, policy: Policy, run: FlywheelRun, principal: str) -> None:
    """A discarded challenger leaves no shadow or canary of its own in the live split."""
    if run.state in (SHADOWING, CANARY):
        store.traffic.reset(policy.capability.name, principal, f"flywheel run {run.id}: discarded")
